"""Data for checking OCI transfers: the unit codes SAP accepts as ISO codes."""

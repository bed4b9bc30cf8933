"""erpwatch: synthetic monitoring of webshop-ERP business processes."""

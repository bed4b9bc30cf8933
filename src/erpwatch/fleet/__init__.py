"""Every client of an agency from one repository: ``clients/<name>/erpwatch.toml``
each, run by ``erpwatch fleet`` as isolated pytest sessions, with an overview."""

from __future__ import annotations

from ._clients import (
    Client,
    FleetError,
    client_environment,
    client_settings,
    discover,
    select,
)
from ._model import ClientEntry, Fleet, ProcessLine

__all__ = [
    "Client",
    "ClientEntry",
    "Fleet",
    "FleetError",
    "ProcessLine",
    "client_environment",
    "client_settings",
    "discover",
    "select",
]

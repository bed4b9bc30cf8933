"""erpwatch: synthetic monitoring of webshop-ERP business processes, as pytest tests.

The public API for monitor authors; everything else is internal.
"""

from __future__ import annotations

from .capture import Exchange
from .checks import (
    DataMismatch,
    NotPersisted,
    PaymentsOutOfSync,
    StatusMismatch,
    expect_same_fields,
    wait_until,
)
from .config import ConfigError, Settings
from .erp import ErpAuthFailed, ErpCallFailed, ErpClient
from .psp import PaymentProviderClient, is_refunded
from .punchout import OciClient, PunchoutClient, oci_problems
from .result import MonitorResult, RunResult
from .synthetic import Leftover, SyntheticData

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataMismatch",
    "ErpAuthFailed",
    "ErpCallFailed",
    "ErpClient",
    "Exchange",
    "Leftover",
    "MonitorResult",
    "NotPersisted",
    "OciClient",
    "PaymentProviderClient",
    "PaymentsOutOfSync",
    "PunchoutClient",
    "RunResult",
    "Settings",
    "StatusMismatch",
    "SyntheticData",
    "__version__",
    "expect_same_fields",
    "is_refunded",
    "oci_problems",
    "wait_until",
]

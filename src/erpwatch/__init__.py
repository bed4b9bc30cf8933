"""erpwatch: synthetic monitoring of webshop-ERP business processes, as pytest tests.

The public API for monitor authors; everything else is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._bc_rules import expect_document_totals
from ._lazy import lazy_attributes
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
from .result import MonitorResult, RunResult
from .synthetic import Leftover, SyntheticData

if TYPE_CHECKING:
    from .psp import Payment, PaymentProviderClient, ReferenceRules, is_refunded
    from .punchout import OciClient, PunchoutClient, oci_problems
    from .reconciliation import read_provider, reconcile
    from .tryton import TrytonClient

__version__ = "0.1.0"

# The payment and punchout clients bring lxml; import them when first used,
# so that the plugin (which imports this package) starts light.
_LAZY = {
    "Payment": "psp",
    "PaymentProviderClient": "psp",
    "ReferenceRules": "psp",
    "is_refunded": "psp",
    "read_provider": "reconciliation",
    "reconcile": "reconciliation",
    "OciClient": "punchout",
    "PunchoutClient": "punchout",
    "oci_problems": "punchout",
    "TrytonClient": "tryton",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


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
    "Payment",
    "PaymentProviderClient",
    "PaymentsOutOfSync",
    "PunchoutClient",
    "ReferenceRules",
    "RunResult",
    "Settings",
    "StatusMismatch",
    "SyntheticData",
    "TrytonClient",
    "__version__",
    "expect_document_totals",
    "expect_same_fields",
    "is_refunded",
    "oci_problems",
    "read_provider",
    "reconcile",
    "wait_until",
]

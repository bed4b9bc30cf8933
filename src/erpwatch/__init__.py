"""erpwatch: synthetic monitoring of webshop-ERP business processes, as pytest tests.

The public API for monitor authors, and nothing else: the clients of every
party, the failures they raise, the checks and the clean-up helpers a monitor
uses. Monitors import from here only; every other module is internal and may
change (tests/test_public_api.py pins this list).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._bc_rules import expect_document_totals
from ._calls import CallFailed
from ._lazy import lazy_attributes
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
from .synthetic import SyntheticData, remove_entity

if TYPE_CHECKING:
    from .cxml import OrderLine, cart_lines, purchase_order_number
    from .psp import Payment, PaymentCallFailed, PaymentProviderClient, ReferenceRules, is_refunded
    from .punchout import OciClient, PunchoutCallFailed, PunchoutClient, oci_problems
    from .reconciliation import read_provider, reconcile
    from .tryton import (
        SALE_CONFIRMED_STATES,
        NotRemovable,
        TrytonAuthFailed,
        TrytonCallFailed,
        TrytonClient,
        remove_party,
        remove_sale,
    )
    from .websites import url_monitor

__version__ = "0.1.0"

# The payment, punchout and Tryton clients bring lxml and more; import them when
# first used, so that the plugin (which imports this package) starts light.
__getattr__ = lazy_attributes(
    __name__,
    {
        "OrderLine": "cxml",
        "cart_lines": "cxml",
        "purchase_order_number": "cxml",
        "Payment": "psp",
        "PaymentCallFailed": "psp",
        "PaymentProviderClient": "psp",
        "ReferenceRules": "psp",
        "is_refunded": "psp",
        "OciClient": "punchout",
        "PunchoutCallFailed": "punchout",
        "PunchoutClient": "punchout",
        "oci_problems": "punchout",
        "read_provider": "reconciliation",
        "reconcile": "reconciliation",
        "SALE_CONFIRMED_STATES": "tryton",
        "NotRemovable": "tryton",
        "TrytonAuthFailed": "tryton",
        "TrytonCallFailed": "tryton",
        "TrytonClient": "tryton",
        "remove_party": "tryton",
        "remove_sale": "tryton",
        "url_monitor": "websites",
    },
)


__all__ = [
    "SALE_CONFIRMED_STATES",
    "CallFailed",
    "ConfigError",
    "DataMismatch",
    "ErpAuthFailed",
    "ErpCallFailed",
    "ErpClient",
    "NotPersisted",
    "NotRemovable",
    "OciClient",
    "OrderLine",
    "Payment",
    "PaymentCallFailed",
    "PaymentProviderClient",
    "PaymentsOutOfSync",
    "PunchoutCallFailed",
    "PunchoutClient",
    "ReferenceRules",
    "Settings",
    "StatusMismatch",
    "SyntheticData",
    "TrytonAuthFailed",
    "TrytonCallFailed",
    "TrytonClient",
    "__version__",
    "cart_lines",
    "expect_document_totals",
    "expect_same_fields",
    "is_refunded",
    "oci_problems",
    "purchase_order_number",
    "read_provider",
    "reconcile",
    "remove_entity",
    "remove_party",
    "remove_sale",
    "url_monitor",
    "wait_until",
]

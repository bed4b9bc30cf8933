"""erpwatch: synthetic monitoring of webshop-ERP business processes, as pytest tests.

The public API for monitor authors; everything else is internal.
"""

from __future__ import annotations

from .capture import Exchange
from .checks import expect_same_fields
from .config import ConfigError, Settings
from .erp import ErpAuthFailed, ErpCallFailed, ErpClient
from .result import MonitorResult, RunResult
from .synthetic import Leftover, SyntheticData

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ErpAuthFailed",
    "ErpCallFailed",
    "ErpClient",
    "Exchange",
    "Leftover",
    "MonitorResult",
    "RunResult",
    "Settings",
    "SyntheticData",
    "__version__",
    "expect_same_fields",
]

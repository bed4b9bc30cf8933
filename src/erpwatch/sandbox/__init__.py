"""The built-in reference ERP: a real HTTP server speaking Business Central shapes.

It imports nothing from the monitoring side, so monitors cannot tell it from a
live ERP except by its URL.
"""

from __future__ import annotations

from .app import Credentials, SandboxApp
from .faults import KINDS as FAULT_KINDS
from .faults import Fault, parse_fault
from .server import RunningSandbox, main, start

__all__ = [
    "FAULT_KINDS",
    "Credentials",
    "Fault",
    "RunningSandbox",
    "SandboxApp",
    "main",
    "parse_fault",
    "start",
]

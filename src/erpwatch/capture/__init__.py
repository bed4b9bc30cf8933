"""Capture: every HTTP exchange a monitor makes, as immutable records."""

from __future__ import annotations

from ._exchange import MAX_EXCHANGES_PER_MONITOR, Exchange, ExchangeLog, call_label, wire_reason
from ._naming import rpc_name
from ._recorder import RECORDER, Recorder

__all__ = [
    "MAX_EXCHANGES_PER_MONITOR",
    "RECORDER",
    "Exchange",
    "ExchangeLog",
    "Recorder",
    "call_label",
    "rpc_name",
    "wire_reason",
]

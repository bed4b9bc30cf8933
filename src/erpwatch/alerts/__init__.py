"""Alert state across scheduled runs: transitions, the one policy function,
retries, maintenance windows and the heartbeat."""

from __future__ import annotations

from ._heartbeat import ping_heartbeat
from ._lifecycle import AlertOutcome, evaluate, process_run
from ._policy import ALERT, REMINDER, RESOLVED, Decision, decide, rules_for
from ._retry import RetryDecision, retry_decision
from ._state import SCHEMA_VERSION, MonitorState, State, StateLockTimeout, StateStore, Track
from ._windows import silenced_by

__all__ = [
    "ALERT",
    "REMINDER",
    "RESOLVED",
    "SCHEMA_VERSION",
    "AlertOutcome",
    "Decision",
    "MonitorState",
    "RetryDecision",
    "State",
    "StateLockTimeout",
    "StateStore",
    "Track",
    "decide",
    "evaluate",
    "ping_heartbeat",
    "process_run",
    "retry_decision",
    "rules_for",
    "silenced_by",
]

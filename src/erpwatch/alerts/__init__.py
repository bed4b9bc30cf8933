"""Alert state across scheduled runs: transitions, the one policy function,
retries, maintenance windows and the heartbeat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._policy import Decision, decide, rules_for
from ._retry import RetryDecision, retry_decision
from ._state import SCHEMA_VERSION, MonitorState, State, StateLockTimeout, StateStore, Track
from ._windows import silenced_by

if TYPE_CHECKING:
    from ._heartbeat import ping_heartbeat
    from ._lifecycle import AlertOutcome, evaluate

# What only the controller needs at the end of a run brings mail and HTTP
# along; test workers, which need the retry policy, do not import it.
_LAZY = {
    "ping_heartbeat": "_heartbeat",
    "AlertOutcome": "_lifecycle",
    "evaluate": "_lifecycle",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
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
    "retry_decision",
    "rules_for",
    "silenced_by",
]

"""Whether a failed monitor deserves a second try in the same run, and when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..capture import Exchange
from ..diagnosis import Category, Diagnosis

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})  # idempotent by HTTP's rules
_NOT_SENT = (
    "Connection refused",
    "Name or service not known",
    "Failed to establish a new connection",
)


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    reason: str
    wait: float = 0.0


def retry_decision(
    diagnosis: Diagnosis | None, exchanges: Sequence[Exchange], delay: float, retry_after_cap: float
) -> RetryDecision:
    """Transient failures get one more try after ``delay`` (or the ERP's Retry-After,
    up to the cap); a call that may have been carried out is never repeated blindly."""
    if diagnosis is None:
        return RetryDecision(False, "no diagnosis")
    category = diagnosis.category
    exchange = exchanges[diagnosis.exchange_index] if diagnosis.exchange_index is not None else None
    method = (exchange.method if exchange else diagnosis.method) or ""
    if category is Category.RATE_LIMITED:
        wait = min(
            diagnosis.retry_after if diagnosis.retry_after is not None else delay, retry_after_cap
        )
        if diagnosis.retry_after is not None and diagnosis.retry_after > retry_after_cap:
            return RetryDecision(
                False, f"the ERP asks to wait {diagnosis.retry_after:g} s, over the cap"
            )
        return RetryDecision(True, "429: the ERP asked to try again later", wait)
    if category is Category.MAINTENANCE and diagnosis.status == 503:
        return RetryDecision(
            True, "503: the ERP said it was unavailable, nothing was processed", delay
        )
    if diagnosis.status in (502, 504):
        return RetryDecision(True, f"{diagnosis.status} from a gateway", delay)
    if category is Category.UNREACHABLE and diagnosis.status is None:
        error = (exchange.error if exchange else None) or diagnosis.error or ""
        if method in SAFE_METHODS or any(sign in error for sign in _NOT_SENT):
            return RetryDecision(True, "no connection: the call never reached the ERP", delay)
        return RetryDecision(
            False, f"the connection dropped during a {method}: it may have been carried out"
        )
    if category is Category.TIMEOUT and diagnosis.status is None:
        if method in SAFE_METHODS:
            return RetryDecision(True, f"time-out of a {method}, safe to repeat", delay)
        return RetryDecision(False, f"time-out of a {method}: it may have been carried out")
    return RetryDecision(False, f"{category.value} is not transient")

"""Exact Online: ``{"error": {"code": "", "message": {"lang": "", "value": "…"}}}``,
rate limits in ``X-RateLimit-Minutely-Remaining`` / ``-Reset`` (epoch milliseconds)."""

from __future__ import annotations

from datetime import datetime

from ..._http import wait_seconds
from ._base import Answer, ErpError, text_or_none


def _retry_after(answer: Answer) -> float | None:
    if answer.header("X-RateLimit-Minutely-Remaining").strip() != "0":
        return None
    try:
        reset_ms = float(answer.header("X-RateLimit-Minutely-Reset"))
        sent = datetime.fromisoformat(answer.exchange.started_at).timestamp()
    except ValueError:
        return None
    # A reset already past asks for no wait; nan or inf asks for nothing usable.
    until = reset_ms / 1000 - sent
    wait = wait_seconds(0.0 if until < 0 else until)
    return None if wait is None else round(wait, 1)


def decode(answer: Answer) -> ErpError | None:
    body = answer.json
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    message = body["error"].get("message")
    if not isinstance(message, dict) or "value" not in message:
        return None
    return ErpError(
        dialect="Exact Online",
        code=text_or_none(body["error"].get("code")),
        message=text_or_none(message.get("value")),
        retry_after=_retry_after(answer),
    )

"""Business Central (OData v4): ``{"error": {"code": "…", "message": "…  CorrelationId:  <guid>."}}``."""

from __future__ import annotations

import re

from ._base import Answer, ErpError

_CORRELATION = re.compile(r"\s*CorrelationId:\s*([0-9A-Fa-f-]{36})\.?\s*$")
_FIELD_PATTERNS = (
    re.compile(r"The property '([^']+)' does not exist"),
    re.compile(r"The parameter '([^']+)' is required"),
    re.compile(r"^(.+?) must have a value in "),
    re.compile(r"^The field (.+?) of table "),
    re.compile(r"Could not find a property named '([^']+)'"),
)


def decode(answer: Answer) -> ErpError | None:
    body = answer.json
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    error = body["error"]
    code, message = error.get("code"), error.get("message")
    if not isinstance(code, str) or not isinstance(message, str) or not code:
        return None
    correlation = _CORRELATION.search(message)
    if correlation:
        message = message[: correlation.start()].rstrip()
    field = next((m.group(1) for p in _FIELD_PATTERNS if (m := p.search(message))), None)
    return ErpError(
        dialect="Business Central",
        code=code,
        message=message,
        field=field,
        correlation_id=correlation.group(1) if correlation else None,
    )

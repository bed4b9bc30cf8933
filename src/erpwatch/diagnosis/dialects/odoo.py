"""Odoo JSON-RPC: HTTP 200 with ``{"error": {"code": 200, "message": "Odoo Server Error",
"data": {"name": "odoo.exceptions.ValidationError", "message": "…"}}}``."""

from __future__ import annotations

from ..._vocabulary import ErpErrorKind
from ._base import Answer, ErpError, text_or_none

_KIND_OF_CLASS: dict[str, ErpErrorKind | None] = {
    "AccessError": ErpErrorKind.ACCESS,
    "AccessDenied": ErpErrorKind.LOGIN,
    "SessionExpiredException": ErpErrorKind.SESSION,
    "ValidationError": ErpErrorKind.VALIDATION,
    "UserError": ErpErrorKind.VALIDATION,
    "MissingError": None,  # a record that is gone: read back, it is a silent failure
}


def decode(answer: Answer) -> ErpError | None:
    body = answer.json
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    data = body["error"].get("data")
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    code = data["name"].rsplit(".", 1)[-1]
    return ErpError(
        dialect="Odoo",
        code=code,
        message=text_or_none(data.get("message")) or text_or_none(body["error"].get("message")),
        detail=text_or_none(data.get("name")),
        inside_success=answer.ok,
        kind=_KIND_OF_CLASS.get(code, ErpErrorKind.SERVER),
    )

"""Tryton JSON-RPC: ``{"id": …, "error": ["UserError", ["message", "description", …]]}``."""

from __future__ import annotations

from ._base import Answer, ErpError, text_or_none


def decode(answer: Answer) -> ErpError | None:
    body = answer.json
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if not isinstance(error, list) or not error or not isinstance(error[0], str):
        return None
    name = error[0].rsplit(".", 1)[-1]
    args = error[1] if len(error) > 1 else None
    message = detail = None
    if isinstance(args, list) and args:
        message = text_or_none(args[0])
        detail = text_or_none(args[1]) if len(args) > 1 and isinstance(args[1], str) else None
    elif isinstance(args, str):
        message = text_or_none(args)
    return ErpError(
        dialect="Tryton",
        code=name,
        message=message or name,
        detail=detail,
        inside_success=answer.ok,
    )

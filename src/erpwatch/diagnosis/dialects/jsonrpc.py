"""Plain JSON-RPC 2.0: ``{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}}``."""

from __future__ import annotations

from ._base import Answer, ErpError, text_or_none


def decode(answer: Answer) -> ErpError | None:
    body = answer.json
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("error"), dict)
        or "jsonrpc" not in body
    ):
        return None
    error = body["error"]
    return ErpError(
        dialect="JSON-RPC",
        code=text_or_none(error.get("code")),
        message=text_or_none(error.get("message")),
        detail=text_or_none(error.get("data")),
        inside_success=answer.ok,
    )

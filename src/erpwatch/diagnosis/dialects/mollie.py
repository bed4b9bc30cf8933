"""Mollie (RFC 7807 problem JSON): ``{"status": 422, "title": "…", "detail": "…", "field": "amount.value"}``."""

from __future__ import annotations

from ._base import Answer, ErpError, text_or_none


def decode(answer: Answer) -> ErpError | None:
    body = answer.json
    if not isinstance(body, dict) or not isinstance(body.get("status"), int):
        return None
    if "title" not in body or "detail" not in body:
        return None
    return ErpError(
        dialect="Mollie",
        code=text_or_none(body.get("title")),
        message=text_or_none(body.get("detail")),
        field=text_or_none(body.get("field")),
    )

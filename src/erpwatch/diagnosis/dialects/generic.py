"""Whatever else comes back: JSON with a message, an HTML page, plain text."""

from __future__ import annotations

import html
import re

from ._base import Answer, ErpError, text_or_none

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.DOTALL | re.IGNORECASE)
_HEADING = re.compile(r"<h1[^>]*>(.*?)</h1>", re.DOTALL | re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_MESSAGE_KEYS = ("message", "error_description", "detail", "error", "title", "errors")
MAX_TEXT = 500


def _clean(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAGS.sub(" ", fragment))).strip()


def decode_json(answer: Answer) -> ErpError | None:
    body = answer.json
    if not isinstance(body, dict):
        return None
    failed_inside = body.get("success") is False or body.get("ok") is False
    if answer.ok and not failed_inside:
        return None
    message = next((text_or_none(body[k]) for k in _MESSAGE_KEYS if body.get(k)), None)
    code = text_or_none(
        body.get("code")
        or body.get("error_code")
        or (body.get("error") if message != body.get("error") else None)
    )
    return ErpError(
        dialect="JSON", code=code, message=message, inside_success=answer.ok and failed_inside
    )


def is_html(answer: Answer) -> bool:
    start = answer.text.lstrip()[:15].lower()
    return "html" in answer.content_type or start.startswith(("<!doctype html", "<html"))


def decode_html(answer: Answer) -> ErpError | None:
    if not is_html(answer):
        return None
    title = _TITLE.search(answer.text)
    heading = _HEADING.search(answer.text)
    parts = [_clean(m.group(1)) for m in (title, heading) if m is not None]
    message = " — ".join(dict.fromkeys(p for p in parts if p)) or _clean(answer.text)[:MAX_TEXT]
    return ErpError(dialect="HTML page", code=None, message=message or None)


def decode_text(answer: Answer) -> ErpError | None:
    text = answer.text.strip()
    if not text or answer.ok:
        return None
    return ErpError(dialect="text", code=None, message=text[:MAX_TEXT])

"""cXML: errors come inside HTTP 200 as ``<Status code="401" text="Unauthorized">…</Status>``."""

from __future__ import annotations

import html
import re

from ._base import Answer, ErpError

_STATUS = re.compile(
    r"<Status\b(?P<attrs>[^>]*?)(?:/>|>(?P<content>.*?)</Status>)", re.DOTALL | re.IGNORECASE
)
_ATTR = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def decode(answer: Answer) -> ErpError | None:
    if "<cXML" not in answer.text:
        return None
    match = _STATUS.search(answer.text)
    if match is None:
        return None
    attrs = {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or "")
        for m in _ATTR.finditer(match["attrs"])
    }
    try:
        code = int(attrs.get("code", ""))
    except ValueError:
        return None
    if code < 400:
        return None
    content = html.unescape(re.sub(r"\s+", " ", match["content"] or "")).strip()
    return ErpError(
        dialect="cXML",
        code=str(code),
        message=attrs.get("text") or None,
        detail=content or None,
        inside_success=answer.ok,
    )

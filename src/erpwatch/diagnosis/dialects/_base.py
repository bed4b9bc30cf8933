"""What every dialect decoder returns, and the parsed answer it works from."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from ..._vocabulary import ErpErrorKind
from ...capture import Exchange


@dataclass(frozen=True)
class ErpError:
    """An error as the ERP (or the party) expressed it, decoded from its answer."""

    dialect: str
    code: str | None
    message: str | None
    field: str | None = None
    correlation_id: str | None = None
    detail: str | None = None
    # True when the error came inside a "success" answer (HTTP 2xx).
    inside_success: bool = False
    retry_after: float | None = None
    # What the ERP's own error class says happened, when the dialect knows it.
    # It lets the diagnosis say "access refused" for an error inside an HTTP 200.
    kind: ErpErrorKind | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Answer:
    """An exchange's response, parsed once for all decoders."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.status = exchange.status
        self.text = exchange.response_body or ""
        self.content_type = _header(exchange.response_headers, "Content-Type").lower()

    @cached_property
    def json(self) -> Any:
        stripped = self.text.lstrip()
        if stripped[:1] not in ("{", "["):
            return None
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError):
            return None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def header(self, name: str) -> str:
        return _header(self.exchange.response_headers, name)


def _header(headers: dict[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None

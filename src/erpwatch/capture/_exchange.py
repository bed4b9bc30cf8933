"""One recorded HTTP call, and the bounded list of a monitor's calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

MAX_EXCHANGES_PER_MONITOR = 100

_GUID_KEY = re.compile(
    r"\((?:'?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'?)\)"
)
_API_ROOT = re.compile(r"^/api/v\d+(?:\.\d+)?(?=/)")


_WIRE_REASONS = (
    re.compile(r"\[Errno -?\d+\] ([^'\")]+)"),  # the operating system's words
    re.compile(r"RemoteDisconnected\('([^']+)'"),
    re.compile(r"(Connection reset by peer|Connection aborted|Name or service not known)"),
    re.compile(r"(no complete answer within [\d.e+]+ s)"),  # erpwatch's own deadline
)


def wire_reason(error_type: str, message: str) -> str:
    """``ConnectionError: Connection refused`` rather than urllib3's nested repr."""
    reason = next((m.group(1) for p in _WIRE_REASONS if (m := p.search(message))), None)
    return f"{error_type}: {reason}" if reason else error_type


def short_path(url: str) -> str:
    """The path without host, query, API root or GUID keys: what people read."""
    path = urlsplit(url).path or "/"
    return _API_ROOT.sub("", _GUID_KEY.sub("(…)", path))


def call_label(method: str, url: str, name: str | None = None) -> str:
    if name:
        return f"{name} ({method} {short_path(url)})"
    return f"{method} {short_path(url)}"


@dataclass(frozen=True)
class Exchange:
    """What a monitor sent and what came back; secrets already masked."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int | None
    reason: str
    response_headers: dict[str, str]
    response_body: str | None
    duration_ms: float
    started_at: str
    error_type: str | None = None
    error: str | None = None
    # For RPC-style APIs where every call goes to one URL: the method or
    # message type, because that is the call a person needs to know.
    name: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_type is not None or (self.status is not None and self.status >= 400)

    @property
    def call(self) -> str:
        """The call as a person names it, e.g. ``POST /companies(…)/salesOrders``."""
        return call_label(self.method, self.url, self.name)

    @property
    def path(self) -> str:
        return short_path(self.url)

    @property
    def outcome(self) -> str:
        """``422 Unprocessable Entity``, or what went wrong on the wire when no answer came."""
        if self.status is not None:
            return f"{self.status} {self.reason}".strip()
        return wire_reason(str(self.error_type), self.error or "")

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its deep copy was the plugin's largest cost
        # per monitor, and an exchange's parts are never changed after capture.
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exchange:
        return cls(**data)


_FIELDS = tuple(f.name for f in fields(Exchange))


@dataclass
class ExchangeLog:
    """The calls one monitor made, in order, bounded so a chatty monitor
    cannot blow up memory or the report: the first calls set the scene and
    the last ones usually failed, so the middle is what gets dropped."""

    limit: int = MAX_EXCHANGES_PER_MONITOR
    _head: list[Exchange] = field(default_factory=list)
    _tail: list[Exchange] = field(default_factory=list)
    dropped: int = 0

    def append(self, exchange: Exchange) -> None:
        half = self.limit // 2
        if len(self._head) < half:
            self._head.append(exchange)
            return
        self._tail.append(exchange)
        if len(self._tail) > self.limit - half:
            del self._tail[0]
            self.dropped += 1

    def __iter__(self) -> Iterator[Exchange]:
        yield from self._head
        yield from self._tail

    def __len__(self) -> int:
        return len(self._head) + len(self._tail)

    def __getitem__(self, index: int) -> Exchange:
        return list(self)[index]

    @property
    def last(self) -> Exchange | None:
        if self._tail:
            return self._tail[-1]
        return self._head[-1] if self._head else None

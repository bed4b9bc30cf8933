"""Faults the sandbox can be told to inject, so anyone can see what an alert looks like.

A fault names a kind, the endpoint it hits (an entity set such as
``salesOrders``, ``token`` for the token endpoint, or ``*``), optionally an
HTTP method, and how many requests it affects (all, until cleared, by default).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# kind -> what it does; the app module implements each one.
KINDS: dict[str, str] = {
    "throttle": "429 Application_TooManyRequests with a Retry-After header",
    "unavailable": "503 Application_ServiceUnavailable",
}


class FaultSpecError(ValueError):
    """A fault description the sandbox cannot understand."""


@dataclass(frozen=True)
class Fault:
    kind: str
    target: str = "*"
    method: str = "*"
    times: int | None = None
    retry_after: int = 5
    id: int = 0

    def applies_to(self, method: str, target: str) -> bool:
        return self.target in ("*", target) and self.method in ("*", method)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_fault(spec: Mapping[str, Any] | str) -> Fault:
    """Build a fault from JSON (``{"kind": "throttle", "target": "salesOrders"}``)
    or from the command-line form ``kind[:target[:METHOD]]``."""
    if isinstance(spec, str):
        parts = spec.split(":")
        if len(parts) > 3:
            raise FaultSpecError(f"fault '{spec}': expected kind[:target[:METHOD]]")
        keys = ("kind", "target", "method")
        spec = {key: value for key, value in zip(keys, parts, strict=False) if value}
    unknown = set(spec) - {"kind", "target", "method", "times", "retry_after"}
    if unknown:
        raise FaultSpecError(f"fault: unknown field(s) {', '.join(sorted(unknown))}")
    kind = spec.get("kind")
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise FaultSpecError(f"fault kind '{kind}' is unknown; known kinds: {known}")
    times = spec.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise FaultSpecError("fault 'times' must be a whole number of at least 1")
    retry_after = spec.get("retry_after", 5)
    if not isinstance(retry_after, int) or retry_after < 0:
        raise FaultSpecError("fault 'retry_after' must be a whole number of seconds")
    return Fault(
        kind=str(kind),
        target=str(spec.get("target", "*")),
        method=str(spec.get("method", "*")).upper(),
        times=times,
        retry_after=retry_after,
    )


@dataclass
class FaultBoard:
    """The active faults; thread-safe, because the server is threaded."""

    _faults: list[Fault] = field(default_factory=list)
    _remaining: dict[int, int | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault = Fault(**{**fault.as_dict(), "id": next(self._ids)})
            self._faults.append(fault)
            self._remaining[fault.id] = fault.times
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._remaining.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, target: str) -> Fault | None:
        """The first fault that hits this request, counting it as used."""
        with self._lock:
            for fault in self._faults:
                if not fault.applies_to(method, target):
                    continue
                remaining = self._remaining[fault.id]
                if remaining is not None:
                    if remaining <= 1:
                        self._faults.remove(fault)
                        del self._remaining[fault.id]
                    else:
                        self._remaining[fault.id] = remaining - 1
                return fault
            return None

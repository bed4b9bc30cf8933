"""Checks for monitors, raising failures that name the call that proved wrong
and carry what the diagnosis needs (which fields, which call)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class DataMismatch(AssertionError):
    """The ERP answered, but with other data than was sent, or without a field."""

    def __init__(
        self, call: str, missing: list[str], different: dict[str, tuple[Any, Any]]
    ) -> None:
        self.call = call
        self.missing = missing
        self.different = different
        problems = [f"{field} is missing from the answer" for field in missing]
        problems += [
            f"{field}: sent {sent!r}, ERP has {stored!r}"
            for field, (sent, stored) in different.items()
        ]
        super().__init__(f"{call} returned different data than was sent: " + "; ".join(problems))


class NotPersisted(AssertionError):
    """The ERP accepted a write, but the record cannot be read back: a silent failure."""

    def __init__(self, call: str, message: str, status: int | None = None) -> None:
        self.call = call
        self.status = status
        super().__init__(f"{call}: {message}")


def expect_same_fields(
    sent: Mapping[str, Any], received: Mapping[str, Any], fields: Iterable[str], *, call: str
) -> None:
    """Fail, naming ``call``, unless ``received`` holds what was ``sent`` in each field."""
    missing = []
    different = {}
    for field in fields:
        if field not in received:
            missing.append(field)
        elif received[field] != sent.get(field):
            different[field] = (sent.get(field), received[field])
    if missing or different:
        raise DataMismatch(call, missing, different)

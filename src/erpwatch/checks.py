"""Assertions for monitors, with messages that name the call that proved wrong."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def expect_same_fields(
    sent: Mapping[str, Any], received: Mapping[str, Any], fields: Iterable[str], *, call: str
) -> None:
    """Fail, naming ``call``, unless ``received`` holds what was ``sent`` in each field."""
    differences = []
    for field in fields:
        if field not in received:
            differences.append(f"{field} is missing from the answer")
        elif received[field] != sent.get(field):
            differences.append(f"{field}: sent {sent.get(field)!r}, ERP has {received[field]!r}")
    if differences:
        raise AssertionError(
            f"{call} returned different data than was sent: " + "; ".join(differences)
        )

"""Checks for monitors, raising failures that name the call that proved wrong
and carry what the diagnosis needs (which fields, which call)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ._vocabulary import Category

T = TypeVar("T")


class CheckFailed(AssertionError):
    """A built-in check found what is wrong itself (a certificate about to expire, a
    site that does not send the reader to HTTPS): its category and reason are the
    diagnosis, not a guess from the last answer. ``url`` names the address checked."""

    def __init__(self, category: Category, reason: str, *, url: str, detail: str) -> None:
        self.category = category
        self.reason = reason
        self.url = url
        self.detail = detail
        super().__init__(detail)


class DataMismatch(AssertionError):
    """The ERP answered, but with other data than was sent, or without a field."""

    def __init__(
        self,
        call: str,
        missing: list[str],
        different: Mapping[str, tuple[Any, Any]],
        *,
        summary: str = "returned different data than was sent",
        expected: str = "sent",
        actual: str = "ERP has",
    ) -> None:
        self.call = call
        self.missing = missing
        self.different = dict(different)
        problems = [f"{field} is missing from the answer" for field in missing]
        problems += [
            f"{field}: {expected} {want!r}, {actual} {got!r}"
            for field, (want, got) in different.items()
        ]
        super().__init__(f"{call} {summary}: " + "; ".join(problems))


class NotPersisted(AssertionError):
    """The ERP accepted a write, but the record cannot be read back: a silent failure."""

    def __init__(self, call: str, message: str, status: int | None = None) -> None:
        self.call = call
        self.status = status
        super().__init__(f"{call}: {message}")


def expect_same_fields(
    sent: Mapping[str, Any],
    received: Mapping[str, Any],
    fields: Iterable[str],
    *,
    call: str,
    stored_as: Callable[[str, Any], Any] | None = None,
) -> None:
    """Fail, naming ``call``, unless ``received`` holds what was ``sent`` in each field.

    ``stored_as(field, value)`` gives the form in which the ERP rightly keeps a sent
    value (upper-case, for a Business Central Code field); a failure quotes what was sent.
    """
    missing = []
    different = {}
    for field in fields:
        want = sent.get(field)
        expected = stored_as(field, want) if stored_as is not None else want
        if field not in received:
            missing.append(field)
        elif received[field] != expected:
            different[field] = (want, received[field])
    if missing or different:
        raise DataMismatch(call, missing, different)


def expect_one_of(
    allowed: Mapping[str, Collection[Any]], received: Mapping[str, Any], *, call: str
) -> None:
    """Fail, naming ``call``, unless each field of ``received`` holds one of its ``allowed``
    values: for what the ERP moves on by itself, such as a state a background job advances."""
    missing = [field for field in allowed if field not in received]
    different = {
        field: (tuple(values), received[field])
        for field, values in allowed.items()
        if field in received and received[field] not in values
    }
    if missing or different:
        raise DataMismatch(
            call,
            missing,
            different,
            summary="returned other data than expected",
            expected="expected one of",
        )


@dataclass(frozen=True)
class StatusMismatch:
    """One order on which the payment provider and the ERP disagree."""

    order: str
    amount: str
    provider: str
    erp: str

    def __str__(self) -> str:
        return f"{self.order} {self.amount}: provider {self.provider}, ERP {self.erp}"


class PaymentsOutOfSync(DataMismatch):
    """Payments and ERP invoices disagree; every mismatch is listed."""

    def __init__(self, mismatches: Sequence[StatusMismatch]) -> None:
        different = {m.order: (m.provider, m.erp) for m in mismatches}
        DataMismatch.__init__(self, "payments vs. ERP invoices", [], different)
        self.mismatches = list(mismatches)
        self.args = (
            f"{len(mismatches)} payment(s) disagree with the ERP: "
            + "; ".join(map(str, mismatches)),
        )

    def __str__(self) -> str:
        return str(self.args[0])


def wait_until(
    probe: Callable[[], T], done: Callable[[T], bool], *, timeout: float, interval: float = 1.0
) -> T:
    """Probe until ``done`` holds or ``timeout`` seconds pass; the last value either way.

    For things the integration does a little later (a webhook, a queue)."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        value = probe()
    return value

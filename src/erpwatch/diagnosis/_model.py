"""The diagnosis of one monitor: what went wrong, in a category people recognise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .._vocabulary import Category, Party, Wire

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Difference:
    """One field the ERP holds otherwise than was sent: kept as values, so each
    language can write them (``€ 233,29``) instead of quoting English text."""

    field: str
    expected: Scalar
    actual: Scalar

    def to_dict(self) -> dict[str, Scalar]:
        return {"field": self.field, "expected": self.expected, "actual": self.actual}


@dataclass(frozen=True)
class Diagnosis:
    category: Category
    # Why this category: the evidence in a sentence, for people who check the classifier.
    reason: str
    call: str | None = None  # e.g. "POST /companies(…)/salesOrders"
    method: str | None = None
    url: str | None = None  # redacted
    status: int | None = None
    erp_dialect: str | None = None
    erp_code: str | None = None
    erp_message: str | None = None
    erp_field: str | None = None
    erp_detail: str | None = None
    correlation_id: str | None = None
    retry_after: float | None = None
    duration_ms: float | None = None
    threshold_ms: float | None = None
    exchange_index: int | None = None  # into the monitor's exchanges
    error: str | None = None  # the exception when no answer came, or the monitor's own
    # Who answered the failing call (set where the parties' addresses are known).
    party: Party | None = None
    wire: Wire | None = None  # why no answer came
    differences: tuple[Difference, ...] = ()

    @property
    def headline(self) -> str:
        """The failing call and the answer, on one line: what an ERP partner asks for first."""
        if self.call is None:
            return self.error or self.reason
        if self.status is None:
            return f"{self.call} → no answer ({self.error or self.reason})"
        answer = " ".join(str(part) for part in (self.status, self.erp_code) if part is not None)
        detail = self.erp_message or (
            self.error if self.category is not Category.SLOW else self.reason
        )
        return f"{self.call} → {answer}: {detail}" if detail else f"{self.call} → {answer}"

    def masked(self, mask: Callable[[str], str]) -> Diagnosis:
        """This diagnosis with every text passed through ``mask``: what the dialects
        decoded from a body (and the exception's words) is masked again after decoding."""
        changes: dict[str, Any] = {
            f.name: mask(value)
            for f in fields(self)
            if type(value := getattr(self, f.name)) is str  # not the enums
        }
        changes["differences"] = tuple(
            Difference(
                mask(d.field),
                mask(d.expected) if isinstance(d.expected, str) else d.expected,
                mask(d.actual) if isinstance(d.actual, str) else d.actual,
            )
            for d in self.differences
        )
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["category"] = self.category.value
        # Plain words, not enums: the data crosses to xdist's controller and into JSON.
        data["party"] = self.party.value if self.party else None
        data["wire"] = self.wire.value if self.wire else None
        data["differences"] = [d.to_dict() for d in self.differences]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        return cls(
            **{
                **data,
                "category": Category(data["category"]),
                "party": Party(data["party"]) if data.get("party") else None,
                "wire": Wire(data["wire"]) if data.get("wire") else None,
                "differences": tuple(Difference(**d) for d in data.get("differences", ())),
            }
        )

"""What notify works from: incidents grouped into one digest per recipient group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..capture import Exchange
from ..config import Group
from ..diagnosis import Diagnosis

KINDS = ("alert",)


@dataclass(frozen=True)
class Incident:
    """One process in trouble: what went wrong, where, and since when."""

    process: str
    diagnosis: Diagnosis
    monitors: tuple[str, ...]
    exchange: Exchange | None  # the failing call, for the technical appendix
    first_seen: datetime
    last_seen: datetime
    runs: int = 1

    @property
    def for_maintainers_only(self) -> bool:
        return self.diagnosis.category.for_maintainers_only


@dataclass(frozen=True)
class Digest:
    """The one mail a group gets from a run."""

    kind: str
    group: Group
    incidents: tuple[Incident, ...]
    also_sent_to: tuple[Group, ...]


@dataclass(frozen=True)
class RunContext:
    """What a mail says about the run itself."""

    run_id: str
    run_url: str | None
    report_path: Path | None
    finished_at: datetime


@dataclass(frozen=True)
class Delivery:
    """What became of one composed mail."""

    group: str
    recipients: tuple[str, ...]
    subject: str
    eml: Path
    delivered: bool
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "recipients": list(self.recipients),
            "subject": self.subject,
            "eml": str(self.eml),
            "delivered": self.delivered,
            "error": self.error,
        }

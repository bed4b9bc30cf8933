"""What notify works from: incidents grouped into one digest per recipient group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .._vocabulary import Aspect, DeliveryStatus, IncidentKind
from ..capture import Exchange
from ..config import Group
from ..diagnosis import Diagnosis
from ..result import MailRecord


@dataclass(frozen=True)
class Incident:
    """One process in trouble (or out of it): what went wrong, where, since when."""

    kind: IncidentKind
    process: str
    diagnosis: Diagnosis | None
    monitors: tuple[str, ...]
    exchange: Exchange | None  # the failing call, for the technical appendix
    first_seen: datetime
    last_seen: datetime
    runs: int = 1
    aspect: Aspect = Aspect.FAILING
    ended_at: datetime | None = None  # resolved incidents
    # A root cause shared by several processes (the ERP is down for all of them).
    processes: tuple[str, ...] = ()
    # An unstable process: its last runs, "F" failed and "P" passed, oldest first.
    pattern: str = ""

    @property
    def for_maintainers_only(self) -> bool:
        return self.diagnosis is not None and self.diagnosis.category.for_maintainers_only

    @property
    def affected(self) -> tuple[str, ...]:
        return self.processes or (self.process,)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "process": self.process,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
            "monitors": list(self.monitors),
            "exchange": self.exchange.to_dict() if self.exchange else None,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "runs": self.runs,
            "aspect": self.aspect,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "processes": list(self.processes),
            "pattern": self.pattern,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        return cls(
            kind=IncidentKind(data["kind"]),
            process=data["process"],
            diagnosis=Diagnosis.from_dict(data["diagnosis"]) if data.get("diagnosis") else None,
            monitors=tuple(data["monitors"]),
            exchange=Exchange.from_dict(data["exchange"]) if data.get("exchange") else None,
            first_seen=datetime.fromisoformat(data["first_seen"]),
            last_seen=datetime.fromisoformat(data["last_seen"]),
            runs=data.get("runs", 1),
            aspect=Aspect(data.get("aspect", Aspect.FAILING)),
            ended_at=datetime.fromisoformat(data["ended_at"]) if data.get("ended_at") else None,
            processes=tuple(data.get("processes", ())),
            pattern=data.get("pattern", ""),
        )


@dataclass(frozen=True)
class Note:
    """Something to mention in the next digest without alerting: a flaky pass."""

    process: str
    monitor: str
    at: datetime
    what: str  # the first try's failure, e.g. "POST /salesOrders → 503"

    def to_dict(self) -> dict[str, str]:
        return {
            "process": self.process,
            "monitor": self.monitor,
            "at": self.at.isoformat(),
            "what": self.what,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Note:
        return cls(
            data["process"], data["monitor"], datetime.fromisoformat(data["at"]), data["what"]
        )


@dataclass(frozen=True)
class Digest:
    """The one mail a group gets from a run."""

    group: Group
    incidents: tuple[Incident, ...]
    also_sent_to: tuple[Group, ...]
    notes: tuple[Note, ...] = field(default=())

    @property
    def kind(self) -> IncidentKind:
        """The kind of its most urgent incident."""
        return min((i.kind for i in self.incidents), key=lambda kind: kind.urgency)


@dataclass(frozen=True)
class RunContext:
    """What a mail says about the run itself."""

    run_id: str
    run_url: str | None
    report_path: Path | None  # pytest-html's report.html, in the report language
    finished_at: datetime
    # erpwatch's own run report per language (``report.nl.html``), when rendered.
    reports: Mapping[str, Path] = field(default_factory=dict)

    def report_for(self, language: str) -> Path | None:
        """The report to attach for a reader of ``language``: the run report in
        that language; report.html where none was rendered (an earlier step broke)."""
        return self.reports.get(language, self.report_path)


@dataclass(frozen=True)
class Delivery:
    """What became of one composed mail on one channel: sent, left in the outbox
    (no SMTP), or failed. ``channel`` is "mail" or an installed channel's name;
    ``eml`` is the mail in the outbox either way."""

    group: str
    recipients: tuple[str, ...]
    subject: str
    eml: Path
    status: DeliveryStatus
    error: str | None = None
    channel: str = "mail"
    # A final refusal (a login, a TLS set-up, the recipients): not tried again
    # until a setting changes. ``held`` when this run did not try at all.
    permanent: bool = False
    held: bool = False
    # A chat post the webhook did not take, as the alert state keeps it to post
    # again with the next run (notify/_deliver.py's pending_post): masked, no address.
    retry: Mapping[str, Any] | None = field(default=None, repr=False)
    # The maintainers' "mail was not delivered" post: which failures it told of
    # (_webhook.failures_fingerprint), so the next runs do not repeat it.
    told: str | None = None

    @property
    def retry_id(self) -> str | None:
        return str(self.retry["id"]) if self.retry is not None else None

    @property
    def delivered(self) -> bool:
        return self.status is DeliveryStatus.SENT

    def record(self) -> MailRecord:
        """As the run result keeps it (summary.json, the history)."""
        return MailRecord(
            self.group,
            self.recipients,
            self.subject,
            str(self.eml),
            self.status,
            self.error,
            self.channel,
        )

    def to_dict(self) -> dict[str, object]:
        return self.record().to_dict()

"""The run result: a plain data model, the contract between the run and
everything that reports on it. Written as ``summary.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._files import write_atomically
from ._vocabulary import DeliveryStatus, Outcome, Phase, RunOutcome, Status
from .capture import Exchange
from .diagnosis import Category, Diagnosis
from .synthetic import Leftover

# summary.json's version; its shape is published as schemas/summary.v<N>.json.
SCHEMA_VERSION = 1


def summary_schema() -> dict[str, Any]:
    """The JSON Schema of summary.json, as shipped in the package, for tools that read it."""
    # Imported here: test workers import this module, and only readers need the file.
    from importlib import resources

    text = resources.files("erpwatch").joinpath(f"schemas/summary.v{SCHEMA_VERSION}.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


def overran(why: str, exchanges: list[Exchange]) -> Diagnosis:
    """A monitor the run deadline stopped: a time-out of the process as a whole,
    naming the call it was waiting on, if it had started one."""
    last = exchanges[-1] if exchanges else None
    return Diagnosis(
        category=Category.TIMEOUT,
        reason=f"the monitor did not finish: {why}",
        call=last.call if last is not None else None,
        method=last.method if last is not None else None,
        url=last.url if last is not None else None,
        status=last.status if last is not None else None,
        error=f"the monitor did not finish: {why}",
    )


@dataclass
class MonitorResult:
    nodeid: str
    name: str
    process: str | None
    critical: bool
    outcome: Outcome = Outcome.PASSED
    failed_phase: Phase | None = None
    message: str | None = None
    duration: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)
    exchanges_dropped: int = 0
    failing_exchange: int | None = None  # index into exchanges
    leftovers: list[Leftover] = field(default_factory=list)
    diagnosis: Diagnosis | None = None
    degraded: bool = False  # passed, but slower than the process's threshold
    # Re-run after a transient failure: the first try's failure, one line.
    retried: str | None = None
    flaky: bool = False  # passed on the second try

    @property
    def failing(self) -> Exchange | None:
        return None if self.failing_exchange is None else self.exchanges[self.failing_exchange]

    @property
    def status(self) -> Status:
        """The outcome as erpwatch reports it: a pass slower than its threshold is degraded."""
        return Status.of(self.outcome, self.degraded)

    def to_dict(self) -> dict[str, Any]:
        failing = self.failing
        return {
            "nodeid": self.nodeid,
            "name": self.name,
            "process": self.process,
            "critical": self.critical,
            "outcome": self.outcome,
            "failed_phase": self.failed_phase,
            "message": self.message,
            "duration": self.duration,
            "exchanges": [exchange.to_dict() for exchange in self.exchanges],
            "exchanges_dropped": self.exchanges_dropped,
            "failing_exchange": self.failing_exchange,
            "leftovers": [asdict(leftover) for leftover in self.leftovers],
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
            "degraded": self.degraded,
            "retried": self.retried,
            "flaky": self.flaky,
            # Derived, for readers of summary.json; not read back.
            "failing_call": failing.call if failing is not None else None,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitorResult:
        phase = data.get("failed_phase")
        return cls(
            nodeid=data["nodeid"],
            name=data["name"],
            process=data["process"],
            critical=data["critical"],
            outcome=Outcome(data["outcome"]),
            failed_phase=Phase(phase) if phase is not None else None,
            message=data.get("message"),
            duration=data.get("duration", 0.0),
            exchanges=[Exchange.from_dict(e) for e in data.get("exchanges", [])],
            exchanges_dropped=data.get("exchanges_dropped", 0),
            failing_exchange=data.get("failing_exchange"),
            leftovers=[Leftover(**x) for x in data.get("leftovers", [])],
            diagnosis=Diagnosis.from_dict(data["diagnosis"]) if data.get("diagnosis") else None,
            degraded=data.get("degraded", False),
            retried=data.get("retried"),
            flaky=data.get("flaky", False),
        )


@dataclass(frozen=True)
class ProcessResult:
    """A business process: the monitors that watch it, taken together. Derived."""

    name: str
    title: str
    critical: bool
    outcome: Status
    monitors: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MailRecord:
    """What became of one mail of the run, as summary.json and the history tell it."""

    group: str
    recipients: tuple[str, ...]
    subject: str
    eml: str  # the .eml file written, sent or not
    status: DeliveryStatus
    error: str | None = None
    channel: str = "mail"  # or an installed channel's name

    @property
    def delivered(self) -> bool:
        return self.status is DeliveryStatus.SENT

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "recipients": list(self.recipients),
            "subject": self.subject,
            "eml": self.eml,
            "status": self.status,
            "delivered": self.delivered,
            "error": self.error,
            "channel": self.channel,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MailRecord:
        return cls(
            group=data["group"],
            recipients=tuple(data["recipients"]),
            subject=data["subject"],
            eml=data["eml"],
            status=DeliveryStatus(data["status"]),
            error=data.get("error"),
            channel=data.get("channel", "mail"),
        )


@dataclass
class RunResult:
    run_id: str
    started_at: str
    finished_at: str
    environment: str
    erp_base_url: str | None
    erp_sandbox: bool
    monitors: list[MonitorResult]
    titles: dict[str, str] = field(default_factory=dict)
    run_url: str | None = None  # the CI run, when there is one
    mails: list[MailRecord] = field(default_factory=list)  # what notify made of the run
    interrupted: str | None = None  # why the run stopped early: Ctrl+C, SIGTERM, the deadline

    @property
    def outcome(self) -> RunOutcome:
        """The worst status of its monitors, or interrupted. An interrupted run is
        never a pass: what did not run said nothing."""
        if self.interrupted is not None:
            return RunOutcome.INTERRUPTED
        return RunOutcome(Status.worst(m.status for m in self.monitors).value)

    @property
    def processes(self) -> list[ProcessResult]:
        grouped: dict[str, list[MonitorResult]] = {}
        for monitor in self.monitors:
            grouped.setdefault(monitor.process or "unassigned", []).append(monitor)
        return [
            ProcessResult(
                name=name,
                title=self.titles.get(name, name),
                critical=any(m.critical for m in monitors),
                outcome=Status.worst(m.status for m in monitors),
                monitors=[m.nodeid for m in monitors],
            )
            for name, monitors in sorted(grouped.items())
        ]

    def unmonitored(self) -> list[tuple[ProcessResult, str]]:
        """Processes none of whose monitors ran, each with why (the first skip reason)."""
        reasons = {m.nodeid: m.message or "skipped" for m in self.monitors}
        return [
            (process, reasons[process.monitors[0]])
            for process in self.processes
            if process.outcome is Status.SKIPPED
        ]

    def to_dict(self) -> dict[str, Any]:
        """summary.json; its shape is schemas/summary.v1.json."""
        return {
            "schema": SCHEMA_VERSION,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "environment": self.environment,
            "erp": {"base_url": self.erp_base_url, "sandbox": self.erp_sandbox},
            "run_url": self.run_url,
            "outcome": self.outcome,
            "interrupted": self.interrupted,
            "processes": [p.to_dict() for p in self.processes],
            "monitors": [m.to_dict() for m in self.monitors],
            "mails": [mail.to_dict() for mail in self.mails],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Read back a summary.json (for previews and, later, history)."""
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(
                f"unsupported run result schema {data.get('schema')!r}; expected {SCHEMA_VERSION}"
            )
        return cls(
            run_id=data["run_id"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            environment=data["environment"],
            erp_base_url=data["erp"]["base_url"],
            erp_sandbox=data["erp"]["sandbox"],
            monitors=[MonitorResult.from_dict(m) for m in data["monitors"]],
            titles={p["name"]: p["title"] for p in data.get("processes", [])},
            run_url=data.get("run_url"),
            mails=[MailRecord.from_dict(m) for m in data.get("mails", [])],
            interrupted=data.get("interrupted"),
        )

    def write(self, path: Path) -> None:
        # Compact: json's C encoder only runs without indent, and a run of
        # hundreds of monitors is mostly recorded exchanges.
        write_atomically(
            path, json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
        )

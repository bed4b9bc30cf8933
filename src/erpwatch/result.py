"""The run result: a plain data model, the contract between the run and
everything that reports on it. Written as ``summary.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ._files import write_atomically
from .capture import Exchange
from .diagnosis import Category, Diagnosis
from .synthetic import Leftover

SCHEMA_VERSION = 1
# unfinished: stopped by an interruption or the run deadline before it ended.
STATUSES = ("passed", "degraded", "failed", "skipped", "unfinished")


def _overran(why: str, exchanges: list[Exchange]) -> Diagnosis:
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
    outcome: str = "passed"
    failed_phase: str | None = None  # setup, call or teardown
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

    def add_phase(self, when: str, outcome: str, duration: float, payload: dict[str, Any]) -> None:
        """Fold one phase's test report (setup, call, teardown) into the result."""
        self.duration += duration
        self.exchanges.extend(Exchange.from_dict(e) for e in payload.get("exchanges", []))
        self.exchanges_dropped += payload.get("dropped", 0)
        self.leftovers.extend(Leftover(**item) for item in payload.get("leftovers", []))
        if payload.get("unfinished") and self.outcome in ("passed", "skipped"):
            # Whatever its phases said so far, it did not get to the end.
            self.outcome = "unfinished"
            self.degraded = False
            self.message = f"not finished: {payload['unfinished']}"
            if payload.get("overran"):
                self.diagnosis = _overran(payload["unfinished"], self.exchanges)
        if outcome == "skipped" and self.outcome == "passed":
            self.outcome = "skipped"
            self.message = payload.get("message")
        if payload.get("retried"):
            self.retried = payload["retried"]
            self.flaky = outcome != "failed" and self.outcome != "failed"
        diagnosis = payload.get("diagnosis")
        if outcome == "passed" and diagnosis is not None and self.outcome == "passed":
            self.diagnosis = Diagnosis.from_dict(diagnosis)
            self.degraded = True
        if outcome == "failed" and self.outcome != "failed":
            self.flaky = False
            self.outcome = "failed"
            self.degraded = False
            self.failed_phase = when
            self.message = payload.get("message")
            self.diagnosis = Diagnosis.from_dict(diagnosis) if diagnosis is not None else None
            self.failing_exchange = self.diagnosis.exchange_index if self.diagnosis else None

    @property
    def failing(self) -> Exchange | None:
        return None if self.failing_exchange is None else self.exchanges[self.failing_exchange]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitorResult:
        return cls(
            nodeid=data["nodeid"],
            name=data["name"],
            process=data["process"],
            critical=data["critical"],
            outcome=data["outcome"],
            failed_phase=data.get("failed_phase"),
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

    @property
    def status(self) -> str:
        """The outcome as erpwatch reports it: passed, degraded, failed or skipped."""
        return "degraded" if self.outcome == "passed" and self.degraded else self.outcome

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["exchanges"] = [exchange.to_dict() for exchange in self.exchanges]
        data["leftovers"] = [asdict(leftover) for leftover in self.leftovers]
        failing = self.failing
        data["failing_call"] = failing.call if failing is not None else None
        data["status"] = self.status
        data["diagnosis"] = self.diagnosis.to_dict() if self.diagnosis else None
        return data


@dataclass
class ProcessResult:
    name: str
    title: str
    critical: bool
    outcome: str
    monitors: list[str]


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
    mails: list[dict[str, Any]] = field(default_factory=list)  # what notify made of the run
    interrupted: str | None = None  # why the run stopped early: Ctrl+C, SIGTERM, the deadline

    @property
    def outcome(self) -> str:
        """interrupted, failed, degraded, passed or skipped. An interrupted run is
        never a pass: what did not run said nothing."""
        if self.interrupted is not None:
            return "interrupted"
        return _worst(m.status for m in self.monitors)

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
                outcome=_worst(m.status for m in monitors),
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
            if process.outcome == "skipped"
        ]

    def to_dict(self) -> dict[str, Any]:
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
            "processes": [asdict(p) for p in self.processes],
            "monitors": [m.to_dict() for m in self.monitors],
            "mails": self.mails,
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
            interrupted=data.get("interrupted"),
        )

    def write(self, path: Path) -> None:
        # Compact: json's C encoder only runs without indent, and a run of
        # hundreds of monitors is mostly recorded exchanges.
        write_atomically(
            path, json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
        )


def _worst(outcomes: Any) -> str:
    seen = set(outcomes)
    if "failed" in seen:
        return "failed"
    if "unfinished" in seen:
        return "unfinished"
    if "degraded" in seen:
        return "degraded"
    if "passed" in seen:
        return "passed"
    return "skipped" if seen else "passed"

"""The run result: a plain data model, the contract between the run and
everything that reports on it. Written as ``summary.json``."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .capture import Exchange
from .diagnosis import Diagnosis
from .synthetic import Leftover

SCHEMA_VERSION = 1
# unfinished: stopped by an interruption or the run deadline before it ended.
STATUSES = ("passed", "degraded", "failed", "skipped", "unfinished")


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


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        # mkstemp makes the file private; reports are meant to be read and published.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

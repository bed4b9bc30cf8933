"""What erpwatch says on the terminal: the header at the start, the summary at the end.

Lines with their colour, as plain data; the hooks write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ._finish import StepStatus
from ._finishing import Finishing
from ._standing import standing_lines
from ._vocabulary import Status
from ._words import counted
from .capture import RECORDER
from .config import Settings
from .diagnosis import explain
from .result import MonitorResult, RunResult


@dataclass(frozen=True)
class Line:
    text: str
    colour: str | None = None  # "red" or "yellow", as the terminal writer names them

    @property
    def markup(self) -> dict[str, bool]:
        return {self.colour: True} if self.colour else {}


def header_lines(settings: Settings, run_id: str) -> list[str]:
    lines = [
        f"erpwatch: run {run_id}, environment {settings.environment}, config {settings.config_path}"
    ]
    erp = settings.erp
    if erp is not None and erp.sandbox:
        lines.append(
            f"erpwatch: ERP {erp.base_url} (built-in sandbox, started because ERP_BASE_URL is unset)"
        )
    elif erp is not None:
        lines.append(f"erpwatch: ERP {RECORDER.redactor.url(erp.base_url)}")
    else:
        lines.append(
            "erpwatch: no Business Central ERP: ERP_BASE_URL is unset, and a live run "
            "does not start the built-in sandbox"
        )
    tryton = settings.tryton
    if tryton is not None:
        lines.append(
            f"erpwatch: Tryton {RECORDER.redactor.url(tryton.url)}, database {tryton.database!r}"
        )
    return lines


def summary_lines(result: RunResult, finishing: Finishing, settings: Settings) -> list[Line]:
    lines: list[Line] = []
    standing = standing_lines(
        result,
        finishing.alerting,
        finishing.plan.digests if finishing.plan is not None else [],
        settings,
        settings.alerts.fixed_now or datetime.now(UTC),
    )
    skipped = {m.nodeid for m in result.monitors if m.status is Status.SKIPPED}
    # A monitor with a configuration mistake is told as that, below, not as a monitor error.
    by_id = {m.nodeid: m for m in result.monitors if m.nodeid not in finishing.misconfigured}
    shown: set[str] = set()
    for process in result.processes:
        not_run = len(skipped.intersection(process.monitors))
        ran = len(process.monitors) - not_run
        counts = counted(ran, "monitor") + (f", {not_run} skipped" if not_run else "")
        lines.append(Line(f"{process.outcome.upper():8} {process.title} ({counts})"))
        if process.name in standing:
            lines.append(Line(f"  {standing[process.name]}"))
        # Each monitor's details under its own process, not after all of them.
        for nodeid in process.monitors:
            if nodeid in by_id and nodeid not in shown:
                shown.add(nodeid)
                lines += _details(by_id[nodeid], settings)
    for monitor in result.monitors:
        if monitor.nodeid not in shown and monitor.nodeid in by_id:
            lines += _details(monitor, settings)
    for problem in finishing.misconfigured.values():
        lines.append(Line(f"CONFIGURATION ERROR {problem}", "red"))
    for process, reason in result.unmonitored():
        lines.append(Line(f"WARNING {process.title} was not monitored: {reason}", "yellow"))
    alerting = finishing.alerting
    if alerting is not None:
        from .notify import summary_lines as mail_lines

        if alerting.silenced:
            lines.append(Line(f"mail: failures are not mailed now: {alerting.silenced}"))
        for warning in alerting.warnings:
            lines.append(Line(f"WARNING {warning}", "yellow"))
        for line in mail_lines(alerting.deliveries, settings):
            lines.append(Line(line, "red" if " NOT SENT " in line else None))
    if result.interrupted:
        lines.append(Line(f"INTERRUPTED {result.interrupted}: the run reports what it had", "red"))
    for step in finishing.steps:
        if step.status in (StepStatus.FAILED, StepStatus.INTERRUPTED):
            lines.append(Line(step.line, "red"))
    if finishing.told:
        lines.append(
            Line(f"erpwatch: the maintainers were told: {'; '.join(finishing.told)}", "red")
        )
    if finishing.heartbeat_error:
        lines.append(Line(f"WARNING {finishing.heartbeat_error}", "yellow"))
    for warning in finishing.history_warnings:
        lines.append(Line(f"WARNING {warning}", "yellow"))
    if finishing.summary_written is not None:
        lines.append(Line(f"run result: {finishing.summary_written}"))
    if finishing.dashboard is not None:
        lines.append(Line(f"dashboard: {finishing.dashboard}"))
    return lines


def _details(monitor: MonitorResult, settings: Settings) -> list[Line]:
    """What the terminal says about one monitor beyond its process's line."""
    lines = []
    diagnosis = monitor.diagnosis
    if diagnosis is not None:
        label = explain(diagnosis, settings.report_language).label
        lines.append(Line(f"  {monitor.nodeid}: [{label}] {_one_line(diagnosis.headline)}"))
    for leftover in monitor.leftovers:
        lines.append(
            Line(f"  LEFTOVER {leftover.description} could not be removed: {leftover.error}")
        )
    if monitor.flaky:
        lines.append(
            Line(f"  FLAKY {monitor.nodeid}: passed on a second try; first: {monitor.retried}")
        )
    return lines


def _one_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "failed"

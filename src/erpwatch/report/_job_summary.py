"""The GitHub Actions job summary: a table of processes, written by erpwatch."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .._vocabulary import Outcome, Status
from .._words import local_time
from ..config import Settings
from ..result import RunResult

if TYPE_CHECKING:
    from ..alerts import AlertOutcome

LIMIT = 1024 * 1024  # GitHub takes at most 1 MiB per step summary
_ICONS = {
    Status.PASSED: "✅",
    Status.DEGRADED: "🐢",
    Status.FAILED: "❌",
    Status.SKIPPED: "⏭️",
}


def _cell(text: str) -> str:
    """Table-safe: no pipes or newlines from ERP text, and short."""
    flat = " ".join(text.replace("|", "\\|").split())
    return flat if len(flat) <= 200 else flat[:200] + "…"


def job_summary(run: RunResult, settings: Settings, alerting: AlertOutcome) -> str:
    lines = [
        f"## erpwatch: {run.outcome} ({settings.environment})",
        "",
        "| Process | Status | Since | Failing call |",
        "| --- | --- | --- | --- |",
    ]
    for process in run.processes:
        monitors = [m for m in run.monitors if (m.process or "unassigned") == process.name]
        since = sorted(
            alerting.since[m.nodeid]
            for m in monitors
            if m.nodeid in alerting.since and m.outcome is Outcome.FAILED
        )
        failing = next((m for m in monitors if m.outcome is Outcome.FAILED and m.diagnosis), None)
        call = _cell(failing.diagnosis.headline) if failing and failing.diagnosis else ""
        when = (
            local_time(datetime.fromisoformat(since[0]), settings.timezone, "en") if since else ""
        )
        status = f"{_ICONS.get(process.outcome, '')} {process.outcome}"
        lines.append(f"| {_cell(process.title)} | {status} | {when} | {call} |")
    lines.append("")
    for monitor in run.monitors:
        if monitor.flaky:
            lines.append(
                f"- Flaky: `{monitor.nodeid}` passed on a second try ({_cell(monitor.retried or '')})"
            )
    for process, reason in run.unmonitored():
        lines.append(f"- Not monitored: {_cell(process.title)} — {_cell(reason)}")
    for delivery in alerting.deliveries:
        lines.append(f"- Mail to {delivery.group}: {delivery.status} — {_cell(delivery.subject)}")
    if alerting.silenced:
        lines.append(f"- Failure mail held back: {alerting.silenced}")
    if settings.dry_run:
        lines.append("- Dry run: nothing was sent and the alert state was left as it was.")
    lines.append("")
    text = "\n".join(lines) + "\n"
    if len(text.encode()) > LIMIT:
        text = (
            text.encode()[: LIMIT - 200].decode(errors="ignore")
            + "\n\n…(cut to GitHub's 1 MiB limit)\n"
        )
    return text


def append_job_summary(
    path: Path, run: RunResult, settings: Settings, alerting: AlertOutcome
) -> None:
    with path.open("a", encoding="utf-8") as stream:
        stream.write(job_summary(run, settings, alerting))

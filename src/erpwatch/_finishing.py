"""What the controller does once the monitors are over: the finishing steps.

In order: write summary.json (before any mail is tried, so nothing is lost),
the run report per language (what mails attach), decide alerts, mail, append the history, draw the dashboard, write the GitHub
job summary. If any of them broke, the maintainers are mailed; the heartbeat
comes last. Each step runs on its own through ``run_steps``, so one fault does
not cost the others. The result is the exit status the run ends with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._finish import Step, StepResult, StepSkipped, failed, interrupted, run_steps
from ._vocabulary import RunOutcome
from .capture import RECORDER
from .config import Settings
from .result import RunResult

if TYPE_CHECKING:
    from .alerts import AlertOutcome
    from .alerts._lifecycle import AlertPlan


@dataclass
class Finishing:
    """The finishing steps of one run, and what each left for the terminal summary."""

    settings: Settings
    summary_path: Path
    summary_written: Path | None = None
    plan: AlertPlan | None = None
    alerting: AlertOutcome | None = None
    dashboard: Path | None = None
    reports: Mapping[str, Path] = field(default_factory=dict)  # the run report per language
    heartbeat_error: str | None = None
    history_warnings: list[str] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    told: list[str] = field(default_factory=list)  # how the maintainers heard that a step broke
    # Per monitor naming no declared process: the line that says what to fix.
    misconfigured: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        run: RunResult,
        report_path: Path | None,
        exitstatus: int | pytest.ExitCode,
        unread: list[str],
    ) -> int | pytest.ExitCode:
        """Every step, whatever the others did; the exit status the run ends with.

        ``unread`` are the worker payloads the controller could not read: a fault
        of erpwatch, told to the maintainers like a broken step."""
        now = self.settings.alerts.fixed_now or datetime.now(UTC)
        redact = RECORDER.redactor.text
        # Only when there is something to say: a run whose reports all read lists no such step.
        checks = [Step("worker reports", lambda: _all_read(unread))] if unread else []
        self.steps = run_steps(
            [
                *checks,
                Step("summary", lambda: self._write_summary(run)),
                Step("run reports", lambda: self._write_reports(run, report_path)),
                Step("alerts", lambda: self._decide(run, now, report_path)),
                Step("mail", lambda: self._mail(run)),
                Step("history", lambda: self._append_history(run, now)),
                Step("dashboard", lambda: self._draw_dashboard(now)),
                Step("job summary", lambda: self._job_summary(run)),
            ],
            redact,
        )
        broken = failed(self.steps)
        if broken:
            self.steps += run_steps(
                [Step("maintainers' mail", lambda: self._tell_maintainers(run, broken, now))],
                redact,
            )
        self.steps += run_steps([Step("heartbeat", lambda: self._heartbeat(run))], redact)
        if run.interrupted is not None or interrupted(self.steps):
            return pytest.ExitCode.INTERRUPTED
        if failed(self.steps) and exitstatus in (0, 1):
            return pytest.ExitCode.INTERNAL_ERROR
        from ._collect import misconfigured

        # A monitor naming an undeclared process is a mistake in the set-up, for
        # whoever deploys the monitors to fix: a usage error, not a failed check.
        self.misconfigured = misconfigured(run, self.settings)
        if self.misconfigured and exitstatus in (0, 1):
            return pytest.ExitCode.USAGE_ERROR
        # A live run that watched a critical process not at all is misconfigured,
        # not healthy: the schedule must not report it as a pass.
        unwatched = [p for p, _ in run.unmonitored() if p.critical]
        if self.settings.environment == "live" and unwatched and exitstatus == 0:
            return pytest.ExitCode.USAGE_ERROR
        return exitstatus

    def _write_summary(self, run: RunResult) -> None:
        run.write(self.summary_path)
        self.summary_written = self.summary_path

    def _write_reports(self, run: RunResult, report_path: Path | None) -> None:
        from .report import write_run_reports

        # Next to report.html, which --html may have moved.
        directory = report_path.parent if report_path else self.settings.reports_dir
        self.reports = write_run_reports(run, self.settings, RECORDER.redactor, directory)

    def _decide(self, run: RunResult, now: datetime, report_path: Path | None) -> None:
        from .alerts._lifecycle import decide_alerts

        self.plan = decide_alerts(run, self.settings, now, report_path, self.reports)
        self.alerting = self.plan.outcome

    def _mail(self, run: RunResult) -> None:
        if self.plan is None:
            raise StepSkipped("no alert decisions to mail")
        from .alerts._lifecycle import record_deliveries, send_alerts

        try:
            send_alerts(self.plan, self.settings)
        finally:
            # Also when cut short: what was not delivered is pending again at once,
            # not held by this run's claim until it goes stale.
            record_deliveries(self.plan, self.settings)
        run.mails = [d.record() for d in self.plan.outcome.deliveries]
        if run.mails and self.summary_written is not None:
            run.write(self.summary_path)

    def _history(self) -> Any:
        from .report import History

        # The history lives next to the alert state; the dashboard is drawn from it.
        return History(self.settings.alerts.state_file.with_name("history.jsonl"))

    def _append_history(self, run: RunResult, now: datetime) -> None:
        if self.settings.dry_run:
            raise StepSkipped("a dry run keeps no history")
        from .report import describe_mails, record_of

        record = record_of(run, now, run.mails)
        record["outcome"] = run.outcome  # interrupted runs are told apart from passes
        if self.alerting is not None and self.alerting.unstable:
            record["unstable"] = self.alerting.unstable  # process → its last runs
        if self.alerting is not None and self.alerting.silenced:
            # Planned maintenance is left out of the month's availability; a
            # one-off silence is not planned, and is not.
            record["silenced"] = "maintenance" if self.alerting.planned else "silence"
        if self.plan is not None:
            describe_mails(record, self.plan.digests)
        if run.interrupted:
            record["interrupted"] = run.interrupted
        history = self._history()
        try:
            history.append(record)
        finally:
            self._keep_warnings(history.warnings)

    def _draw_dashboard(self, now: datetime) -> None:
        from .report import write_dashboard

        history = self._history()
        path = self.settings.reports_dir / "index.html"
        try:
            records = history.load()
        finally:
            self._keep_warnings(history.warnings)
        if self.settings.dry_run:
            # A dry run adds nothing to the history: redrawn now, the page would say
            # "updated now" over the last real run's status. It stays as that run drew it.
            raise StepSkipped("a dry run leaves the dashboard as the last real run drew it")
        write_dashboard(path, records, self.settings, now)
        self.dashboard = path

    def _keep_warnings(self, warnings: list[str]) -> None:
        """Both history steps read the file: say each damaged line once."""
        self.history_warnings += [w for w in warnings if w not in self.history_warnings]

    def _job_summary(self, run: RunResult) -> None:
        step_summary = self.settings.env.get("GITHUB_STEP_SUMMARY")
        if not step_summary:
            raise StepSkipped("not on GitHub Actions")
        from .alerts import AlertOutcome
        from .report import append_job_summary

        append_job_summary(Path(step_summary), run, self.settings, self.alerting or AlertOutcome())

    def _tell_maintainers(self, run: RunResult, broken: list[StepResult], now: datetime) -> None:
        from .notify import RunContext
        from .notify._harness import tell_maintainers, tell_maintainers_in_chat

        context = RunContext(run.run_id, run.run_url, None, now)
        problems = [(step.line, step.detail or "") for step in broken]
        mail = self.settings.mail
        group = mail.groups.get(mail.maintainers) if mail.maintainers else None
        try:
            # A chat-only maintainers group is told on its webhook alone (below).
            if group is None or group.mailed:
                delivery = tell_maintainers(self.settings, context, problems)
                self.told.append(
                    f"mail to {delivery.group}: {delivery.status}"
                    + (f" ({delivery.error})" if delivery.error else "")
                )
        finally:  # the mail (or the outbox) may be what broke: the chat is tried anyway
            chat = tell_maintainers_in_chat(self.settings, context, problems)
            if chat is not None:
                self.told.append(
                    f"{chat.channel} to {chat.group}: {chat.status}"
                    + (f" ({chat.error})" if chat.error else "")
                )

    def _heartbeat(self, run: RunResult) -> None:
        alerts = self.settings.alerts
        if self.settings.dry_run:
            raise StepSkipped("no heartbeat in a dry run")
        from .alerts import ping_heartbeat

        # erpwatch broken, or a run cut short, is news for the dead man's switch too.
        ok = run.outcome in (
            RunOutcome.PASSED,
            RunOutcome.DEGRADED,
            RunOutcome.SKIPPED,
        ) and not (failed(self.steps) or interrupted(self.steps))
        self.heartbeat_error = ping_heartbeat(alerts, ok)
        if not ok and alerts.heartbeat_fail_url and failed(self.steps):
            self.told.append(
                "heartbeat fail URL: " + ("not reached" if self.heartbeat_error else "pinged")
            )


class UnreadReports(Exception):
    """Some monitors' reports reached the controller in a form erpwatch cannot read."""


def _all_read(unread: list[str]) -> None:
    first = sorted(unread)[0]  # the same line whichever worker reported first
    more = f" (and {len(unread) - 1} more)" if len(unread) > 1 else ""
    raise UnreadReports(first + more)

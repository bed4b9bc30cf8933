"""One monitoring run: the object whose methods are the hooks of an active run.

Workers (and a run without xdist) record exchanges, diagnose a failure and
attach both to their test reports; the controller (or the single process) folds
the reports into the run result, writes summary.json and runs the finishing
steps (alerts and mail, history, dashboard, heartbeat). The decisions live in
plain modules (capture, diagnosis, alerts, notify, report, result); this module
still holds the retry of a failed monitor, the payload of a test report and the
order of the finishing steps.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Generator, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.runner import runtestprotocol

from ._calls import CallFailed
from ._finish import Step, StepResult, StepSkipped, StepStatus, failed, interrupted, run_steps
from ._interrupt import DeadlinePassed, Interruptions, reason_of
from ._vocabulary import RunOutcome, Status
from ._xdist import Workers
from .alerts import RetryDecision, retry_decision
from .capture import RECORDER, Exchange
from .config import Settings
from .diagnosis import Diagnosis, classify, describe_failure, explain
from .report import diagnosis_html, exchanges_html
from .result import MonitorResult, RunResult
from .synthetic import Leftover

if TYPE_CHECKING:
    from .alerts import AlertOutcome
    from .alerts._lifecycle import AlertPlan

LEFTOVERS_KEY = pytest.StashKey[list[Leftover]]()
EXCHANGES_KEY = pytest.StashKey[list[Exchange]]()
MAX_MESSAGE_CHARS = 2000
# Workers stop at the deadline; the controller only this much later, so their
# reports (and leftovers) reach it first.
CONTROLLER_GRACE = 30.0


def ci_run_url(env: Mapping[str, str]) -> str | None:
    """The GitHub Actions run this is, so a mail can link to it."""
    keys = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    if not all(env.get(key) for key in keys):
        return None
    return (
        f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    )


def new_run_id(env: dict[str, str] | Any) -> str:
    """GitHub's run id when there is one, so reports link to the run."""
    if env.get("ERPWATCH_RUN_ID"):
        return str(env["ERPWATCH_RUN_ID"])
    if env.get("GITHUB_RUN_ID"):
        return f"{env['GITHUB_RUN_ID']}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    return datetime.now(UTC).strftime("%y%m%d%H%M") + "-" + secrets.token_hex(2).upper()


def monitor_process(item: pytest.Item, settings: Settings) -> tuple[str | None, bool, str | None]:
    """The process a monitor guards and its criticality, or the problem with its marker."""
    marker = item.get_closest_marker("process")
    if marker is None or not marker.args or not isinstance(marker.args[0], str):
        return (
            None,
            False,
            (
                f"{item.nodeid} does not say which process it guards: mark it with "
                "@pytest.mark.process('orders') or set pytestmark in its module"
            ),
        )
    name = marker.args[0]
    critical = marker.kwargs.get("critical")
    declared = settings.process(name)
    if declared is None and settings.processes:
        known = ", ".join(sorted(settings.processes))
        return (
            name,
            False,
            (
                f"process '{name}' of {item.nodeid} is not declared in "
                f"{settings.config_path.name}; declared processes: {known}"
            ),
        )
    if declared is not None and declared.critical is not None:
        critical = declared.critical
    return name, bool(critical), None


def diagnosis_html_of(
    settings: Settings, diagnosis: Diagnosis, exchanges: list[Exchange], process: str | None
) -> str:
    declared = settings.process(process) if process else None
    title = declared.title if declared else (process or "")
    return diagnosis_html(diagnosis, exchanges, title, settings.report_language)


def _first_failure(reports: list[pytest.TestReport]) -> str:
    for report in reports:
        diagnosis = getattr(report, "erpwatch", {}).get("diagnosis")
        if report.failed and diagnosis:
            return Diagnosis.from_dict(diagnosis).headline
    return "failed"


def _one_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "failed"


def _message(report: pytest.TestReport, call: pytest.CallInfo[None]) -> str | None:
    if call.excinfo is None:
        return None
    value = call.excinfo.value
    if report.skipped:
        text = str(getattr(value, "msg", value))
    elif isinstance(value, AssertionError):
        # The author's message first; pytest's rewritten comparison is the tail.
        text = str(value) or call.excinfo.exconly()
    elif isinstance(value, pytest.fail.Exception):
        text = str(value.msg)
    elif isinstance(value, CallFailed):
        text = str(value)
    else:
        text = f"{type(value).__name__}: {value}"
    text = RECORDER.redactor.text(text)
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "…"


def _redact_report(report: pytest.TestReport) -> None:
    """Tracebacks and captured output can quote a secret; mask before anyone sees them."""
    redact = RECORDER.redactor.text
    if report.longrepr is not None:
        text = str(report.longrepr)
        masked = redact(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redact(content)) for title, content in report.sections]


class MonitorRun:
    def __init__(
        self, config: pytest.Config, settings: Settings, run_id: str, summary_path: Path
    ) -> None:
        self.config = config
        self.settings = settings
        self.run_id = run_id
        self.summary_path = summary_path
        self.started_at = datetime.now(UTC)
        self.results: dict[str, MonitorResult] = {}
        self.summary_written: Path | None = None
        self.alerting: AlertOutcome | None = None
        self.harness_error: str | None = None
        self.dashboard: Path | None = None
        self.heartbeat_error: str | None = None
        self.history_warnings: list[str] = []
        self.steps: list[StepResult] = []
        self.told: list[str] = []  # how the maintainers heard that a step broke
        self.plan: AlertPlan | None = None
        # Why the run stopped early (Ctrl+C, SIGTERM, the deadline), or None.
        self.interrupted: str | None = None
        self.overran = False  # stopped by the run deadline, not by a person
        self.running: pytest.Item | None = None  # the monitor being run, if any
        self.workers = Workers()  # under xdist, on the controller
        self.interruptions = Interruptions(on_terminate=self.workers.forward)
        self.deadline_at = time.time() + settings.run_deadline  # epoch: shared with workers

    def start(self) -> None:
        """Arm SIGTERM and the whole-run deadline (the controller a little later than workers)."""
        controller = (
            not hasattr(self.config, "workerinput")
            and getattr(self.config.option, "dist", "no") != "no"
        )
        grace = CONTROLLER_GRACE if controller else 0.0
        self.interruptions.install(self.deadline_at + grace - time.time())

    def stop(self) -> None:
        self.interruptions.uninstall()

    # -- worker side --------------------------------------------------------

    # The whole protocol, so a monitor that failed transiently can run once more
    # before anything is reported: only the last attempt's reports are logged.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool:
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        self.running = item
        reports = self._attempt(item, nextitem)
        retry = self._retry_decision(reports, item)
        if retry.retry:
            first = _first_failure(reports)
            time.sleep(retry.wait)
            item.stash[EXCHANGES_KEY] = []
            item.stash[LEFTOVERS_KEY] = [*item.stash.get(LEFTOVERS_KEY, [])]
            reports = self._attempt(item, nextitem)
            for report in reports:
                report.erpwatch["retried"] = f"{first} (retried: {retry.reason})"
        for report in reports:
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        self.running = None
        return True

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        error = excinfo.value
        if time.time() >= self.deadline_at:
            # Under xdist the workers meet the deadline first; the controller hears
            # only that a worker was interrupted.
            error = DeadlinePassed()
        self.interrupted = reason_of(error, self.settings.run_deadline / 60)
        self.overran = isinstance(error, DeadlinePassed)

    def _report_unfinished(self) -> None:
        """The monitor an interruption stopped: its fixtures were torn down when the
        session ended, outside any test report; report it, with what its cleanup left."""
        item, self.running = self.running, None
        if item is None or self.interrupted is None:
            return
        process, critical, _ = monitor_process(item, self.settings)
        report = pytest.TestReport(
            item.nodeid, item.location, {}, "passed", None, "teardown", [], 0.0
        )
        report.erpwatch = {  # type: ignore[attr-defined]
            "process": process,
            "critical": critical,
            "unfinished": self.interrupted,
            # A monitor still running at the deadline is a process too slow to finish:
            # news for the client, unlike a run someone stopped.
            "overran": self.overran,
            "leftovers": [asdict(x) for x in item.stash.get(LEFTOVERS_KEY, [])],
        }
        if hasattr(self.config, "workerinput"):
            # Sent to the controller as any report is (xdist's worker hook).
            self.config.hook.pytest_runtest_logreport(report=report)
        else:
            self.pytest_runtest_logreport(report)

    def _attempt(self, item: pytest.Item, nextitem: pytest.Item | None) -> list[pytest.TestReport]:
        RECORDER.start()
        try:
            return runtestprotocol(item, nextitem=nextitem, log=False)
        finally:
            RECORDER.stop()

    def _retry_decision(self, reports: list[pytest.TestReport], item: pytest.Item) -> RetryDecision:
        call = next((r for r in reports if r.when == "call"), None)
        if call is None or not call.failed or any(r.when == "setup" and r.failed for r in reports):
            return RetryDecision(False, "no failure of the monitor's own call")
        diagnosis = call.erpwatch.get("diagnosis")
        alerts = self.settings.alerts
        exchanges: list[Exchange] = item.stash.get(EXCHANGES_KEY, [])
        return retry_decision(
            Diagnosis.from_dict(diagnosis) if diagnosis else None,
            exchanges,
            alerts.retry_delay,
            alerts.retry_after_cap,
        )

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        only = self.settings.only_processes
        if not only:
            return
        chosen = [i for i in items if monitor_process(i, self.settings)[0] in only]
        if len(chosen) != len(items):
            config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
            items[:] = chosen

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        _, _, problem = monitor_process(item, self.settings)
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        permanent = item.get_closest_marker("leaves_records")
        if permanent is not None and self.settings.environment == "live":
            reason = (
                permanent.args[0] if permanent.args else "it leaves records that cannot be removed"
            )
            pytest.skip(f"not on a live ERP: {reason} (erpwatch.environment is live)")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        # This phase's exchanges; the next phase starts a fresh log.
        log = RECORDER.stop()
        RECORDER.start()
        report = yield
        process, critical, _ = monitor_process(item, self.settings)
        exchanges = item.stash.setdefault(EXCHANGES_KEY, [])
        exchanges.extend(log)
        payload: dict[str, Any] = {
            "process": process,
            "critical": critical,
            "exchanges": [exchange.to_dict() for exchange in log],
            "dropped": log.dropped,
            "message": _message(report, call),
        }
        diagnosis = self._diagnose(report, call, exchanges, process)
        if diagnosis is not None:
            payload["diagnosis"] = diagnosis.to_dict()
            self._add_to_html_report(
                report, diagnosis_html_of(self.settings, diagnosis, exchanges, process)
            )
        if call.when == "teardown" and exchanges:
            self._add_to_html_report(report, exchanges_html(exchanges))
        if call.when == "teardown":
            payload["leftovers"] = [asdict(x) for x in item.stash.get(LEFTOVERS_KEY, [])]
        _redact_report(report)
        # A plain dict attribute travels with the report from an xdist worker.
        report.erpwatch = payload  # type: ignore[attr-defined]
        return report

    def _diagnose(
        self,
        report: pytest.TestReport,
        call: pytest.CallInfo[None],
        exchanges: list[Exchange],
        process: str | None,
    ) -> Diagnosis | None:
        declared = self.settings.process(process) if process else None
        threshold = declared.latency_threshold if declared else None
        diagnosis = None
        if report.failed and call.excinfo is not None:
            diagnosis = classify(exchanges, describe_failure(call.excinfo.value), threshold)
        elif report.passed and call.when == "call":
            diagnosis = classify(exchanges, None, threshold)
        # What the dialects decoded from bodies is masked (and made safe) again.
        return diagnosis.masked(RECORDER.redactor.text) if diagnosis is not None else None

    def _add_to_html_report(self, report: pytest.TestReport, fragment: str) -> None:
        if not self.config.pluginmanager.hasplugin("html"):
            return
        from pytest_html import extras

        report.extras = [*getattr(report, "extras", []), extras.html(fragment)]  # type: ignore[attr-defined]

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(1, '<th class="sortable" data-column-type="process">Process</th>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        process = (getattr(report, "erpwatch", None) or {}).get("process") or ""
        declared = self.settings.process(process)
        cells.insert(1, f"<td>{html.escape(declared.title if declared else process)}</td>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_metadata(self, metadata: dict[str, Any], config: pytest.Config) -> None:
        """The report's environment table: erpwatch's facts, and no secret."""
        erp = self.settings.erp
        metadata["erpwatch"] = {
            "run": self.run_id,
            "environment": self.settings.environment,
            "ERP": RECORDER.redactor.url(erp.base_url) if erp else "not configured",
        }
        for key in list(metadata):
            if RECORDER.redactor.text(str(metadata[key])) != str(metadata[key]):
                metadata[key] = "[redacted]"

    # -- controller side ----------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = getattr(report, "erpwatch", None)
        if payload is None:
            return
        result = self.results.get(report.nodeid)
        if result is None:
            result = self.results[report.nodeid] = MonitorResult(
                nodeid=report.nodeid,
                name=report.nodeid.rpartition("::")[2],
                process=payload["process"],
                critical=payload["critical"],
            )
        result.add_phase(report.when, report.outcome, report.duration, payload)

    def run_result(self) -> RunResult:
        erp = self.settings.erp
        return RunResult(
            run_id=self.run_id,
            started_at=self.started_at.isoformat(timespec="seconds"),
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            environment=self.settings.environment,
            erp_base_url=RECORDER.redactor.url(erp.base_url) if erp else None,
            erp_sandbox=bool(erp and erp.sandbox),
            monitors=list(self.results.values()),
            titles={name: p.title for name, p in self.settings.processes.items()},
            run_url=ci_run_url(self.settings.env),
            interrupted=self.interrupted,
        )

    # Innermost wrapper: runs after every plain sessionfinish (so fixtures are torn
    # down and pytest-html's report exists), and before the terminal summary.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        # The monitors are over: the teardown and the finishing steps must all run.
        self.interruptions.disarm()
        if self.interrupted is not None and not hasattr(self.config, "workerinput"):
            # Before xdist ends the workers: what their cleanup reports.
            self.workers.drain(self.config, self.pytest_runtest_logreport)
        yield
        self._report_unfinished()
        if hasattr(self.config, "workerinput") or not (self.results or self.interrupted):
            return
        now = self.settings.alerts.fixed_now or datetime.now(UTC)
        run = self.run_result()
        html = getattr(self.config.option, "htmlpath", None)
        report_path = Path(html) if html else None
        self.steps = run_steps(
            [
                # The run result is on disk before any mail is tried: nothing is lost.
                Step("summary", lambda: self._write_summary(run)),
                Step("alerts", lambda: self._decide(run, now, report_path)),
                Step("mail", lambda: self._mail(run)),
                Step("history", lambda: self._append_history(run, now)),
                Step("dashboard", lambda: self._draw_dashboard(now)),
                Step("job summary", lambda: self._job_summary(run)),
            ],
            RECORDER.redactor.text,
        )
        broken = failed(self.steps)
        if broken:
            self.harness_error = f"{len(broken)} finishing step(s) of erpwatch failed"
            self.steps += run_steps(
                [Step("maintainers' mail", lambda: self._tell_maintainers(run, broken, now))],
                RECORDER.redactor.text,
            )
        self.steps += run_steps(
            [Step("heartbeat", lambda: self._heartbeat(run))], RECORDER.redactor.text
        )
        if self.interrupted is None and interrupted(self.steps):
            self.interrupted = "interrupted while finishing"
        if self.interrupted is not None:
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        elif failed(self.steps) and session.exitstatus in (0, 1):
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        # A live run that watched a critical process not at all is misconfigured,
        # not healthy: the schedule must not report it as a pass.
        unwatched = [p for p, _ in run.unmonitored() if p.critical]
        if self.settings.environment == "live" and unwatched and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR

    # -- the finishing steps, each run by run_steps on its own ----------------

    def _write_summary(self, run: RunResult) -> None:
        run.write(self.summary_path)
        self.summary_written = self.summary_path

    def _decide(self, run: RunResult, now: datetime, report_path: Path | None) -> None:
        from .alerts._lifecycle import decide_alerts

        self.plan = decide_alerts(run, self.settings, now, report_path)
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
        from .report import record_of

        record = record_of(run, now, run.mails)
        record["outcome"] = run.outcome  # interrupted runs are told apart from passes
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
        from .notify._harness import tell_maintainers

        context = RunContext(run.run_id, run.run_url, None, now)
        problems = [(step.line, step.detail or "") for step in broken]
        delivery = tell_maintainers(self.settings, context, problems)
        self.told.append(
            f"mail to {delivery.group}: {delivery.status}"
            + (f" ({delivery.error})" if delivery.error else "")
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

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        settings = self.settings
        lines = [
            f"erpwatch: run {self.run_id}, environment {settings.environment}, config {settings.config_path}"
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
        tryton = self.settings.tryton
        if tryton is not None:
            lines.append(
                f"erpwatch: Tryton {RECORDER.redactor.url(tryton.url)}, database {tryton.database!r}"
            )
        return lines

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(self.config, "workerinput") or not (self.results or self.interrupted):
            return
        result = self.run_result()
        write = terminalreporter.write_line
        terminalreporter.section("erpwatch")
        skipped = {m.nodeid for m in result.monitors if m.status is Status.SKIPPED}
        for process in result.processes:
            not_run = len(skipped.intersection(process.monitors))
            ran = len(process.monitors) - not_run
            counts = f"{ran} monitor(s)" + (f", {not_run} skipped" if not_run else "")
            write(f"{process.outcome.upper():8} {process.title} ({counts})")
        for monitor in result.monitors:
            diagnosis = monitor.diagnosis
            if diagnosis is not None:
                label = explain(diagnosis, self.settings.report_language).label
                write(f"  {monitor.nodeid}: [{label}] {_one_line(diagnosis.headline)}")
            for leftover in monitor.leftovers:
                write(f"  LEFTOVER {leftover.description} could not be removed: {leftover.error}")
        for monitor in result.monitors:
            if monitor.flaky:
                write(f"  FLAKY {monitor.nodeid}: passed on a second try; first: {monitor.retried}")
        for process, reason in result.unmonitored():
            write(f"WARNING {process.title} was not monitored: {reason}", yellow=True)
        if self.alerting is not None:
            from .notify import summary_lines

            if self.alerting.silenced:
                write(f"mail: failures are not mailed now: {self.alerting.silenced}")
            for warning in self.alerting.warnings:
                write(f"WARNING {warning}", yellow=True)
            for line in summary_lines(self.alerting.deliveries, self.settings):
                write(line, red=" NOT SENT " in line)
        if result.interrupted:
            write(f"INTERRUPTED {result.interrupted}: the run reports what it had", red=True)
        for step in self.steps:
            if step.status in (StepStatus.FAILED, StepStatus.INTERRUPTED):
                write(step.line, red=True)
        if self.told:
            write(f"erpwatch: the maintainers were told: {'; '.join(self.told)}", red=True)
        if self.heartbeat_error:
            write(f"WARNING {self.heartbeat_error}", yellow=True)
        for warning in self.history_warnings:
            write(f"WARNING {warning}", yellow=True)
        if self.summary_written is not None:
            write(f"run result: {self.summary_written}")
        if self.dashboard is not None:
            write(f"dashboard: {self.dashboard}")

"""One monitoring run: the pytest hooks of an active run, and nothing but wiring.

The run is a list of steps, each in its own module:

- collecting (``_collect``): which monitors run, which process each guards;
- running, on every worker (``_attempts``): each phase's exchanges, diagnosis and
  leftovers become a typed ``PhaseReport`` (``_payload``) on the test report, and a
  transient failure runs the monitor once more through pytest's public
  ``pytest_runtest_protocol`` hook;
- folding, on the controller (``_fold``): the reports become the run result;
- finishing (``_finishing``): summary.json, alerts, mail, history, dashboard,
  job summary, maintainers' mail, heartbeat, each on its own;
- the terminal (``_summary``): the header and the summary at the end.

SIGTERM and the whole-run deadline interrupt the run like Ctrl+C
(``_interrupt``); under xdist the controller passes SIGTERM on and reads its
workers' last reports (``_xdist``).
"""

from __future__ import annotations

import html
import time
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from . import _attempts, _collect, websites
from ._finishing import Finishing
from ._fold import Results
from ._interrupt import DeadlinePassed, Interruptions, reason_of
from ._payload import DamagedPayload, attach, read
from ._summary import header_lines, summary_lines
from ._terminal import shorten_failures
from ._xdist import Workers
from .capture import RECORDER
from .config import Settings
from .result import RunResult

# Workers stop at the deadline; the controller only this much later, so their
# reports (and leftovers) reach it first.
CONTROLLER_GRACE = 30.0


class MonitorRun:
    def __init__(
        self, config: pytest.Config, settings: Settings, run_id: str, summary_path: Path
    ) -> None:
        self.config = config
        self.settings = settings
        self.run_id = run_id
        self.started_at = datetime.now(UTC)
        self.results = Results()
        self.finishing = Finishing(settings, summary_path)
        # Why the run stopped early (Ctrl+C, SIGTERM, the deadline), or None.
        self.interrupted: str | None = None
        self.overran = False  # stopped by the run deadline, not by a person
        self.running: pytest.Item | None = None  # the monitor being run, if any
        self.workers = Workers()  # under xdist, on the controller
        self.interruptions = Interruptions(on_terminate=self.workers.forward)
        self.deadline_at = time.time() + settings.run_deadline  # epoch: shared with workers

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    def start(self) -> None:
        """Arm SIGTERM and the whole-run deadline (the controller a little later than workers)."""
        controller = not self.is_worker and getattr(self.config.option, "dist", "no") != "no"
        grace = CONTROLLER_GRACE if controller else 0.0
        self.interruptions.install(self.deadline_at + grace - time.time())
        # A hook of the same name as MonitorRun's own, at another place in the order.
        self.config.pluginmanager.register(FailureSummary(self), "erpwatch-failures")

    def stop(self) -> None:
        self.interruptions.uninstall()

    # -- collecting ---------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if websites.FIXTURE in metafunc.fixturenames:
            websites.parametrize(metafunc, self.settings)

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        args = [
            (config.invocation_params.dir / arg.split("::", 1)[0]).resolve() for arg in config.args
        ]
        problem = websites.not_collected(items, self.settings, args)
        if problem is not None:
            raise pytest.UsageError(f"erpwatch: {problem}")
        unconfigured = websites.unconfigured(items)
        chosen = [
            item for item in _collect.chosen(items, self.settings) if item not in unconfigured
        ]
        if len(chosen) != len(items):
            config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
            items[:] = chosen

    # -- running, on a worker -----------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        self.running = item
        RECORDER.start()
        try:
            outcome = yield  # pytest's protocol, or the plugin's that replaces it
        finally:
            RECORDER.stop()
        planned = _attempts.take_planned_retry(item)
        if planned is not None:
            time.sleep(planned.wait)
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        self.running = None
        return outcome

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        _collect.refuse_to_start(item, self.settings)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        # This phase's exchanges; the next phase starts a fresh log.
        log = RECORDER.stop()
        RECORDER.start()
        report = yield
        attach(report, _attempts.phase_report(item, report, call, log, self.settings))
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, Any] | None:
        if report.outcome == _attempts.RERUN:
            return "rerun", "R", ("RERUN", {"yellow": True})  # as pytest-rerunfailures says it
        return None

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        error = excinfo.value
        if time.time() >= self.deadline_at:
            # Under xdist the workers meet the deadline first; the controller hears
            # only that a worker was interrupted.
            error = DeadlinePassed()
        self.interrupted = reason_of(error, self.settings.run_deadline / 60)
        self.overran = isinstance(error, DeadlinePassed)

    def _report_unfinished(self) -> None:
        item, self.running = self.running, None
        if item is None or self.interrupted is None:
            return
        report = _attempts.unfinished_report(item, self.settings, self.interrupted, self.overran)
        if self.is_worker:
            # Sent to the controller as any report is (xdist's worker hook).
            self.config.hook.pytest_runtest_logreport(report=report)
        else:
            self.pytest_runtest_logreport(report)

    # -- the HTML report and its environment table ---------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(1, '<th class="sortable" data-column-type="process">Process</th>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        try:
            phase = read(report)
        except DamagedPayload:
            phase = None  # listed by the controller's fold; the row stays readable
        process = (phase.process if phase else None) or ""
        declared = self.settings.process(process)
        cells.insert(1, f"<td>{html.escape(declared.title if declared else process)}</td>")

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # pytest-html reads pytest-metadata's table at its (trylast) sessionstart;
        # pytest_metadata itself may be called before this run is registered.
        from .report._pytest_html import fill_environment

        table = _metadata_table(self.config)
        if table is not None:
            fill_environment(table, self.settings, self.run_id, RECORDER.redactor)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        from .report._pytest_html import title

        report.title = title(self.settings, self.run_id)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        from .report._pytest_html import summary_lines

        prefix.extend(summary_lines(self.settings, self.started_at, datetime.now(UTC)))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        from .report._pytest_html import row_log

        row_log(report, data, self.settings.report_language, RECORDER.redactor)

    # -- folding and finishing, on the controller ----------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.results.fold(report, RECORDER.redactor.text)

    def run_result(self) -> RunResult:
        erp = self.settings.erp
        return self.results.run_result(
            run_id=self.run_id,
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            environment=self.settings.environment,
            erp_base_url=RECORDER.redactor.url(erp.base_url) if erp else None,
            erp_sandbox=bool(erp and erp.sandbox),
            titles={name: p.title for name, p in self.settings.processes.items()},
            env=self.settings.env,
            interrupted=self.interrupted,
        )

    def _has_anything_to_report(self) -> bool:
        return not self.is_worker and bool(
            self.results.monitors or self.results.problems or self.interrupted
        )

    # Innermost wrapper: runs after every plain sessionfinish (so fixtures are torn
    # down and pytest-html's report exists), and before the terminal summary.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        # The monitors are over: the teardown and the finishing steps must all run.
        self.interruptions.disarm()
        if self.interrupted is not None and not self.is_worker:
            # Before xdist ends the workers: what their cleanup reports.
            self.workers.drain(self.config, self.pytest_runtest_logreport)
        yield
        self._report_unfinished()
        if not self._has_anything_to_report():
            return
        html_path = getattr(self.config.option, "htmlpath", None)
        session.exitstatus = self.finishing.run(
            self.run_result(),
            Path(html_path) if html_path else None,
            session.exitstatus,
            self.results.problems,
        )

    # -- the terminal --------------------------------------------------------

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        return header_lines(self.settings, self.run_id)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self._has_anything_to_report():
            return
        terminalreporter.section("erpwatch")
        for line in summary_lines(self.run_result(), self.finishing, self.settings):
            terminalreporter.write_line(line.text, **line.markup)


def _metadata_table(config: pytest.Config) -> dict[str, Any] | None:
    """pytest-metadata's environment table, when that plugin (pytest-html's) is there."""
    try:
        from pytest_metadata.plugin import metadata_key  # type: ignore[import-untyped]
    except ImportError:
        return None
    table: dict[str, Any] | None = config.stash.get(metadata_key, None)
    return table


class FailureSummary:
    """Before pytest prints its failure summary (the outermost wrapper, so ahead
    of the terminal reporter's): the failures as erpwatch shows them by default."""

    def __init__(self, run: MonitorRun) -> None:
        self.run = run

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Generator[None, None, None]:
        if not self.run.is_worker:
            shorten_failures(
                terminalreporter.stats, self.run.config, self.run.settings.report_language
            )
        yield

"""The controller's part of a run: folding the monitors' reports into the run result.

Every phase report that carries erpwatch's payload (from an xdist worker, or
from this process without xdist) is read as a ``PhaseReport`` and folded into
its monitor's ``MonitorResult``. When a monitor runs again (erpwatch's retry, or
another plugin's re-run) its result starts over from the new attempt: the
earlier attempt's exchanges, duration and failure are not counted twice, but
the synthetic records it left behind are kept. A payload that cannot be read
is listed as a problem, not a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from ._payload import DamagedPayload, PhaseReport, read
from ._vocabulary import Outcome, Phase
from .result import MonitorResult, RunResult, overran


@dataclass
class Results:
    monitors: dict[str, MonitorResult] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # payloads that could not be read

    def fold(self, report: pytest.TestReport, redact: Callable[[str], str]) -> None:
        try:
            phase = read(report)
        except DamagedPayload as error:
            self.problems.append(
                redact(
                    f"the {report.when} report of {report.nodeid} carries a payload "
                    f"erpwatch cannot read: {error}"
                )
            )
            return
        if phase is None:
            return
        result = self.monitors.get(report.nodeid)
        if result is None or phase.attempt > self.attempts.get(report.nodeid, 1):
            result = self._start(report.nodeid, phase, result)
        add_phase(result, report.when, report.outcome, report.duration, phase)

    def _start(
        self, nodeid: str, phase: PhaseReport, earlier: MonitorResult | None
    ) -> MonitorResult:
        result = self.monitors[nodeid] = MonitorResult(
            nodeid=nodeid,
            name=nodeid.rpartition("::")[2],
            process=phase.process,
            critical=phase.critical,
        )
        if earlier is not None:
            result.leftovers.extend(earlier.leftovers)
        self.attempts[nodeid] = phase.attempt
        return result

    def run_result(
        self,
        run_id: str,
        started_at: datetime,
        finished_at: datetime,
        environment: str,
        erp_base_url: str | None,
        erp_sandbox: bool,
        titles: dict[str, str],
        env: Mapping[str, str],
        interrupted: str | None,
    ) -> RunResult:
        return RunResult(
            run_id=run_id,
            started_at=started_at.isoformat(timespec="seconds"),
            finished_at=finished_at.isoformat(timespec="seconds"),
            environment=environment,
            erp_base_url=erp_base_url,
            erp_sandbox=erp_sandbox,
            monitors=list(self.monitors.values()),
            titles=titles,
            run_url=ci_run_url(env),
            interrupted=interrupted,
        )


def add_phase(
    result: MonitorResult, when: str, outcome: str, duration: float, phase: PhaseReport
) -> None:
    """Fold one phase's test report (setup, call, teardown; pytest's words for the
    phase and its outcome) into the result."""
    if outcome == "rerun":
        # A superseded attempt's failure: failed, until the next attempt starts over.
        outcome = "failed"
    said = Outcome(outcome)
    result.duration += duration
    result.exchanges.extend(phase.exchanges)
    result.exchanges_dropped += phase.dropped
    result.leftovers.extend(phase.leftovers)
    if phase.unfinished and result.outcome in (Outcome.PASSED, Outcome.SKIPPED):
        # Whatever its phases said so far, it did not get to the end.
        result.outcome = Outcome.UNFINISHED
        result.degraded = False
        result.message = f"not finished: {phase.unfinished}"
        if phase.overran:
            result.diagnosis = overran(phase.unfinished, result.exchanges)
    if said is Outcome.SKIPPED and result.outcome is Outcome.PASSED:
        result.outcome = Outcome.SKIPPED
        result.message = phase.message
    if phase.retried:
        result.retried = phase.retried
        result.flaky = said is not Outcome.FAILED and result.outcome is not Outcome.FAILED
    diagnosis = phase.diagnosis
    if said is Outcome.PASSED and diagnosis is not None and result.outcome is Outcome.PASSED:
        result.diagnosis = diagnosis
        result.degraded = True
    if said is Outcome.FAILED and result.outcome is not Outcome.FAILED:
        result.flaky = False
        result.outcome = Outcome.FAILED
        result.degraded = False
        result.failed_phase = Phase(when)
        result.message = phase.message
        result.diagnosis = diagnosis
        result.failing_exchange = diagnosis.exchange_index if diagnosis else None


def ci_run_url(env: Mapping[str, str]) -> str | None:
    """The GitHub Actions run this is, so a mail can link to it."""
    keys = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    if not all(env.get(key) for key in keys):
        return None
    return (
        f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    )

"""Running a monitor on a worker: its phase reports, and one retry after a transient failure.

Each phase's report gets a ``PhaseReport``: the phase's recorded exchanges, the
diagnosis, the failure message and, on the teardown, the synthetic records its
cleanup could not remove. Secrets are masked before any other plugin sees it.

A retry runs the whole test protocol again through pytest's public hook
(``item.ihook.pytest_runtest_protocol``), as pytest-rerunfailures does, so the
protocol stays pytest's own. The attempt that is retried is logged as it
happens, with its failed reports' outcome set to ``rerun`` (the word
pytest-rerunfailures, pytest-html and xdist already know): it counts as no
failure, and the controller keeps only the last attempt, plus every attempt's
leftovers. Attempts are counted on setup, so a re-run by another plugin is
recognised the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from ._calls import CallFailed
from ._collect import Guard, guard_of
from ._payload import PhaseReport, attach
from ._terminal import render
from .alerts import RetryDecision, retry_decision
from .capture import RECORDER, Exchange, ExchangeLog
from .config import Settings
from .diagnosis import Diagnosis, classify, describe_failure
from .report import diagnosis_html, exchanges_html
from .synthetic import Leftover

RERUN = "rerun"  # the outcome of a superseded attempt's failed report
MAX_MESSAGE_CHARS = 2000

# Added to by the synthetic fixture's cleanup; taken by the attempt's teardown report.
LEFTOVERS_KEY = pytest.StashKey[list[Leftover]]()
EXCHANGES_KEY = pytest.StashKey[list[Exchange]]()  # this attempt's, for the diagnosis
ATTEMPT_KEY = pytest.StashKey[int]()
FAILURE_KEY = pytest.StashKey[str]()  # the first failure of the monitor, one line
RETRIED_KEY = pytest.StashKey[str]()  # said on every report of the later attempts
PLANNED_KEY = pytest.StashKey["PlannedRetry"]()
# Set by a monitor for its attempt: its own latency threshold, over its process's
# (one address of several), and a finding that makes a pass degraded (a TLS
# certificate close to expiry), as a slow call does.
THRESHOLD_KEY = pytest.StashKey[float]()
WARNING_KEY = pytest.StashKey[Diagnosis]()


@dataclass(frozen=True)
class PlannedRetry:
    wait: float  # seconds before the next attempt
    note: str  # the first failure, and why it is retried


def phase_report(
    item: pytest.Item,
    report: pytest.TestReport,
    call: pytest.CallInfo[None],
    log: ExchangeLog,
    settings: Settings,
) -> PhaseReport:
    """The payload of one phase's report; also masks the report and, on a failure
    erpwatch may retry, plans the retry and marks the report as superseded."""
    if call.when == "setup":
        item.stash[ATTEMPT_KEY] = item.stash.get(ATTEMPT_KEY, 0) + 1
        item.stash[EXCHANGES_KEY] = []
        if WARNING_KEY in item.stash:
            del item.stash[WARNING_KEY]  # the earlier attempt's
    attempt = item.stash.get(ATTEMPT_KEY, 1)
    guard = guard_of(item, settings)
    exchanges = item.stash.setdefault(EXCHANGES_KEY, [])
    exchanges.extend(log)
    diagnosis = _diagnose(item, report, call, exchanges, guard.process, settings)
    if diagnosis is not None:
        _add_to_html_report(item, report, _diagnosis_html(settings, diagnosis, exchanges, guard))
    leftovers: list[Leftover] = []
    if call.when == "teardown":
        if exchanges:
            _add_to_html_report(
                item,
                report,
                exchanges_html(exchanges, settings.timezone, settings.report_language),
            )
        # This attempt's: a later attempt reports its own.
        leftovers, item.stash[LEFTOVERS_KEY] = item.stash.get(LEFTOVERS_KEY, []), []
    _redact_report(report)
    if report.failed and FAILURE_KEY not in item.stash:
        item.stash[FAILURE_KEY] = _one_line(diagnosis.headline if diagnosis else "failed")
    if attempt > 1 and RETRIED_KEY not in item.stash:
        # Run again by another plugin (pytest-rerunfailures): say so as erpwatch would.
        item.stash[RETRIED_KEY] = f"{item.stash.get(FAILURE_KEY, 'failed')} (run again)"
    if call.when == "call":
        _plan_retry(item, report, diagnosis, exchanges, settings)
    if report.failed and PLANNED_KEY in item.stash:
        report.outcome = RERUN  # type: ignore[assignment]
    return PhaseReport(
        process=guard.process,
        critical=guard.critical,
        attempt=attempt,
        exchanges=tuple(log),
        dropped=log.dropped,
        message=_message(report, call),
        diagnosis=diagnosis,
        leftovers=tuple(leftovers),
        retried=item.stash.get(RETRIED_KEY, None) if attempt > 1 else None,
        pointer=_pointer(item, report, call),
    )


def take_planned_retry(item: pytest.Item) -> PlannedRetry | None:
    """The retry the attempt that just ended asked for, if any; once."""
    planned = item.stash.get(PLANNED_KEY, None)
    if planned is not None:
        del item.stash[PLANNED_KEY]
        item.stash[RETRIED_KEY] = planned.note
    return planned


def unfinished_report(
    item: pytest.Item, settings: Settings, why: str, overran: bool
) -> pytest.TestReport:
    """The report of a monitor an interruption stopped: its fixtures were torn down
    when the session ended, outside any test report, with what its cleanup left.
    ``overran``: the run deadline stopped it, a process too slow to finish (news
    for the client, unlike a run someone stopped)."""
    guard = guard_of(item, settings)
    leftovers: list[Leftover] = item.stash.get(LEFTOVERS_KEY, [])
    report = pytest.TestReport(item.nodeid, item.location, {}, "passed", None, "teardown", [], 0.0)
    attach(
        report,
        PhaseReport(
            process=guard.process,
            critical=guard.critical,
            attempt=item.stash.get(ATTEMPT_KEY, 1),
            leftovers=tuple(leftovers),
            unfinished=why,
            overran=overran,
        ),
    )
    return report


def _plan_retry(
    item: pytest.Item,
    report: pytest.TestReport,
    diagnosis: Diagnosis | None,
    exchanges: list[Exchange],
    settings: Settings,
) -> None:
    # One retry of erpwatch's own; never when the session is stopping (-x, maxfail).
    if not report.failed or RETRIED_KEY in item.stash:
        return
    if item.session.shouldstop or item.session.shouldfail:
        return
    alerts = settings.alerts
    decision: RetryDecision = retry_decision(
        diagnosis, exchanges, alerts.retry_delay, alerts.retry_after_cap
    )
    if decision.retry:
        first = _one_line(diagnosis.headline if diagnosis is not None else "failed")
        item.stash[PLANNED_KEY] = PlannedRetry(
            decision.wait, f"{first} (retried: {decision.reason})"
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _pointer(
    item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[None]
) -> str | None:
    """The failure as the terminal shows it by default, masked like the report."""
    if not report.failed or call.excinfo is None:
        return None
    pointer = render(call.excinfo, item.config)
    return RECORDER.redactor.text(pointer) if pointer is not None else None


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


def _diagnose(
    item: pytest.Item,
    report: pytest.TestReport,
    call: pytest.CallInfo[None],
    exchanges: list[Exchange],
    process: str | None,
    settings: Settings,
) -> Diagnosis | None:
    declared = settings.process(process) if process else None
    threshold = item.stash.get(THRESHOLD_KEY, declared.latency_threshold if declared else None)
    diagnosis = None
    if report.failed and call.excinfo is not None:
        diagnosis = classify(exchanges, describe_failure(call.excinfo.value), threshold)
    elif report.passed and call.when == "call":
        # The monitor's own warning first: a certificate to renew outweighs a slow call.
        diagnosis = item.stash.get(WARNING_KEY, None) or classify(exchanges, None, threshold)
    if diagnosis is None:
        return None
    diagnosis = replace(diagnosis, party=settings.party_of(diagnosis.url))
    # What the dialects decoded from bodies is masked (and made safe) again.
    return diagnosis.masked(RECORDER.redactor.text)


def _diagnosis_html(
    settings: Settings, diagnosis: Diagnosis, exchanges: list[Exchange], guard: Guard
) -> str:
    process = guard.process
    declared = settings.process(process) if process else None
    title = declared.title if declared else (process or "")
    return diagnosis_html(diagnosis, exchanges, title, settings.report_language)


def _add_to_html_report(item: pytest.Item, report: pytest.TestReport, fragment: str) -> None:
    if not item.config.pluginmanager.hasplugin("html"):
        return
    from pytest_html import extras

    report.extras = [*getattr(report, "extras", []), extras.html(fragment)]  # type: ignore[attr-defined]

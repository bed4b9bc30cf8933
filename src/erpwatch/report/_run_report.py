"""erpwatch's own run report, one self-contained page per language: what a mail
attaches for its group. pytest-html's report.html is in the report language
only; this page is rendered from the run result for every language a group
reads: the processes, each monitor's status, the diagnosis and the calls,
times in the configured zone, and the monitor's failure text folded away for
the developer. No script, no external file: it opens from a mail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from .. import __version__
from .._files import write_atomically
from .._vocabulary import Outcome, Status
from ..config import Settings
from ..redact import Redactor
from ..result import MonitorResult, RunResult
from ._labels import local_moment, report_words, status_key
from ._pytest_html import erp_facts
from ._render import diagnosis_html, environment, exchanges_html


@dataclass(frozen=True)
class MonitorView:
    """One monitor as the page shows it; the HTML parts are already rendered and escaped."""

    nodeid: str
    process: str
    status: Status
    status_word: str
    skipped: str | None
    retried: str | None
    diagnosis: Markup
    calls: Markup
    leftovers: tuple[str, ...]
    technical: str | None


@dataclass(frozen=True)
class ProcessView:
    title: str
    status: Status
    status_word: str


def report_name(language: str) -> str:
    """``report.nl.html``: the file name of the run report in ``language``."""
    return f"report.{language}.html"


def languages_to_report(settings: Settings) -> list[str]:
    """The report language and every mail group's language, each once."""
    codes = [settings.report_language, *(g.language for g in settings.mail.groups.values())]
    return list(dict.fromkeys(codes))


def render_run_report(run: RunResult, settings: Settings, language: str, redactor: Redactor) -> str:
    words = report_words(language)
    zone = settings.timezone

    def title_of(process: str | None) -> str:
        declared = settings.process(process or "")
        if declared is not None:
            return declared.title_in(language)
        return run.titles.get(process or "", process or "")

    facts = [
        (words["run"], run.run_id),
        (words["environment"], run.environment),
        *erp_facts(settings, redactor, language),
        (words["version"], __version__),
        (words["started"], f"{local_moment(run.started_at, zone, language)} ({zone})"),
        (words["finished"], f"{local_moment(run.finished_at, zone, language)} ({zone})"),
    ]
    if run.erp_base_url is not None:
        # What the run itself recorded (already masked) wins over the settings.
        facts = [(k, run.erp_base_url if k == words["erp"] else v) for k, v in facts]

    def process_word(name: str, status: Status) -> str:
        degraded = [m for m in run.monitors if m.process == name and m.status is Status.DEGRADED]
        categories = [m.diagnosis.category.value if m.diagnosis else None for m in degraded]
        return words[f"status_{status_key(status.value, categories)}"]

    processes = [
        ProcessView(title_of(p.name), p.outcome, process_word(p.name, p.outcome))
        for p in run.processes
    ]
    monitors = [_view(m, title_of(m.process), settings, language) for m in _ordered(run.monitors)]
    return (
        environment()
        .get_template("run_report.html.j2")
        .render(
            language=language,
            title=words["title"].format(environment=run.environment, run_id=run.run_id),
            words=words,
            facts=facts,
            interrupted=words["interrupted"].format(why=run.interrupted)
            if run.interrupted
            else None,
            processes=processes,
            monitors=monitors,
        )
    )


def _ordered(monitors: Iterable[MonitorResult]) -> list[MonitorResult]:
    """The broken ones first: what a reader opened the report for."""
    rank = {Status.FAILED: 0, Status.UNFINISHED: 1, Status.DEGRADED: 2, Status.PASSED: 3}
    return sorted(monitors, key=lambda m: (rank.get(m.status, 4), m.process or "", m.nodeid))


def _view(monitor: MonitorResult, title: str, settings: Settings, language: str) -> MonitorView:
    words = report_words(language)
    skipped = monitor.outcome is Outcome.SKIPPED
    reason = (monitor.message or "").removeprefix("Skipped: ")
    diagnosis = (
        Markup(diagnosis_html(monitor.diagnosis, monitor.exchanges, title, language))
        if monitor.diagnosis is not None and monitor.status is not Status.PASSED
        else Markup("")
    )
    calls = (
        Markup(exchanges_html(monitor.exchanges, settings.timezone, language))
        if monitor.exchanges
        else Markup("")
    )
    return MonitorView(
        nodeid=monitor.nodeid,
        process=title,
        status=monitor.status,
        status_word=words[
            "status_"
            + status_key(
                monitor.status.value,
                [monitor.diagnosis.category.value if monitor.diagnosis else None],
            )
        ],
        skipped=words["skipped"].format(reason=reason) if skipped else None,
        retried=words["retried"].format(first=monitor.retried) if monitor.retried else None,
        diagnosis=diagnosis,
        calls=calls,
        leftovers=tuple(
            words["leftover"].format(description=x.description, error=x.error)
            for x in monitor.leftovers
        ),
        technical=monitor.message if not skipped else None,
    )


def write_run_reports(
    run: RunResult, settings: Settings, redactor: Redactor, directory: Path
) -> Mapping[str, Path]:
    """The run report in every language a reader needs, next to report.html."""
    written = {}
    for language in languages_to_report(settings):
        path = directory / report_name(language)
        write_atomically(path, render_run_report(run, settings, language, redactor))
        written[language] = path
    return written

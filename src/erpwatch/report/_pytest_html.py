"""What erpwatch puts into pytest-html's report.html, through pytest-html 4's own
hooks: the title, the environment table (pytest-metadata's), the summary's
times, and each row's log. The hooks in ``_run`` only call these.

The words are the report language's (``erpwatch.report_language``); times are
in the configured time zone and say which one."""

from __future__ import annotations

import html
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

import pytest

from .. import __version__
from ..config import Settings
from ..redact import Redactor
from ._labels import local_moment, report_words

REDACTED = "[redacted]"


def erp_facts(settings: Settings, redactor: Redactor, language: str) -> list[tuple[str, str]]:
    """Which ERP the run watched: its address without credentials, and what it speaks."""
    words = report_words(language)
    erp = settings.erp
    rows = [
        (words["erp"], redactor.url(erp.base_url) if erp else words["not_configured"]),
    ]
    if erp is not None:
        rows.append((words["erp_kind"], words["sandbox" if erp.sandbox else "business_central"]))
    if settings.tryton is not None:
        rows.append((words["tryton"], redactor.url(settings.tryton.url)))
    return rows


def run_facts(
    settings: Settings, run_id: str, redactor: Redactor, language: str
) -> list[tuple[str, str]]:
    """The facts a reader needs first: which run, where, against which ERP."""
    words = report_words(language)
    return [
        (words["run"], run_id),
        (words["environment"], settings.environment),
        *erp_facts(settings, redactor, language),
        (words["version"], __version__),
        (words["timezone"], settings.timezone),
    ]


def title(settings: Settings, run_id: str) -> str:
    words = report_words(settings.report_language)
    return words["title"].format(environment=settings.environment, run_id=run_id)


def fill_environment(
    metadata: MutableMapping[str, Any], settings: Settings, run_id: str, redactor: Redactor
) -> None:
    """erpwatch's facts first; pytest-metadata's (Python, Platform, Packages,
    Plugins, CI variables) after them, with any configured secret masked."""
    theirs = {
        key: REDACTED if redactor.text(str(value)) != str(value) else value
        for key, value in metadata.items()
    }
    metadata.clear()
    metadata.update(run_facts(settings, run_id, redactor, settings.report_language))
    metadata.update({k: v for k, v in theirs.items() if k not in metadata})


def summary_lines(settings: Settings, started_at: datetime, finished_at: datetime) -> list[str]:
    """When the run started and ended, on the reader's clock, naming the zone."""
    language = settings.report_language
    words = report_words(language)
    return [
        "<p>"
        + html.escape(
            words[key].format(
                moment=local_moment(moment, settings.timezone, language),
                timezone=settings.timezone,
            )
        )
        + "</p>"
        for key, moment in (("started_line", started_at), ("finished_line", finished_at))
    ]


def skip_reason(report: pytest.TestReport) -> str:
    """The reason a monitor was skipped, as pytest was given it."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return str(reason).removeprefix("Skipped: ")


def row_log(report: pytest.TestReport, data: list[str], language: str, redactor: Redactor) -> None:
    """A skipped monitor's log says why as a sentence; a failed one's traceback and
    output are folded away (a closed ``<details>``) below the diagnosis and calls.
    ``data`` is pytest-html's list of already-escaped log parts, changed in place."""
    words = report_words(language)
    if report.skipped:
        sentence = words["skipped"].format(reason=redactor.text(skip_reason(report)))
        data[:] = [html.escape(sentence)]
    elif report.failed and data:
        folded = "\n".join(data)
        data[:] = [
            '<details class="erpwatch-traceback"><summary style="font-family:system-ui,'
            f'sans-serif;cursor:pointer">{html.escape(words["traceback"])}</summary>'
            f"{folded}</details>"
        ]

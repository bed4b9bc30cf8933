"""The month told to one group: in its language and time zone, as a subject,
a plain text, a phone-readable HTML mail and a CSV of the outages. One
template set; the language brings only its words ([monthly] in languages/).

Everything quoted from the history (the ERP's words, a failing call, a mail's
subject) is untrusted: masked again for the configured secrets, clipped,
escaped in HTML, and defused in the CSV where a spreadsheet would run it."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from .._words import (
    duration_text,
    local_time,
    one_line,
    run_marks,
    seconds_text,
    words_of,
    words_table,
)
from ..config import Group, Settings
from ..notify._wording import title_of
from ..redact import Redactor
from ._compute import MAILS_LISTED
from ._model import MonthReport, Outage, ProcessMonth

QUOTE_LIMIT = 300
OUTAGES_LISTED = 10  # per process in the mail; the CSV has every one


@dataclass(frozen=True)
class MonthlyMessage:
    subject: str
    text: str
    html: str
    csv: str  # the outages, one row each


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("erpwatch.monthly", "templates"),
        autoescape=autoescape,  # on for HTML: the ERP's words are escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def zone_of(group: Group, settings: Settings) -> str:
    return group.timezone or settings.timezone


def month_name(month: str, language: str) -> str:
    """``november 2026`` / ``November 2026``."""
    year, number = (int(part) for part in month.split("-"))
    names = words_table(language, "monthly")["months"].split(",")
    return f"{names[number - 1]} {year}"


def percent(value: float | None, language: str) -> str:
    """``99.72 %``: cut, not rounded, so 99.996 never reads as 100 %."""
    if value is None:
        return "–"
    text = "100" if value >= 100 else f"{int(value * 100) / 100:.2f}"
    return f"{text} %".replace(".", words_of(language).decimal_separator)


class _Teller:
    """Moments, spans and quotes in one group's language and zone."""

    def __init__(self, language: str, timezone: str, secrets: Sequence[str]) -> None:
        self.language, self.timezone = language, timezone
        self.words = words_table(language, "monthly")
        self.masked = Redactor(secrets)

    def moment(self, at: datetime | None) -> str:
        return "" if at is None else local_time(at, self.timezone, self.language)

    def until(self, start: datetime, end: datetime) -> str:
        """The end of a span: its time alone when it is the same day."""
        zone = ZoneInfo(self.timezone)
        if start.astimezone(zone).date() == end.astimezone(zone).date():
            return f"{end.astimezone(zone):%H:%M}"
        return self.moment(end)

    def span(self, length: timedelta | None) -> str:
        if length is None:
            return ""
        return duration_text(max(length.total_seconds(), 0), self.language)

    def quote(self, text: object) -> str:
        if not isinstance(text, str) or not text:
            return ""
        return one_line(self.masked.text(text), QUOTE_LIMIT)


def _outage(o: Outage, tell: _Teller, until: datetime) -> dict[str, Any]:
    w = tell.words
    return {
        "start": tell.moment(o.start),
        "end": tell.until(o.start, o.end) if o.end else w["still_failing"],
        "duration": tell.span(o.duration(until)),
        "failed_call": tell.quote(o.failed_call),
        "answer": tell.quote(o.answer),
        "said": tell.quote(o.erp_words),
        "detected": w["not_mailed"]
        if o.detected_after is None
        else w["at_once"]
        if o.detected_after < timedelta(minutes=1)
        else tell.span(o.detected_after),
        "recovered": tell.span(o.recovered_after),
        "maintenance": o.maintenance,
    }


def _process(p: ProcessMonth, settings: Settings, tell: _Teller, until: datetime) -> dict[str, Any]:
    w, language = tell.words, tell.language
    threshold = seconds_text(p.threshold_ms / 1000, language) if p.threshold_ms else ""
    return {
        "title": title_of(p.process, settings.process(p.process), language),
        "availability": percent(p.availability, language),
        "checks": w["checks"].format(passed=p.passed, checks=p.checks)
        if p.checks
        else w["no_checks"],
        "retried": w["retried"].format(count=p.retried) if p.retried else "",
        "maintenance": w["maintenance"].format(count=p.maintenance) if p.maintenance else "",
        "downtime": tell.span(p.downtime) if p.downtime else "",
        "outages": [_outage(o, tell, until) for o in p.outages[:OUTAGES_LISTED]],
        "more_outages": w["more_outages"].format(count=len(p.outages) - OUTAGES_LISTED)
        if len(p.outages) > OUTAGES_LISTED
        else "",
        "unstable": [
            {
                "start": tell.moment(s.start),
                "end": tell.moment(s.end) if s.end else w["still_unstable"],
                "pattern": run_marks(s.pattern),
            }
            for s in p.unstable
        ],
        "slowest": [
            {
                "call": tell.quote(s.call),
                "took": f"{s.ms:.0f} ms" if s.ms < 1000 else seconds_text(s.ms / 1000, language),
                "at": tell.moment(s.at),
                "over": s.over(p.threshold_ms),
            }
            for s in p.slowest
        ],
        "threshold": w["agreed"].format(threshold=threshold) if threshold else w["no_threshold"],
        "slower_checks": w["slower_checks"].format(count=p.slower_than_threshold)
        if p.slower_than_threshold
        else "",
    }


def _summary(report: MonthReport, words: Mapping[str, str], language: str) -> str:
    outages = [o for o in report.outages if not o.maintenance]
    if not outages:
        return words["summary_clean"]
    checks = sum(p.checks for p in report.processes)
    passed = sum(p.passed for p in report.processes)
    overall = None if not checks else 100 * passed / checks
    which = "summary_outage" if len(outages) == 1 else "summary_outages"
    return words[which].format(count=len(outages), availability=percent(overall, language))


def render_month(
    report: MonthReport, group: Group, settings: Settings, secrets: Sequence[str] = ()
) -> MonthlyMessage:
    """The report as ``group`` reads it; ``secrets``: values to mask besides the
    configured ones (a fleet client's values from CI secrets)."""
    language = group.language
    secrets = (*settings.secrets, *secrets)
    tell = _Teller(language, report.timezone, secrets)
    words = tell.words
    until = min(report.made_at, report.end)
    name = month_name(report.month, language)
    groups = settings.mail.groups
    context = {
        "w": words,
        "colon": words_of(language).words["colon"],
        "quote_open": words_of(language).words["quote_open"],
        "quote_close": words_of(language).words["quote_close"],
        "title": words["title"].format(month=name),
        "intro": words["intro"].format(month=name, timezone=report.timezone),
        "coverage": words["coverage_one" if report.runs == 1 else "coverage"].format(
            runs=report.runs, first=tell.moment(report.first_run), last=tell.moment(report.last_run)
        )
        if report.runs
        else words["no_runs"],
        # Made before the month ended where this group lives: say up to when.
        "partial": words["partial"].format(until=tell.moment(report.made_at))
        if report.made_at < report.end
        else "",
        "processes": [_process(p, settings, tell, until) for p in report.processes],
        "mails": [
            {
                "at": tell.moment(m.at),
                "group": groups[m.group].name if m.group in groups else tell.quote(m.group),
                "subject": tell.quote(m.subject),
                "status": words.get(f"status_{m.status}") or tell.quote(m.status),
                "channel": "" if m.channel == "mail" else tell.quote(m.channel),
            }
            for m in report.mails[:MAILS_LISTED]
        ],
        "more_mails": words["more_mails"].format(count=len(report.mails) - MAILS_LISTED)
        if len(report.mails) > MAILS_LISTED
        else "",
        "recipients": [
            # A chat-only group: its channel's kind ("slack"), never the webhook's address.
            (g.name, g.reached_at)
            for g in groups.values()
            if report.groups is None or g.key in report.groups
        ],
        "attached": bool(report.outages),
        "language": language,
    }
    subject = words["subject"].format(month=name, summary=_summary(report, words, language))
    return MonthlyMessage(
        subject=" ".join(subject.split()),
        text=_environment(False).get_template("monthly.txt.j2").render(context),
        html=_environment(True).get_template("monthly.html.j2").render(context),
        csv=outages_csv(report, group, secrets),
    )


CSV_COLUMNS = (
    "process",
    "start",
    "end",
    "duration_minutes",
    "downtime_minutes",
    "planned_maintenance",
    "failing_checks",
    "detected_after_minutes",
    "recovered_after_minutes",
    "failing_call",
    "answer",
    "erp_said",
)


def _cell(value: object) -> str:
    """A spreadsheet runs a cell that starts with = + - @ (or a tab or CR) as a
    formula: an ERP's words must stay words."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _minutes(length: timedelta | None) -> str:
    return "" if length is None else str(round(length.total_seconds() / 60))


def outages_csv(report: MonthReport, group: Group, secrets: Sequence[str]) -> str:
    """Every outage of the month, one row each, times in the group's zone (ISO
    8601 with offset); the separator a spreadsheet in that language expects."""
    tell = _Teller(group.language, report.timezone, secrets)
    zone = ZoneInfo(report.timezone)
    until = min(report.made_at, report.end)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=tell.words["csv_separator"], lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for o in report.outages:
        writer.writerow(
            _cell(v)
            for v in (
                o.process,
                o.start.astimezone(zone).isoformat(timespec="minutes"),
                o.end.astimezone(zone).isoformat(timespec="minutes") if o.end else "",
                _minutes(o.duration(until)),
                _minutes(o.downtime),
                "yes" if o.maintenance else "no",
                o.runs,
                _minutes(o.detected_after),
                _minutes(o.recovered_after),
                tell.quote(o.failed_call),
                tell.quote(o.answer),
                tell.quote(o.erp_words),
            )
        )
    return "\ufeff" + out.getvalue()  # the BOM: Excel then reads the file as UTF-8

"""The status dashboard (reports/index.html): how the integration has been doing,
and what is wrong now, from the run history. One static page: no network, no
JavaScript, readable from an unzipped artifact, GitHub Pages or a phone.

It reads the same after one run as after ninety days: every count says its
noun in the right number, every chart says what a point is and what its axis
measures, a single run is a visible point, and nothing is wider than a phone.
The words come from the ``[dashboard]`` table of the report language's file."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .._files import write_atomically
from .._vocabulary import DeliveryStatus, Status
from .._words import duration_text, local_time, unstable_pattern, words_of, words_table
from ..config import Settings
from ..diagnosis._catalogue import label_of
from ._labels import status_key
from ._render import environment

STRIP_RUNS = 48  # the last twelve hours at a 15-minute schedule
CHART_POINTS = 240  # more points than this are grouped per hour, day, …
DOTS_UP_TO = 60  # fewer points than this are drawn as dots on the line, too
INCIDENTS_OPEN = 3  # the latest ones; earlier ones are folded
INCIDENTS_SHOWN = 20
# The chart's drawing box; the page stretches it to the card's width (the
# strokes and dots keep their size: vector-effect, round caps).
PLOT_WIDTH, PLOT_HEIGHT = 1000, 100
UP = (Status.PASSED, Status.DEGRADED)
COUNTED = (Status.PASSED, Status.DEGRADED, Status.FAILED)  # what uptime is a share of
# The periods a long history's chart groups its runs by, shortest first; the
# name is a key of the [dashboard] words.
PERIODS = (
    (timedelta(hours=1), "per_hour"),
    (timedelta(hours=3), "per_3_hours"),
    (timedelta(hours=6), "per_6_hours"),
    (timedelta(hours=12), "per_12_hours"),
    (timedelta(days=1), "per_day"),
    (timedelta(days=7), "per_week"),
)
WINDOWS = (
    ("window_24h", timedelta(hours=24)),
    ("window_7d", timedelta(days=7)),
    ("window_30d", timedelta(days=30)),
)
NBSP = "\u00a0"  # between a number and its unit: "120 ms" never breaks


def dashboard_words(code: str) -> Mapping[str, str]:
    """The [dashboard] table of a language file (checked against English by words_of)."""
    return words_table(code, "dashboard")


class Words:
    """The dashboard's words in one language, with numbers in the right form."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.table = dashboard_words(code)

    def __call__(self, key: str, **values: object) -> str:
        return self.table[key].format(**values)

    def count(self, key: str, n: int, **values: object) -> str:
        """``1 run`` / ``2 runs``: ``key_one`` or ``key_other`` by the language's rule."""
        singular = n == 1 or (n == 0 and self.table["zero_is_singular"] == "yes")
        return self(f"{key}_{'one' if singular else 'other'}", n=n, **values)

    def status(self, status: str) -> str:
        return self.table.get(f"status_{status}", status)

    def time(self, moment: datetime, timezone: str) -> str:
        return local_time(moment, timezone, self.code)

    def latency(self, ms: float) -> str:
        """``85 ms``, ``1.2 s`` (``1,2 s``): the unit a reader expects at that size."""
        if ms < 1000:
            return f"{ms:.0f}{NBSP}ms"
        seconds = f"{ms / 1000:.1f}".removesuffix(".0")
        return f"{seconds}{NBSP}s".replace(".", words_of(self.code).decimal_separator)


@dataclass(frozen=True)
class Mail:
    at: str
    group: str
    subject: str
    status: str  # in words
    delivered: bool


@dataclass(frozen=True)
class Incident:
    start: str
    end: str | None
    duration: str
    category: str | None  # in words
    call: str | None
    mails_summary: str | None
    mails: list[Mail]


@dataclass(frozen=True)
class Tick:
    label: str
    top: float  # percent of the plot's height, from the top


@dataclass(frozen=True)
class Chart:
    """The slowest call per run (or per period), on a logarithmic axis: a 40 ms
    call and a 3 s limit both read on it."""

    title: str
    axis: str
    points: str  # the polyline, in the plot box
    dots: list[tuple[float, float, bool]]  # x, y, over the limit
    ticks: list[Tick]
    limit: Tick | None
    start: str
    end: str | None  # None: one point, one time
    facts: str


@dataclass(frozen=True)
class Uptime:
    window: str
    value: str
    runs: str


@dataclass
class ProcessView:
    name: str
    title: str
    status: Status
    status_text: str
    since: str | None
    first_run: str
    strip: list[dict[str, str]]
    strip_title: str
    strip_counts: str
    uptime: list[Uptime]
    chart: Chart | None
    incidents: list[Incident] = field(default_factory=list)
    incidents_note: str = ""
    incidents_open: int = INCIDENTS_OPEN
    incidents_earlier: str = ""
    # Changing between failing and passing, as the alert lifecycle judged it.
    unstable: str = ""
    status_key: str = ""  # the status's word: "certificate" for a certificate near its end


@dataclass(frozen=True)
class Run:
    """One run as one process saw it."""

    at: datetime
    status: Status
    failing: Mapping[str, Any]
    mails: Sequence[Mapping[str, Any]]
    slowest: float | None
    url: str | None
    # Its last runs ("FPFP…") when the alert lifecycle found it unstable in this run.
    unstable: str = ""
    # What held back its degraded monitors ("slow", "certificate"): the word for it.
    held_back: tuple[str | None, ...] = ()

    @property
    def status_key(self) -> str:
        return status_key(self.status.value, self.held_back)


_STATUSES = {status.value: status for status in Status}


def _process_status(monitors: Sequence[Mapping[str, Any]]) -> Status:
    # A status this erpwatch does not know (a later one's history) counts as not checked.
    known = [_STATUSES[m["status"]] for m in monitors if m["status"] in _STATUSES]
    return Status.worst(known) if known else Status.SKIPPED


def _uptime(
    runs: Sequence[Run], now: datetime, window: timedelta, name: str, words: Words
) -> Uptime:
    counted = [run.status for run in runs if now - run.at <= window and run.status in COUNTED]
    label = words(name)
    if not counted:
        return Uptime(label, "—", words("no_runs_in_window"))
    share = 100 * sum(status in UP for status in counted) / len(counted)
    value = f"{share:.1f}".replace(".", words_of(words.code).decimal_separator)
    return Uptime(
        label,
        f"{value}{NBSP}%" if share < 100 else f"100{NBSP}%",
        words.count("of_runs", len(counted)),
    )


def _grouped(
    runs: Sequence[tuple[datetime, float]], timezone: str
) -> tuple[list[tuple[datetime, float]], str]:
    """At most CHART_POINTS points: each run, or the slowest run of each local
    hour, day, … (the shortest period that is few enough)."""
    if len(runs) <= CHART_POINTS:
        return list(runs), "per_run"
    zone = ZoneInfo(timezone)
    span = runs[-1][0] - runs[0][0]
    period, name = next(((p, n) for p, n in PERIODS if span / p <= CHART_POINTS), PERIODS[-1])
    origin = datetime(2000, 1, 3)  # a Monday: weeks start on Mondays
    groups: dict[int, tuple[datetime, float]] = {}
    for at, ms in runs:
        key = (at.astimezone(zone).replace(tzinfo=None) - origin) // period
        if key not in groups or ms > groups[key][1]:
            groups[key] = (at, ms)
    return [groups[key] for key in sorted(groups)], name


def _ticks(low: int, high: int, words: Words) -> list[tuple[float, str]]:
    """Powers of ten between 10**low and 10**high ms; with 2 and 5 between them
    when the axis spans only one power of ten."""
    steps = (1, 2, 5) if high - low == 1 else (1,)
    return [
        (math.log10(step * 10**power), words.latency(step * 10**power))
        for power in range(low, high + 1)
        for step in steps
        if math.log10(step * 10**power) <= high
    ]


def _chart(
    runs: Sequence[Run], threshold_ms: float | None, words: Words, timezone: str
) -> Chart | None:
    timed = [(run.at, max(run.slowest, 1.0)) for run in runs if run.slowest is not None]
    if not timed:
        return None
    points, period = _grouped(timed, timezone)
    values = [ms for _, ms in points]
    # Whole powers of ten around the calls and the limit, with room below the
    # fastest and above the slowest so no point lies on the frame.
    low = max(0, math.floor(math.log10(min(values) / 1.5)))  # 1 ms at least
    high = math.ceil(math.log10(max(*values, threshold_ms or 1.0) * 1.05))
    high = max(high, low + 1)

    def y(ms: float) -> float:
        return PLOT_HEIGHT * (1 - (math.log10(ms) - low) / (high - low))

    # Time, not run number, along the axis (a pause in the runs shows as one),
    # from the first run to the latest.
    first, last = timed[0][0], timed[-1][0]
    span = (last - first).total_seconds()

    def x(at: datetime) -> float:
        return PLOT_WIDTH / 2 if span == 0 else PLOT_WIDTH * (at - first).total_seconds() / span

    coordinates = [(x(at), y(ms), bool(threshold_ms and ms > threshold_ms)) for at, ms in points]
    dots = [c for c in coordinates if len(coordinates) <= DOTS_UP_TO or c[2]]
    highest = max(points, key=lambda p: p[1])
    facts = [words("chart_latest", value=words.latency(timed[-1][1]))]
    if len(timed) > 1:
        facts.append(
            words(
                "chart_highest",
                value=words.latency(highest[1]),
                when=words.time(highest[0], timezone),
            )
        )
    if threshold_ms:
        over = sum(ms > threshold_ms for _, ms in timed)
        facts.append(
            words.count("chart_over", over, limit=words.latency(threshold_ms))
            if over
            else words("chart_none_over", limit=words.latency(threshold_ms))
        )
    # The limit is labelled in the axis, in its colour (a label in the chart
    # would hide the calls over it); a tick next to it gives way.
    limit = (
        Tick(words.latency(threshold_ms), 100 * y(threshold_ms) / PLOT_HEIGHT)
        if threshold_ms
        else None
    )
    ticks = [
        Tick(label, 100 * y(10**at) / PLOT_HEIGHT)
        for at, label in _ticks(low, high, words)
        if limit is None or abs(100 * y(10**at) / PLOT_HEIGHT - limit.top) >= 12
    ]
    return Chart(
        title=words(f"chart_{period}"),
        axis=words("chart_axis"),
        points=" ".join(f"{cx:.1f},{cy:.1f}" for cx, cy, _ in coordinates),
        dots=dots,
        ticks=ticks,
        limit=limit,
        start=words.time(first, timezone),
        end=words.time(last, timezone) if span else None,
        facts=" · ".join(facts),
    )


def _incidents(
    runs: Sequence[Run], settings: Settings, words: Words, now: datetime
) -> list[Incident]:
    incidents: list[Incident] = []
    start: Run | None = None
    last_failure: Mapping[str, Any] = {}
    mails: list[tuple[datetime, Mapping[str, Any]]] = []
    for run in runs:
        if run.status is Status.FAILED:
            start = start or run
            last_failure = run.failing
            mails += [(run.at, m) for m in run.mails]
        elif start is not None and run.status in UP:
            # The run that ends an incident sends its resolved notice.
            mails += [(run.at, m) for m in run.mails]
            incidents.append(_incident(start.at, run.at, last_failure, mails, settings, words))
            start, last_failure, mails = None, {}, []
    if start is not None:
        incidents.append(_incident(start.at, None, last_failure, mails, settings, words, now))
    return list(reversed(incidents))


def _incident(
    start: datetime,
    end: datetime | None,
    failing: Mapping[str, Any],
    mails: Sequence[tuple[datetime, Mapping[str, Any]]],
    settings: Settings,
    words: Words,
    now: datetime | None = None,
) -> Incident:
    until = end or now or start
    timezone = settings.timezone
    zone = ZoneInfo(timezone)
    category = failing.get("category")
    groups = settings.mail.groups
    shown = [
        Mail(
            at=words.time(at, timezone),
            group=groups[m["group"]].name if m["group"] in groups else m["group"],
            subject=m["subject"],
            status=words.table.get(f"mail_{m['status']}", m["status"]),
            delivered=m["status"] == DeliveryStatus.SENT,
        )
        for at, m in mails
    ]
    summary = None
    if shown:
        names = list(dict.fromkeys(mail.group for mail in shown))
        summary = words.count("mails", len(shown), groups=", ".join(names))
        undelivered = sum(not mail.delivered for mail in shown)
        if undelivered:
            summary += " · " + words.count("mails_undelivered", undelivered)
    return Incident(
        start=words.time(start, timezone),
        # An incident within a day says its day once: "Wed 25 Nov 08:15 – 09:45".
        end=(
            f"{end.astimezone(zone):%H:%M}"
            if end and end.astimezone(zone).date() == start.astimezone(zone).date()
            else words.time(end, timezone)
            if end
            else None
        ),
        duration=duration_text((until - start).total_seconds(), words.code),
        category=(label_of(category, words.code) or category)
        if isinstance(category, str)
        else category,
        call=failing.get("call"),
        mails_summary=summary,
        mails=shown,
    )


def _runs_by_process(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Run]]:
    """Each process's runs, in one pass over the history (90 days: 8,640 records)."""
    runs: dict[str, list[Run]] = {}
    for record in records:
        at = datetime.fromisoformat(record["at"])
        by_process: dict[str, list[Mapping[str, Any]]] = {}
        for m in record["monitors"]:
            by_process.setdefault(m["process"], []).append(m)
        for name, monitors in by_process.items():
            runs.setdefault(name, []).append(_run(at, record, monitors))
    return runs


def _run(at: datetime, record: Mapping[str, Any], monitors: Sequence[Mapping[str, Any]]) -> Run:
    return Run(
        at=at,
        status=_process_status(monitors),
        failing=next((m for m in monitors if m["status"] == Status.FAILED), {}),
        mails=record.get("mails", []),
        slowest=max((ms for m in monitors for ms in m["ms"]), default=None),
        url=record.get("url"),
        unstable=_unstable_of(record, monitors[0]["process"] if monitors else ""),
        held_back=tuple(m["category"] for m in monitors if m["status"] == Status.DEGRADED),
    )


def _unstable_of(record: Mapping[str, Any], process: str) -> str:
    """The record's pattern for a process; nothing from a record written before
    flapping was watched, or one whose entry is not a pattern."""
    unstable = record.get("unstable")
    pattern = unstable.get(process) if isinstance(unstable, dict) else None
    return pattern if isinstance(pattern, str) else ""


def _unstable_text(runs: Sequence[Run], timezone: str, now: datetime, language: str) -> str:
    """'Unstable since Fri 27 Nov 21:00 (2 h): failed 3 of the last 8 runs: ✗✓✗…'
    while the latest run found the process unstable."""
    if not runs or not runs[-1].unstable:
        return ""
    first = len(runs) - 1
    while first > 0 and runs[first - 1].unstable:
        first -= 1
    since = runs[first].at
    return words_table(language, "flapping")["dashboard"].format(
        since=f"{local_time(since, timezone, language)} "
        f"({duration_text((now - since).total_seconds(), language)})",
        pattern=unstable_pattern(runs[-1].unstable, language),
    )


def _strip_counts(runs: Sequence[Run], words: Words) -> str:
    if len(runs) == 1:
        return ""  # "Latest run", and its badge and colour say how it went
    counts: dict[Status, int] = {}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    return " · ".join(
        f"{words.status(status)}{NBSP}{counts[status]}" for status in Status if status in counts
    )


def build(
    records: Sequence[Mapping[str, Any]], settings: Settings, now: datetime, language: str = "en"
) -> list[ProcessView]:
    """The dashboard's data: per process, from the history, oldest record first."""
    words = Words(language)
    timezone = settings.timezone
    by_process = _runs_by_process(records)
    names = [*settings.processes, *sorted(set(by_process) - set(settings.processes))]
    views = []
    for name in names:
        declared = settings.process(name)
        runs = by_process.get(name, [])
        if not runs:
            continue
        latest = runs[-1].status
        since = None
        if latest is not Status.PASSED:
            first = len(runs) - 1
            while first > 0 and runs[first - 1].status == latest:
                first -= 1
            since = words(
                "since",
                time=words.time(runs[first].at, timezone),
                duration=duration_text((now - runs[first].at).total_seconds(), language),
            )
        shown = runs[-STRIP_RUNS:]
        strip = [
            {
                "status": run.status,
                "title": f"{words.time(run.at, timezone)} · {words.status(run.status_key)}",
                "url": run.url or "",
            }
            for run in shown
        ]
        threshold = (
            declared.latency_threshold * 1000 if declared and declared.latency_threshold else None
        )
        incidents = _incidents(runs, settings, words, now)
        views.append(
            ProcessView(
                name=name,
                title=declared.title if declared else name,
                status=latest,
                status_text=words.status(runs[-1].status_key),
                status_key=runs[-1].status_key,
                first_run=words.time(runs[0].at, timezone),
                since=since,
                strip=strip,
                strip_title=words.count("strip", len(shown)),
                strip_counts=_strip_counts(shown, words),
                uptime=[_uptime(runs, now, window, key, words) for key, window in WINDOWS],
                chart=_chart(runs, threshold, words, timezone),
                incidents=incidents[:INCIDENTS_SHOWN],
                incidents_open=INCIDENTS_OPEN,
                incidents_earlier=words.count(
                    "incidents_more", min(len(incidents), INCIDENTS_SHOWN) - INCIDENTS_OPEN
                ),
                incidents_note=words.count("incidents_older", len(incidents) - INCIDENTS_SHOWN)
                if len(incidents) > INCIDENTS_SHOWN
                else "",
                unstable=_unstable_text(runs, timezone, now, language),
            )
        )
    return views


def _overall_key(overall: Status, views: Sequence[ProcessView]) -> str:
    """Working, but slow — unless only certificates near their end hold it back."""
    return status_key(overall.value, {v.status_key for v in views if v.status is Status.DEGRADED})


def render_dashboard(
    records: Sequence[Mapping[str, Any]], settings: Settings, now: datetime
) -> str:
    language = settings.report_language
    words = Words(language)
    views = build(records, settings, now, language)
    overall = Status.worst(v.status for v in views) if views else Status.SKIPPED
    latest = records[-1] if records else None
    first = datetime.fromisoformat(records[0]["at"]) if records else None
    return (
        environment()
        .get_template("dashboard.html.j2")
        .render(
            w=words,
            language=language,
            processes=views,
            overall=overall,
            overall_text=words("overall_" + _overall_key(overall, views))
            if views
            else words("no_runs"),
            environment_name=settings.environment,
            # The latest run's time, not the drawing's: a page redrawn without a
            # new run (a dry run) does not pass off an older status as current.
            latest_run=words(
                "latest_run",
                time=words.time(datetime.fromisoformat(latest["at"]), settings.timezone),
            )
            if latest
            else None,
            history=words.count("runs", len(records), since=words.time(first, settings.timezone))
            if first
            else None,
            timezone=words("timezone", zone=settings.timezone),
            latest_report=latest.get("url") if latest else None,
            plot_width=PLOT_WIDTH,
            plot_height=PLOT_HEIGHT,
        )
    )


def write_dashboard(
    path: Path, records: Sequence[Mapping[str, Any]], settings: Settings, now: datetime
) -> None:
    write_atomically(path, render_dashboard(records, settings, now))

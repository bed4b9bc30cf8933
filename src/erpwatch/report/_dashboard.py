"""The status dashboard (reports/index.html): how the integration has been doing,
and what is wrong now, from the run history. One static page: no network, no
JavaScript, readable from an unzipped artifact, GitHub Pages or a phone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._files import write_atomically
from .._vocabulary import Status
from .._words import duration_text, local_time
from ..config import Settings
from ._render import environment

STRIP_RUNS = 48  # the last twelve hours at a 15-minute schedule
CHART_POINTS = 240
CHART_WIDTH, CHART_HEIGHT = 600, 120
UP = (Status.PASSED, Status.DEGRADED)


@dataclass
class Incident:
    start: str
    end: str | None
    duration: str
    category: str | None
    call: str | None
    mails: list[str]


@dataclass
class ProcessView:
    name: str
    title: str
    status: Status
    since: str | None
    strip: list[dict[str, str]]
    uptime: dict[str, str]
    chart: dict[str, Any]
    incidents: list[Incident] = field(default_factory=list)


def _process_status(monitors: Sequence[dict[str, Any]]) -> Status:
    statuses = {m["status"] for m in monitors}
    for status in (Status.FAILED, Status.DEGRADED, Status.PASSED):
        if status in statuses:
            return status
    return Status.SKIPPED


def _uptime(runs: Sequence[tuple[datetime, str]], now: datetime, window: timedelta) -> str:
    counted = [status for at, status in runs if now - at <= window and status != Status.SKIPPED]
    if not counted:
        return "—"
    share = 100 * sum(status in UP for status in counted) / len(counted)
    return f"{share:.1f} %" if share < 100 else "100 %"


def _chart(points: Sequence[tuple[datetime, float]], threshold_ms: float | None) -> dict[str, Any]:
    """Coordinates for an inline SVG: the slowest call per run, the threshold as a line."""
    if not points:
        return {
            "polyline": "",
            "threshold_y": None,
            "max_label": "",
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
        }
    bucket = max(1, -(-len(points) // CHART_POINTS))
    reduced = [
        max(points[i : i + bucket], key=lambda p: p[1]) for i in range(0, len(points), bucket)
    ]
    top = max(max(ms for _, ms in reduced), threshold_ms or 0) * 1.1 or 1.0
    step = CHART_WIDTH / max(1, len(reduced) - 1)
    coordinates = " ".join(
        f"{index * step:.1f},{CHART_HEIGHT - ms / top * CHART_HEIGHT:.1f}"
        for index, (_, ms) in enumerate(reduced)
    )
    threshold_y = CHART_HEIGHT - threshold_ms / top * CHART_HEIGHT if threshold_ms else None
    return {
        "polyline": coordinates,
        "threshold_y": threshold_y,
        "max_label": f"{top / 1000:.1f} s" if top >= 1000 else f"{top:.0f} ms",
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
    }


def _incidents(
    runs: Sequence[tuple[datetime, str, dict[str, Any], list[dict[str, Any]]]],
    timezone: str,
    now: datetime,
) -> list[Incident]:
    incidents: list[Incident] = []
    start: datetime | None = None
    last_failure: dict[str, Any] | None = None
    mails: list[str] = []
    for at, status, failing, run_mails in runs:
        if status == Status.FAILED:
            start = start or at
            last_failure = failing
            mails += [f"{m['group']}: {m['subject']} ({m['status']})" for m in run_mails]
        elif start is not None and status in UP:
            incidents.append(_incident(start, at, last_failure, mails, timezone))
            start, last_failure, mails = None, None, []
    if start is not None:
        incidents.append(_incident(start, None, last_failure, mails, timezone, now))
    return list(reversed(incidents))[:10]


def _incident(
    start: datetime,
    end: datetime | None,
    failing: dict[str, Any] | None,
    mails: list[str],
    timezone: str,
    now: datetime | None = None,
) -> Incident:
    until = end or now or start
    return Incident(
        start=local_time(start, timezone, "en"),
        end=local_time(end, timezone, "en") if end else None,
        duration=duration_text((until - start).total_seconds(), "en"),
        category=(failing or {}).get("category"),
        call=(failing or {}).get("call"),
        mails=mails,
    )


def build(
    records: Sequence[dict[str, Any]], settings: Settings, now: datetime
) -> list[ProcessView]:
    """The dashboard's data: per process, from the history, oldest record first."""
    seen = {m["process"] for r in records for m in r["monitors"]}
    names = [*settings.processes, *sorted(seen - set(settings.processes))]
    views = []
    for name in names:
        declared = settings.process(name)
        runs = []
        for record in records:
            monitors = [m for m in record["monitors"] if m["process"] == name]
            if not monitors:
                continue
            at = datetime.fromisoformat(record["at"])
            failing: dict[str, Any] = next(
                (m for m in monitors if m["status"] == Status.FAILED), {}
            )
            slowest = max((ms for m in monitors for ms in m["ms"]), default=None)
            runs.append(
                (
                    at,
                    _process_status(monitors),
                    failing,
                    record.get("mails", []),
                    slowest,
                    record.get("url"),
                )
            )
        if not runs:
            continue
        latest_status = runs[-1][1]
        since = None
        if latest_status is not Status.PASSED:
            first = len(runs) - 1
            while first > 0 and runs[first - 1][1] == latest_status:
                first -= 1
            since = local_time(runs[first][0], settings.timezone, "en")
        strip = [
            {
                "status": status,
                "title": f"{local_time(at, settings.timezone, 'en')}: {status}",
                "url": url or "",
            }
            for at, status, _, _, _, url in runs[-STRIP_RUNS:]
        ]
        statuses = [(at, status) for at, status, *_ in runs]
        threshold = (
            declared.latency_threshold * 1000 if declared and declared.latency_threshold else None
        )
        views.append(
            ProcessView(
                name=name,
                title=declared.title if declared else name,
                status=latest_status,
                since=since,
                strip=strip,
                uptime={
                    label: _uptime(statuses, now, window)
                    for label, window in (
                        ("24 h", timedelta(hours=24)),
                        ("7 d", timedelta(days=7)),
                        ("30 d", timedelta(days=30)),
                    )
                },
                chart=_chart(
                    [(at, ms) for at, _, _, _, ms, _ in runs if ms is not None], threshold
                ),
                incidents=_incidents(
                    [(at, s, f, m) for at, s, f, m, _, _ in runs], settings.timezone, now
                ),
            )
        )
    return views


def render_dashboard(records: Sequence[dict[str, Any]], settings: Settings, now: datetime) -> str:
    views = build(records, settings, now)
    overall = _process_status([{"status": v.status} for v in views]) if views else Status.SKIPPED
    latest = records[-1] if records else None
    return (
        environment()
        .get_template("dashboard.html.j2")
        .render(
            processes=views,
            overall=overall,
            environment_name=settings.environment,
            updated=local_time(now, settings.timezone, "en"),
            timezone=settings.timezone,
            latest_report=latest.get("url") if latest else None,
            runs=len(records),
        )
    )


def write_dashboard(
    path: Path, records: Sequence[dict[str, Any]], settings: Settings, now: datetime
) -> None:
    write_atomically(path, render_dashboard(records, settings, now))

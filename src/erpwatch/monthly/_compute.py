"""The month computed from the run history: which checks passed, when each
process was down and for how long, how soon people heard, the slowest calls.

A check is one scheduled run's result for a process: down when any of its
monitors failed, up when they passed (slow, or only on the second try,
included), no result when they were skipped or cut short. Availability is
passed checks over checks, with checks in planned maintenance left out."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from ..report._history import shift_month
from ._model import MailSent, MonthReport, Outage, ProcessMonth, SlowCall, UnstableSpell

SLOWEST_CALLS = 5
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # before erpwatch: not a run's time
MAILS_LISTED = 200  # a month of reminders is not a list anyone reads whole


def month_bounds(month: str, timezone: str) -> tuple[datetime, datetime]:
    """The first moment of ``2026-11`` and of the month after, in ``timezone``."""
    zone = ZoneInfo(timezone)

    def first(of: str) -> datetime:
        return datetime.strptime(of, "%Y-%m").replace(tzinfo=zone)

    return first(month), first(shift_month(month, 1))


@dataclass(frozen=True)
class _Check:
    at: datetime
    up: bool | None  # None: no result this run
    maintenance: bool
    monitors: tuple[Mapping[str, Any], ...]
    unstable: str | None  # the run pattern when the process was unstable


def _checks(records: Sequence[Mapping[str, Any]], process: str) -> list[_Check]:
    checks = []
    for record in records:
        monitors = tuple(m for m in record["monitors"] if m["process"] == process)
        if not monitors:
            continue
        statuses = {m["status"] for m in monitors}
        up = False if "failed" in statuses else True if statuses & {"passed", "degraded"} else None
        unstable = record.get("unstable")
        pattern = unstable.get(process) if isinstance(unstable, dict) else None
        checks.append(
            _Check(
                at=datetime.fromisoformat(record["at"]),
                up=up,
                maintenance=record.get("silenced") == "maintenance",
                monitors=monitors,
                unstable=pattern if isinstance(pattern, str) else None,
            )
        )
    return checks


def _first_alert(
    mails: Sequence[tuple[datetime, Mapping[str, Any]]],
    process: str,
    start: datetime,
    end: datetime | None,
) -> datetime | None:
    """When the first mail that alerted about ``process`` failing went out."""
    for at, mail in mails:
        if at < start or (end is not None and at > end):
            continue
        if mail.get("status") != "sent":
            continue  # composed is not told: only a delivered mail (or post) detects
        about = mail.get("about")
        if isinstance(about, list) and any(
            isinstance(a, list) and a[:1] == [process] and "failing" in a and "resolved" not in a
            for a in about
        ):
            return at
    return None


@dataclass
class _Open:
    start: datetime
    first: Mapping[str, Any]  # the first failing monitor's record
    runs: int = 1
    maintenance: bool = True
    down: list[tuple[datetime, bool]] = field(default_factory=list)


def _outages(
    checks: Sequence[_Check],
    process: str,
    mails: Sequence[tuple[datetime, Mapping[str, Any]]],
    start: datetime,
    end: datetime,
    until: datetime,
) -> list[Outage]:
    found: list[Outage] = []
    current: _Open | None = None

    def close(over: _Open, at: datetime | None) -> None:
        stop = min(at or until, end)
        downtime = timedelta()
        # Downtime within the month, from each failing check to the next check,
        # the time after a check in planned maintenance left out.
        moments = [*over.down, (at or until, False)]
        for (began, planned), (following, _) in pairwise(moments):
            if not planned:
                lo, hi = max(began, start), min(following, stop)
                if hi > lo:
                    downtime += hi - lo
        found.append(
            Outage(
                process=process,
                start=over.start,
                end=at,
                runs=over.runs,
                failed_call=over.first.get("failed_call") or over.first.get("call"),
                answer=over.first.get("answer"),
                erp_words=over.first.get("erp"),
                first_mail=_first_alert(mails, process, over.start, at),
                maintenance=over.maintenance,
                downtime=downtime,
            )
        )

    for check in checks:
        if check.up is None:
            continue
        if check.up is False:
            failing = next(m for m in check.monitors if m["status"] == "failed")
            if current is None:
                current = _Open(check.at, failing, runs=0)
            current.runs += 1
            current.maintenance = current.maintenance and check.maintenance
            current.down.append((check.at, check.maintenance))
        elif current is not None:
            close(current, check.at)
            current = None
    if current is not None:
        close(current, None)
    return [o for o in found if o.start < end and (o.end is None or o.end > start)]


def _unstable(
    checks: Sequence[_Check], process: str, start: datetime, end: datetime
) -> list[UnstableSpell]:
    spells: list[UnstableSpell] = []
    began: datetime | None = None
    pattern = ""
    for check in checks:
        if check.unstable is not None:
            began = began or check.at
            pattern = check.unstable
        elif began is not None and check.up is not None:
            spells.append(UnstableSpell(process, began, check.at, pattern))
            began = None
    if began is not None:
        spells.append(UnstableSpell(process, began, None, pattern))
    return [s for s in spells if s.start < end and (s.end is None or s.end > start)]


def _slowest(checks: Iterable[_Check]) -> list[SlowCall]:
    slowest: dict[str, SlowCall] = {}
    for check in checks:
        for monitor in check.monitors:
            named = monitor.get("slowest")
            if not (isinstance(named, list) and len(named) == 2):
                continue
            call, ms = named
            duration = _duration_ms(ms)
            if not isinstance(call, str) or duration is None:
                continue
            kind = call_kind(call)
            if kind not in slowest or duration > slowest[kind].ms:
                slowest[kind] = SlowCall(kind, duration, check.at)
    return sorted(slowest.values(), key=lambda s: -s.ms)[:SLOWEST_CALLS]


# A path segment that names one record, not the call: a payment's tr_WDqYK6vllg,
# a number, a GUID. "GET /v2/payments/tr_WDqYK6vllg" and "…/tr_7UhSN1zuXS" are one call.
_ONE_RECORD = re.compile(r"(?<=/)(?=[^/?#]*\d)[A-Za-z0-9_.:-]{6,}(?=[/?#]|$)")


def call_kind(call: str) -> str:
    """The call without what names one record: ``GET /v2/payments/…``."""
    return _ONE_RECORD.sub("…", call)


def _duration_ms(value: object) -> float | None:
    """A recorded duration, or None for what no call takes (NaN, negative, huge)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        ms = float(value)
    except OverflowError:
        return None
    return ms if math.isfinite(ms) and 0 <= ms < 86_400_000 else None


def usable(
    records: Sequence[Mapping[str, Any]], now: datetime
) -> tuple[list[Mapping[str, Any]], int]:
    """The records a month can be computed from, oldest first, each run once;
    and how many were left out (a time no run has: far past, future, unreadable)."""
    seen: set[str] = set()
    kept: list[tuple[datetime, Mapping[str, Any]]] = []
    dropped = 0
    for record in records:
        try:
            at = datetime.fromisoformat(record["at"])
            at.astimezone(UTC)  # an offset at the edge of time raises here, not later
        except (ValueError, OverflowError, TypeError):
            dropped += 1
            continue
        if at.tzinfo is None or not EARLIEST <= at <= now + timedelta(days=1):
            dropped += 1
            continue
        if record["run_id"] in seen:
            continue  # the same run twice (a merged copy): counted once
        seen.add(record["run_id"])
        kept.append((at, record))
    kept.sort(key=lambda pair: pair[0])
    return [record for _, record in kept], dropped


def process_month(
    records: Sequence[Mapping[str, Any]],
    process: str,
    mails: Sequence[tuple[datetime, Mapping[str, Any]]],
    start: datetime,
    end: datetime,
    until: datetime,
    threshold_ms: float | None,
) -> ProcessMonth:
    checks = _checks(records, process)
    inside = [c for c in checks if start <= c.at < end and c.up is not None]
    counted = [c for c in inside if not c.maintenance]
    outages = _outages(checks, process, mails, start, end, until)
    return ProcessMonth(
        process=process,
        checks=len(counted),
        passed=sum(1 for c in counted if c.up),
        retried=sum(1 for c in counted if c.up and any(m.get("flaky") is True for m in c.monitors)),
        maintenance=len(inside) - len(counted),
        downtime=sum((o.downtime for o in outages), timedelta()),
        outages=tuple(outages),
        unstable=tuple(_unstable(checks, process, start, end)),
        slowest=tuple(_slowest(inside)),
        slower_than_threshold=sum(
            1 for c in counted if any(m["status"] == "degraded" for m in c.monitors)
        ),
        threshold_ms=threshold_ms,
    )


def month_report(
    records: Sequence[Mapping[str, Any]],
    month: str,
    timezone: str,
    processes: Sequence[str],
    thresholds: Mapping[str, float | None],
    now: datetime,
    groups: Collection[str] | None = None,
) -> MonthReport:
    """The month of ``processes`` from ``records`` (the month before and after
    included, for outages that cross its edges). ``groups``: whose mails it
    lists (None: everyone's); an outage is detected by a delivered mail to anyone."""
    records, _ = usable(records, now)
    start, end = month_bounds(month, timezone)
    until = min(now, end)
    mails = [
        (datetime.fromisoformat(r["at"]), mail) for r in records for mail in r.get("mails", [])
    ]
    in_month = [r for r in records if start <= datetime.fromisoformat(r["at"]) < end]
    sent = [
        MailSent(at, m["group"], m["subject"], m["status"], m.get("channel", "mail"))
        for at, m in mails
        if start <= at < end and (groups is None or m["group"] in groups)
    ]
    return MonthReport(
        month=month,
        timezone=timezone,
        start=start,
        end=end,
        made_at=now,
        runs=len(in_month),
        first_run=datetime.fromisoformat(in_month[0]["at"]) if in_month else None,
        last_run=datetime.fromisoformat(in_month[-1]["at"]) if in_month else None,
        processes=tuple(
            process_month(records, p, mails, start, end, until, thresholds.get(p))
            for p in processes
        ),
        mails=tuple(sent),
        groups=None if groups is None else tuple(sorted(groups)),
    )

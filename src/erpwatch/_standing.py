"""Since when a process fails and who was told: one line per process in the
terminal summary, from what the alert lifecycle decided this run.

A developer or the CI log reading a red run wants to know whether this is new,
and whether the client already knows, without opening the state file:

    failing since Sat 21:27; already alerted Sat 21:27 (client, erp_partner); next reminder 01:27

Times are in the configured time zone (``[erpwatch] timezone``), as in the mails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ._vocabulary import Aspect, DeliveryStatus, IncidentKind, Status
from .config import Settings
from .result import ProcessResult, RunResult

if TYPE_CHECKING:
    from .alerts import AlertOutcome, Track
    from .config import AlertRules
    from .notify import Digest

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MARKS = {DeliveryStatus.SENT: "", DeliveryStatus.OUTBOX: " [outbox]"}


@dataclass(frozen=True)
class Clock:
    """Moments as the terminal says them, in the configured time zone."""

    now: datetime
    zone: ZoneInfo

    def at(self, moment: datetime | str) -> str:
        """``01:27`` within the coming day, ``Sat 21:27`` within a week, else
        ``Sat 28 Nov 21:27``. English, whatever the machine's locale."""
        when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        local, now = when.astimezone(self.zone), self.now.astimezone(self.zone)
        clock = f"{local:%H:%M}"
        if now < local < now + timedelta(days=1):
            return clock
        day = _DAYS[local.weekday()]
        if abs(now - local) < timedelta(days=6):
            return f"{day} {clock}"
        return f"{day} {local.day} {_MONTHS[local.month - 1]} {clock}"


def standing_lines(
    run: RunResult,
    alerting: AlertOutcome | None,
    digests: Sequence[Digest],
    settings: Settings,
    now: datetime,
) -> dict[str, str]:
    """Process name → its line, for the processes that fail, recover or resolved."""
    if alerting is None:
        return {}  # the alert step did not run: nothing is known
    clock = Clock(now, ZoneInfo(settings.timezone))
    mailed = _mailed_now(digests, alerting)
    lines: dict[str, str] = {}
    for process in run.processes:
        tracks = [alerting.tracks[m] for m in process.monitors if m in alerting.tracks]
        text = _standing(process, tracks, mailed.get(process.name, {}), alerting, settings, clock)
        if text:
            lines[process.name] = text
    return lines


def _standing(
    process: ProcessResult,
    tracks: list[tuple[Track, Track]],
    mailed: Mapping[IncidentKind, Mapping[str, DeliveryStatus]],
    alerting: AlertOutcome,
    settings: Settings,
    clock: Clock,
) -> str | None:
    pattern = alerting.unstable.get(process.name)
    if pattern:
        # Its failures are mailed as one unstable period, not one by one.
        from ._words import unstable_pattern

        window = _rules(settings, process).flap_window
        return (
            f"unstable: {unstable_pattern(pattern, 'en')}; one mail for the whole unstable "
            f"period, not one per change; stable again after {window} runs in a row the same way"
        )
    open_ = [after for _, after in tracks if after.bad and after.since]
    if process.outcome in (Status.FAILED, Status.UNFINISHED) and open_:
        return _failing(process, open_, mailed, alerting, settings, clock)
    closed = [before for before, after in tracks if before.bad and not after.bad]
    if closed:
        return _resolved(closed, mailed.get(IncidentKind.RESOLVED, {}), settings, process, clock)
    recovering = [after for after in open_ if after.good_runs]
    if recovering:
        rules = _rules(settings, process)
        since = min(t.since or "" for t in recovering)
        ok = min(t.recovered_at or "" for t in recovering)
        more = rules.resolve_after - max(t.good_runs for t in recovering)
        return (
            f"recovering: ok again since {clock.at(ok)} after failing since {clock.at(since)}; "
            f"resolved after {more} more good run(s)"
        )
    return None


def _failing(
    process: ProcessResult,
    tracks: list[Track],
    mailed: Mapping[IncidentKind, Mapping[str, DeliveryStatus]],
    alerting: AlertOutcome,
    settings: Settings,
    clock: Clock,
) -> str:
    rules = _rules(settings, process)
    since = min(t.since or "" for t in tracks)
    parts = [f"failing since {clock.at(since)}"]
    notified = max((t.last_notified for t in tracks if t.alerted and t.last_notified), default=None)
    told = {**mailed.get(IncidentKind.REMINDER, {}), **mailed.get(IncidentKind.ALERT, {})}
    who = _recipients(process, tracks, settings)
    if told:
        verb = "alerted" if IncidentKind.ALERT in mailed else "reminded"
        parts.append(f"{verb} now ({_groups(told)})")
    elif not settings.mail.groups:
        return f"{parts[0]}; nobody is mailed: no [groups] configured"
    elif not who:
        return f"{parts[0]}; nobody is mailed: [routing] names no group for {process.name}"
    elif notified is not None and settings.mail.smtp is None:
        # Without a mail server the alert went to the outbox: nobody has read it.
        parts.append(f"alert in the outbox since {clock.at(notified)} ({who}); no SMTP_HOST")
    elif notified is not None:
        parts.append(f"already alerted {clock.at(notified)} ({who})")
    elif alerting.silenced:
        parts.append(f"not mailed: {alerting.silenced}")
    else:
        runs = max(t.bad_runs for t in tracks)
        parts.append(f"not mailed yet: bad run {runs} of {rules.after} before an alert")
    if notified is not None:
        if rules.remind_every_hours <= 0:
            parts.append("no reminders")
        else:
            due = datetime.fromisoformat(notified) + timedelta(hours=rules.remind_every_hours)
            parts.append(f"next reminder {clock.at(due)}")
    return "; ".join(parts)


def _resolved(
    closed: list[Track],
    mailed: Mapping[str, DeliveryStatus],
    settings: Settings,
    process: ProcessResult,
    clock: Clock,
) -> str:
    since = min(t.since or "" for t in closed)
    ok = min((t.recovered_at for t in closed if t.recovered_at), default=None)
    text = f"resolved: failing since {clock.at(since)}" + (
        f", ok again since {clock.at(ok)}" if ok else ""
    )
    if mailed:
        return f"{text}; resolved mail ({_groups(mailed)})"
    if not any(t.alerted for t in closed):
        return f"{text}; nobody had been alerted"
    if not _rules(settings, process).resolved_mail:
        return f"{text}; no resolved mail (resolved_mail = false)"
    return text


def _mailed_now(
    digests: Sequence[Digest], alerting: AlertOutcome
) -> dict[str, dict[IncidentKind, dict[str, DeliveryStatus]]]:
    """Per process, per kind: the groups this run's mail went to, and how it went."""
    status = {d.group: d.status for d in alerting.deliveries if d.channel == "mail"}
    mailed: dict[str, dict[IncidentKind, dict[str, DeliveryStatus]]] = {}
    for digest in digests:
        key = digest.group.key
        for incident in digest.incidents:
            if incident.aspect is not Aspect.FAILING:
                continue
            for name in incident.affected:
                kinds = mailed.setdefault(name, {})
                kinds.setdefault(incident.kind, {})[key] = status.get(key, DeliveryStatus.FAILED)
    return mailed


def _groups(told: Mapping[str, DeliveryStatus]) -> str:
    return ", ".join(f"{g}{_MARKS.get(s, ' [NOT SENT]')}" for g, s in told.items())


def _recipients(process: ProcessResult, tracks: list[Track], settings: Settings) -> str:
    """The groups that hear about the process, as its alert was routed: a monitor
    bug went to the maintainers only."""
    from .diagnosis import Diagnosis

    mail = settings.mail
    bugs = [t for t in tracks if t.diagnosis]
    if bugs and all(
        Diagnosis.from_dict(t.diagnosis or {}).category.for_maintainers_only for t in bugs
    ):
        groups = [mail.maintainers] if mail.maintainers in mail.groups else []
    else:
        groups = [g for g in mail.routing.get(process.name, ()) if g in mail.groups]
    return ", ".join(g for g in groups if g)


def _rules(settings: Settings, process: ProcessResult) -> AlertRules:
    from .alerts import rules_for

    return rules_for(settings, process.name, process.critical, Aspect.FAILING)

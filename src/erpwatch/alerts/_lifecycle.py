"""One run through the alert lifecycle: load the state, decide per monitor,
mail what is due (and what was not delivered last time), save the state."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._vocabulary import FAILED_RUN, PASSED_RUN, Aspect, DeliveryStatus, IncidentKind, Outcome
from .._words import counted
from ..config import AlertRules, Settings
from ..config._alerts import FLAP_WINDOW_MAX
from ..diagnosis import Diagnosis
from ..notify import (
    Delivery,
    Digest,
    Incident,
    Note,
    RunContext,
    deliver,
    outbox_of,
    plan_digests,
    root_cause_first,
)
from ..notify._deliver import CHAT_PENDING_AGE, CHAT_PENDING_MAX, Told, chat_key
from ..notify._refusal import Refusal, refusal
from ..result import MonitorResult, RunResult
from ._policy import Decision, changes_in, decide, rules_for, unstable_now
from ._state import MonitorState, State, StateStore, Track
from ._windows import maintenance_window, silenced_by


@dataclass
class AlertOutcome:
    deliveries: list[Delivery] = field(default_factory=list)
    silenced: str | None = None
    # In a planned maintenance window: the month's availability leaves the run out.
    planned: bool = False
    warnings: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    since: dict[str, str] = field(default_factory=dict)  # monitor → when its open failure began
    # Monitor → its failing track before and after this run's decision: read by
    # the terminal summary (since when, who was told, the next reminder).
    tracks: dict[str, tuple[Track, Track]] = field(default_factory=dict)
    # Process → its last runs ("FPFP…") while it is unstable: for the history and dashboard.
    unstable: dict[str, str] = field(default_factory=dict)


def _observations(monitor: MonitorResult) -> Iterator[tuple[Aspect, bool]]:
    """(aspect, bad) for what this run tells about a monitor. A failed monitor says
    nothing about speed; a skipped one says nothing at all."""
    if monitor.outcome is Outcome.FAILED:
        yield Aspect.FAILING, True
    elif monitor.outcome is Outcome.UNFINISHED and monitor.diagnosis is not None:
        yield Aspect.FAILING, True  # stopped by the run deadline: too slow to finish
    elif monitor.outcome is Outcome.PASSED:
        yield Aspect.FAILING, False
        yield Aspect.SLOW, monitor.degraded


def _incident(
    kind: IncidentKind,
    aspect: Aspect,
    monitor: MonitorResult,
    track: Track,
    ended: str | None,
    pattern: str = "",
) -> Incident:
    # A resolved incident quotes the last failure it had, from the state.
    diagnosis = monitor.diagnosis
    if kind is IncidentKind.RESOLVED or (diagnosis is None and track.diagnosis):
        # An unstable process reminded on a passing run quotes its last failure too.
        diagnosis = Diagnosis.from_dict(track.diagnosis) if track.diagnosis else None
    return Incident(
        kind=kind,
        process=monitor.process or "unassigned",
        diagnosis=diagnosis,
        monitors=(monitor.nodeid,),
        exchange=monitor.failing if kind is not IncidentKind.RESOLVED else None,
        first_seen=datetime.fromisoformat(track.since or ended or ""),
        last_seen=datetime.fromisoformat(track.last_seen or track.since or ended or ""),
        runs=track.runs,
        aspect=aspect,
        ended_at=datetime.fromisoformat(ended) if ended else None,
        pattern=pattern,
    )


def _flapping(
    entry: MonitorState,
    bad: bool,
    diagnosis: dict[str, Any] | None,
    rules: AlertRules,
    now: datetime,
    silenced: bool,
) -> Decision | None:
    """This run added to the monitor's recent runs; the decision on its unstable
    period, or None when it neither is nor was unstable. An unstable period is a
    track like any other: alerted at once, reminded every ``remind_every_hours``,
    and over ("stable again") at the first steady window, told only when the
    window is steady passing: steady failing is an outage, alerted as one."""
    entry.history = (entry.history + (FAILED_RUN if bad else PASSED_RUN))[-FLAP_WINDOW_MAX:]
    before = entry.unstable
    unstable = unstable_now(entry.history, before.bad, rules)
    if not unstable and not before.bad:
        return None
    period = AlertRules(1, rules.remind_every_hours, 1, rules.resolved_mail and not bad)
    # A pass while unstable keeps the last failure for the mail to quote.
    return decide(before, unstable, diagnosis or before.diagnosis, period, now, silenced)


def evaluate(
    state: State, run: RunResult, settings: Settings, now: datetime, silenced: bool
) -> tuple[list[Incident], list[dict[str, Any]]]:
    """Apply the policy to every monitor of the run; the incidents that are due."""
    incidents: list[Incident] = []
    decisions: list[dict[str, Any]] = []
    for monitor in run.monitors:
        entry = state.monitors.setdefault(
            monitor.nodeid, MonitorState(process=monitor.process or "unassigned")
        )
        entry.process = monitor.process or entry.process
        for aspect, bad in _observations(monitor):
            before = entry.track(aspect)
            rules = rules_for(settings, monitor.process, monitor.critical, aspect)
            diagnosis = monitor.diagnosis.to_dict() if bad and monitor.diagnosis else None
            decision = decide(before, bad, diagnosis, rules, now, silenced)
            flap = (
                _flapping(entry, bad, diagnosis, rules, now, silenced)
                if aspect is Aspect.FAILING
                else None
            )
            if flap is not None:
                pattern = entry.history[-rules.flap_window :]
                unstable_before = entry.unstable
                entry.unstable = flap.track
                decisions.append(
                    {
                        "monitor": monitor.nodeid,
                        "aspect": Aspect.UNSTABLE,
                        "notify": flap.notify,
                        "reason": f"{flap.reason} ({changes_in(pattern)} changes in {pattern})",
                    }
                )
                if flap.notify is IncidentKind.RESOLVED:
                    ended = unstable_before.recovered_at or now.isoformat(timespec="seconds")
                    incidents.append(
                        _incident(
                            flap.notify, Aspect.UNSTABLE, monitor, unstable_before, ended, pattern
                        )
                    )
                elif flap.notify is not None:
                    incidents.append(
                        _incident(flap.notify, Aspect.UNSTABLE, monitor, flap.track, None, pattern)
                    )
                if flap.track.bad:
                    # While unstable, the failing track keeps counting but mails
                    # nothing, and nobody counts as alerted about it: when the
                    # flapping settles into an outage, that outage is alerted afresh.
                    decision = Decision(
                        replace(decision.track, alerted=False, last_notified=None),
                        None,
                        f"unstable: {decision.reason}",
                    )
            entry.set_track(aspect, decision.track)
            decisions.append(
                {
                    "monitor": monitor.nodeid,
                    "aspect": aspect,
                    "notify": decision.notify,
                    "reason": decision.reason,
                }
            )
            if decision.notify is IncidentKind.RESOLVED:
                ended = before.recovered_at or now.isoformat(timespec="seconds")
                incidents.append(_incident(IncidentKind.RESOLVED, aspect, monitor, before, ended))
            elif decision.notify is not None:
                incidents.append(_incident(decision.notify, aspect, monitor, decision.track, None))
    processes = {m.process or "unassigned" for m in run.monitors}
    return root_cause_first(incidents, processes), decisions


def _refreshed(incident: Incident, state: State) -> Incident:
    """A pending alert, brought up to date: still failing now, how many runs."""
    if incident.kind is IncidentKind.RESOLVED:
        return incident
    tracks = [
        state.monitors[m].track(incident.aspect) for m in incident.monitors if m in state.monitors
    ]
    bad = [t for t in tracks if t.bad and t.last_seen]
    if not bad:
        return incident
    last_seen = max(datetime.fromisoformat(t.last_seen or "") for t in bad)
    pattern = incident.pattern
    if incident.aspect is Aspect.UNSTABLE:
        # The runs since it was planned, too: the mail shows the pattern as it is now.
        # Counted within the window, as the unstable rule counts: the monitor that
        # flaps now, not one that failed often long ago.
        window = len(incident.pattern)
        histories = [
            state.monitors[m].history[-window:] for m in incident.monitors if m in state.monitors
        ]
        if window:
            pattern = max(histories, key=lambda h: h.count(FAILED_RUN), default=pattern)
    return replace(
        incident,
        last_seen=max(last_seen, incident.last_seen),
        runs=max(t.runs for t in bad),
        pattern=pattern,
    )


def _flaky_notes(run: RunResult, now: datetime) -> list[Note]:
    return [
        Note(process=m.process or "unassigned", monitor=m.nodeid, at=now, what=m.retried or "")
        for m in run.monitors
        if m.flaky
    ]


# How long a run may take to send what it took from the state before another
# run decides it died mid-send and sends it instead: longer than any SMTP session.
SENDING_LEASE = timedelta(minutes=30)


@dataclass
class AlertPlan:
    """What one run decided under the state lock and now sends outside it."""

    outcome: AlertOutcome
    digests: list[Digest]
    context: RunContext
    silenced: bool
    # Groups the mail server refused for good under these same settings: not tried.
    held: dict[str, Refusal] = field(default_factory=dict)
    # Per group: the chat posts earlier runs could not make, taken to post again.
    kept_posts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    told: Told | None = None  # the maintainers' last word on failing mail
    remind_every_hours: float = 0.0  # and how often they hear it again
    # Per group: incidents (chat_key) back in its digest only because its mail
    # failed, which its chat already has.
    posted: dict[str, set[str]] = field(default_factory=dict)


def decide_alerts(
    run: RunResult,
    settings: Settings,
    now: datetime,
    report_path: Path | None,
    reports: Mapping[str, Path] | None = None,
) -> AlertPlan:
    """Decide under the state lock, and record before anything is sent: the mails
    this run is about to send move from ``pending`` to ``sending`` (this run's
    claim), so a run started meanwhile does not send them too, and a run that
    dies mid-send leaves them to be sent by a later one."""
    alerts, mail = settings.alerts, settings.mail
    outcome = AlertOutcome()
    context = RunContext(run.run_id, run.run_url, report_path, now, reports or {})
    digests: list[Digest] = []
    untried: dict[str, Refusal] = {}
    kept_posts: dict[str, list[dict[str, Any]]] = {}
    told: Told | None = None
    posted: dict[str, set[str]] = {}
    store = StateStore(alerts.state_file)
    with store.locked():
        state = store.load()
        outcome.warnings += store.warnings
        _release_stale_claims(state, run.run_id, now)
        outcome.silenced = silenced_by(alerts, now, settings.timezone)
        outcome.planned = maintenance_window(alerts, now, settings.timezone) is not None
        before = {nodeid: replace(entry.failing) for nodeid, entry in state.monitors.items()}
        incidents, outcome.decisions = evaluate(
            state, run, settings, now, outcome.silenced is not None
        )
        outcome.unstable = _unstable_processes(state, run, settings)
        outcome.tracks = {
            m.nodeid: (before.get(m.nodeid, Track()), state.monitors[m.nodeid].failing)
            for m in run.monitors
            if m.nodeid in state.monitors
        }
        if mail.groups:
            for note in _flaky_notes(run, now):
                for group in mail.routing.get(note.process, ()):
                    state.notes.setdefault(group, []).append(note.to_dict())
            posted = {
                g: {
                    chat_key(i["process"], i.get("aspect", "failing"), i["kind"])
                    for i in items
                    if i.get("chat_done")
                }
                for g, items in state.pending.items()
            }
            pending = {
                g: [_refreshed(Incident.from_dict(i), state) for i in items]
                for g, items in state.pending.items()
            }
            # Pending mail for a group no longer configured stays where it was.
            kept = {g: items for g, items in state.pending.items() if g not in mail.groups}
            if outcome.silenced:
                # Failure mail waits for the window to end; good news does not.
                held = {
                    g: [i for i in items if i.kind is not IncidentKind.RESOLVED]
                    for g, items in pending.items()
                }
                pending = {
                    g: [i for i in items if i.kind is IncidentKind.RESOLVED]
                    for g, items in pending.items()
                }
                held_new = [i for i in incidents if i.kind is not IncidentKind.RESOLVED]
                incidents = [i for i in incidents if i.kind is IncidentKind.RESOLVED]
                for digest in plan_digests(held_new, mail, held):
                    kept[digest.group.key] = [i.to_dict() for i in digest.incidents]
            state.pending = kept
            notes = {g: [Note.from_dict(n) for n in items] for g, items in state.notes.items()}
            digests = plan_digests(incidents, mail, pending, notes)
            claim: dict[str, Any] = {"since": now.isoformat(timespec="seconds"), "groups": {}}
            for digest in digests:
                claim["groups"][digest.group.key] = {
                    "incidents": [i.to_dict() for i in digest.incidents],
                    "notes": [n.to_dict() for n in digest.notes],
                    "chat_done": sorted(posted.get(digest.group.key, set())),
                }
                state.notes.pop(digest.group.key, None)
            if not settings.dry_run:  # a dry run posts nothing, so takes nothing
                kept_posts = _take_posts(state, settings, now, outcome.warnings)
                if kept_posts:
                    claim["chat"] = kept_posts
            if digests or kept_posts:
                state.sending[run.run_id] = claim
            last = state.mail_failed_told
            told = Told(last["fingerprint"], datetime.fromisoformat(last["at"])) if last else None
            untried = {
                d.group.key: known
                for d in digests
                if (known := _refusal_of(state, d.group.key)) is not None
                and known.holds(mail, d.group, now)
            }
        outcome.since = {
            nodeid: entry.failing.since
            for nodeid, entry in state.monitors.items()
            if entry.failing.bad and entry.failing.since
        }
        state.updated_at = now.isoformat(timespec="seconds")
        if not settings.dry_run:
            store.save(state)
    return AlertPlan(
        outcome,
        digests,
        context,
        outcome.silenced is not None,
        untried,
        kept_posts,
        told,
        # The maintainers hear again of mail that keeps failing as often as of a
        # failure that lasts: [alerts] remind_every_hours.
        rules_for(settings, None, True, Aspect.FAILING).remind_every_hours,
        posted,
    )


def _take_posts(
    state: State, settings: Settings, now: datetime, warnings: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The kept chat posts of every group that still has a webhook, taken from the
    state into this run's claim (so a run started meanwhile does not post them
    too); those older than CHAT_PENDING_AGE are dropped, said in one line."""
    taken: dict[str, list[dict[str, Any]]] = {}
    for key, posts in list(state.chat.items()):
        fresh = [
            p for p in posts if now - datetime.fromisoformat(p["queued_at"]) <= CHAT_PENDING_AGE
        ]
        if len(fresh) < len(posts):
            hours = CHAT_PENDING_AGE.total_seconds() / 3600
            warnings.append(
                f"chat: {counted(len(posts) - len(fresh), 'post')} to {key} dropped, not taken "
                f"by its webhook for {hours:g} h; the mail (if the group has addresses), the "
                "run report and the dashboard still tell of it"
            )
        group = settings.mail.groups.get(key)
        if group is not None and group.webhook is not None and fresh:
            taken[key] = fresh
            del state.chat[key]
        elif fresh:
            state.chat[key] = fresh  # a group without a webhook now: kept until it has one
        else:
            del state.chat[key]
    return taken


def _unstable_processes(state: State, run: RunResult, settings: Settings) -> dict[str, str]:
    """Per process of this run, the runs of its most failing unstable monitor."""
    unstable: dict[str, str] = {}
    for monitor in run.monitors:
        entry = state.monitors.get(monitor.nodeid)
        if entry is None or not entry.unstable.bad:
            continue
        rules = rules_for(settings, monitor.process, monitor.critical, Aspect.FAILING)
        pattern = entry.history[-rules.flap_window :]
        known = unstable.get(entry.process, "")
        if pattern.count(FAILED_RUN) > known.count(FAILED_RUN):
            unstable[entry.process] = pattern
    return unstable


def _refusal_of(state: State, group: str) -> Refusal | None:
    known = state.refused.get(group)
    return Refusal.from_dict(known) if known is not None else None


def send_alerts(plan: AlertPlan, settings: Settings) -> list[Delivery]:
    """Talk to the mail server, holding no lock: a slow server delays this run only."""
    plan.outcome.deliveries = deliver(
        plan.digests,
        settings,
        plan.context,
        outbox_of(settings),
        plan.held,
        plan.kept_posts,
        plan.told,
        plan.remind_every_hours,
        plan.posted,
    )
    return plan.outcome.deliveries


def record_deliveries(plan: AlertPlan, settings: Settings) -> None:
    """Under the lock again: what was not delivered goes back to ``pending`` for the
    next run; what was delivered is done. The state is read afresh, since another
    run may have saved it meanwhile."""
    alerts = settings.alerts
    if settings.dry_run or not (plan.digests or plan.kept_posts):
        return
    store = StateStore(alerts.state_file)
    with store.locked():
        state = store.load()
        plan.outcome.warnings += store.warnings
        claim = state.sending.pop(plan.context.run_id, None)
        # Released by another run as stale: that run posts what this one took.
        taken = {p["id"] for posts in plan.kept_posts.values() for p in posts}
        _keep_posts(
            state,
            [d for d in plan.outcome.deliveries if claim is not None or d.retry_id not in taken],
            plan.outcome.warnings,
        )
        _remember_told(state, plan)
        if claim is None:
            store.save(state)
            return  # released by another run as stale: it sends those mails
        # Only the mail decides what goes back to pending: an installed channel's
        # success does not stand in for a failed mail, nor its failure resend a sent
        # one. A chat-only group has no mail: its posts are kept on their own (chat).
        mail = settings.mail
        delivered = {
            d.group
            for d in plan.outcome.deliveries
            if d.channel == "mail" and d.status is not DeliveryStatus.FAILED
        } | {key for key, group in mail.groups.items() if not group.mailed}
        chatted = {
            d.group
            for d in plan.outcome.deliveries
            if d.channel.startswith("webhook-") and (d.delivered or d.retry is not None)
        }
        for group, claimed in claim["groups"].items():
            if group not in delivered:
                # Its chat has the digest (posted, or kept to post): the mail
                # alone is sent again, the chat does not post it twice.
                _give_back(state, group, _chat_done(claimed, group in chatted))
        _remember_refusals(state, plan, settings)
        store.save(state)


def _chat_done(claimed: dict[str, Any], chatted: bool) -> dict[str, Any]:
    """A claim given back after its mail failed, each incident marked when the
    group's chat already has it (this run's post, or an earlier run's)."""
    done = set(claimed.get("chat_done", []))
    incidents = []
    for incident in claimed["incidents"]:
        key = chat_key(incident["process"], incident.get("aspect", "failing"), incident["kind"])
        if chatted or key in done:
            incident = {**incident, "chat_done": True}
        incidents.append(incident)
    return {**claimed, "incidents": incidents}


def _keep_posts(state: State, deliveries: list[Delivery], warnings: list[str]) -> None:
    """The posts this run could not make, kept for the next one: at most
    CHAT_PENDING_MAX per group, the oldest dropped first, said in one line."""
    for delivery in deliveries:
        if delivery.retry is None:
            continue
        posts = state.chat.setdefault(delivery.group, [])
        if all(p["id"] != delivery.retry["id"] for p in posts):
            posts.append(dict(delivery.retry))
        posts.sort(key=lambda p: str(p["queued_at"]))
        if len(posts) > CHAT_PENDING_MAX:
            dropped = len(posts) - CHAT_PENDING_MAX
            del posts[:dropped]
            warnings.append(
                f"{delivery.channel}: {counted(dropped, 'older post')} to {delivery.group} "
                f"dropped: at most {CHAT_PENDING_MAX} are kept per group while its webhook "
                "does not take them"
            )


def _remember_told(state: State, plan: AlertPlan) -> None:
    """What the maintainers were told of failing mail, so the next runs do not
    repeat it; forgotten when every mail of a run went out, so a new failure is
    told at once."""
    mails = [d for d in plan.outcome.deliveries if d.channel == "mail"]
    told = next((d.told for d in plan.outcome.deliveries if d.told is not None), None)
    if told is not None:
        state.mail_failed_told = {
            "fingerprint": told,
            "at": plan.context.finished_at.isoformat(timespec="seconds"),
        }
    elif mails and all(d.status is not DeliveryStatus.FAILED for d in mails):
        state.mail_failed_told = {}


def _remember_refusals(state: State, plan: AlertPlan, settings: Settings) -> None:
    """A final refusal is remembered with the settings it came under; a mail that
    went out, or failed for a passing reason, clears it. An untried (held) group
    keeps its refusal as it was."""
    mail = settings.mail
    now = plan.context.finished_at
    for delivery in plan.outcome.deliveries:
        group = mail.groups.get(delivery.group)
        if delivery.channel != "mail" or delivery.held or group is None:
            continue
        if delivery.status is DeliveryStatus.FAILED and delivery.permanent:
            earlier = _refusal_of(state, delivery.group)
            state.refused[delivery.group] = refusal(
                delivery.error or "", mail, group, now, earlier
            ).to_dict()
        else:
            state.refused.pop(delivery.group, None)


def _release_stale_claims(state: State, run_id: str, now: datetime) -> None:
    """Mails another run claimed so long ago that it must have died: pending again."""
    for owner, claim in list(state.sending.items()):
        since = datetime.fromisoformat(claim["since"])
        if owner != run_id and now - since < SENDING_LEASE:
            continue
        del state.sending[owner]
        for group, claimed in claim["groups"].items():
            _give_back(state, group, _chat_done(claimed, False))
        for group, posts in claim.get("chat", {}).items():
            known = state.chat.setdefault(group, [])
            known += [p for p in posts if all(k["id"] != p["id"] for k in known)]


def _give_back(state: State, group: str, claimed: dict[str, Any]) -> None:
    state.pending[group] = _union(claimed["incidents"], state.pending.get(group, []))
    if claimed["notes"]:
        state.notes[group] = _union(claimed["notes"], state.notes.get(group, []))


def _union(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [*first, *(item for item in second if item not in first)]

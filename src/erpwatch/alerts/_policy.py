"""The alert policy, in one function, and the rules it applies per process."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, TypeVar

from .._vocabulary import FAILED_RUN, Aspect, IncidentKind
from ..config import AlertRules, Lifecycle, Settings
from ..config._alerts import FLAP_CHANGES, FLAP_WINDOW
from ._state import Track

_T = TypeVar("_T")


def rules_for(
    settings: Settings, process: str | None, critical: bool, aspect: Aspect
) -> AlertRules:
    """The lifecycle of a process, from erpwatch's defaults, [alerts] and the process's own."""
    declared = settings.process(process) if process else None
    chosen = (declared.alerts if declared else Lifecycle()).over(settings.lifecycle)
    resolve_after = _or(chosen.resolve_after, 2)
    resolved_mail = _or(chosen.resolved_mail, True)
    if aspect is Aspect.SLOW:
        # Slow is quieter: a few slow runs in a row, a reminder a day.
        return AlertRules(
            _or(chosen.slow_after, 3),
            _or(chosen.slow_remind_every_hours, 24.0),
            resolve_after,
            resolved_mail,
        )
    return AlertRules(
        _or(chosen.after, 1 if critical else 2),
        _or(chosen.remind_every_hours, 4.0),
        resolve_after,
        resolved_mail,
        _or(chosen.flap_changes, FLAP_CHANGES),
        _or(chosen.flap_window, FLAP_WINDOW),
    )


def _or(value: _T | None, default: _T) -> _T:
    """erpwatch's own default where neither the process nor [alerts] sets one."""
    return default if value is None else value


@dataclass(frozen=True)
class Decision:
    track: Track
    notify: IncidentKind | None
    reason: str


def decide(
    track: Track,
    bad: bool,
    diagnosis: dict[str, Any] | None,
    rules: AlertRules,
    now: datetime,
    silenced: bool,
) -> Decision:
    """The transition of one monitor aspect for one run: ok → bad (alert after
    ``rules.after`` bad runs), bad → bad (a reminder every ``remind_every_hours``),
    bad → ok (resolved after ``resolve_after`` good runs). Silenced (a maintenance
    window) keeps failure mail back; an alert still due is sent after the window."""
    stamp = now.isoformat(timespec="seconds")
    if bad:
        opening = not track.bad
        updated = replace(
            track,
            bad=True,
            since=stamp if opening else track.since,
            last_seen=stamp,
            bad_runs=1 if opening else track.bad_runs + 1,
            good_runs=0,
            recovered_at=None,
            runs=1 if opening else track.runs + 1,
            alerted=False if opening else track.alerted,
            last_notified=None if opening else track.last_notified,
            diagnosis=diagnosis,
        )
        if not updated.alerted:
            if updated.bad_runs < rules.after:
                return Decision(
                    updated, None, f"bad run {updated.bad_runs} of {rules.after} before an alert"
                )
            if silenced:
                return Decision(updated, None, "alert due, held back by a maintenance window")
            return Decision(
                replace(updated, alerted=True, last_notified=stamp), IncidentKind.ALERT, "alert due"
            )
        if rules.remind_every_hours <= 0 or updated.last_notified is None:
            return Decision(updated, None, "alerted; no reminders")
        due = datetime.fromisoformat(updated.last_notified) + timedelta(
            hours=rules.remind_every_hours
        )
        if now < due:
            return Decision(
                updated, None, f"alerted; next reminder at {due.isoformat(timespec='seconds')}"
            )
        if silenced:
            return Decision(updated, None, "reminder due, held back by a maintenance window")
        return Decision(
            replace(updated, last_notified=stamp), IncidentKind.REMINDER, "reminder due"
        )
    if not track.bad:
        return Decision(track, None, "ok")
    updated = replace(
        track, good_runs=track.good_runs + 1, bad_runs=0, recovered_at=track.recovered_at or stamp
    )
    if updated.good_runs < rules.resolve_after:
        return Decision(
            updated, None, f"good run {updated.good_runs} of {rules.resolve_after} before resolved"
        )
    closed = Track()
    if track.alerted and rules.resolved_mail:
        return Decision(closed, IncidentKind.RESOLVED, "resolved after an alert")
    return Decision(closed, None, "resolved before anyone was alerted")


# A monitor's recent runs, oldest first, as the alert state keeps them.


def changes_in(history: str) -> int:
    """How often consecutive runs went from failing to passing or back."""
    return sum(a != b for a, b in pairwise(history))


def unstable_now(history: str, was_unstable: bool, rules: AlertRules) -> bool:
    """Whether a monitor flaps, from its last runs (``history``, this one last).

    It starts flapping when its last ``flap_window`` runs changed between failing
    and passing ``flap_changes`` times or more, on a failing run (a pass that
    completes the count is good news, not the moment to alarm anyone). It stays
    unstable until all of its last ``flap_window`` runs went the same way: a
    looser exit (fewer than ``flap_changes``) would let a process that fails
    every fifth run slip in and out of "unstable" and mail about each, which is
    the storm this is meant to stop. Once steady, the window holds no change,
    so a new unstable period needs ``flap_changes`` fresh ones."""
    if rules.flap_changes <= 0:
        return False
    recent = history[-rules.flap_window :]
    if was_unstable:
        return len(recent) < rules.flap_window or changes_in(recent) > 0
    return recent.endswith(FAILED_RUN) and changes_in(recent) >= rules.flap_changes

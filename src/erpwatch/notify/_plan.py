"""Who gets what: incidents grouped per process, the root cause first, and the
routing policy in one function."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from .._files import write_atomically
from .._vocabulary import FAILED_RUN, Aspect, Category, IncidentKind, Outcome
from ..config import MailSettings
from ..result import RunResult
from ._model import Digest, Incident, Note

ROOT_CAUSES = (Category.UNREACHABLE, Category.AUTH)
# The process name of an incident that stands for one cause shared by every process.
ROOT_PROCESS = "_erp"


def merge_incidents(items: Iterable[Incident]) -> list[Incident]:
    """One incident per process, aspect and kind: a process's monitors together."""
    merged: dict[tuple[str, Aspect, IncidentKind, bool], Incident] = {}
    for item in items:
        key = (item.process, item.aspect, item.kind, item.for_maintainers_only)
        known = merged.get(key)
        if known is None:
            merged[key] = item
            continue
        merged[key] = replace(
            known,
            monitors=known.monitors + tuple(m for m in item.monitors if m not in known.monitors),
            first_seen=min(known.first_seen, item.first_seen),
            last_seen=max(known.last_seen, item.last_seen),
            runs=max(known.runs, item.runs),
            ended_at=max(filter(None, (known.ended_at, item.ended_at)), default=None),
            # The monitor that failed most tells how unstable the process is.
            pattern=max(known.pattern, item.pattern, key=lambda p: p.count(FAILED_RUN)),
        )
    return sorted(merged.values(), key=lambda i: (i.kind.urgency, i.process))


def root_key(incident: Incident) -> str | None:
    """The one cause an incident can share with every process: the party cannot
    be reached, refuses the credentials, or does not know the configured address."""
    diagnosis = incident.diagnosis
    if diagnosis is None or incident.aspect is not Aspect.FAILING:
        return None
    if diagnosis.category in ROOT_CAUSES:
        return diagnosis.category.value
    if diagnosis.category is Category.UNEXPECTED_RESPONSE and diagnosis.status in (404, 410):
        return "not_found"
    return None


def _as_one(incidents: Sequence[Incident], processes: Iterable[str]) -> Incident:
    first = min(incidents, key=lambda i: (i.kind.urgency, i.first_seen))
    return replace(
        first,
        process=ROOT_PROCESS,
        processes=tuple(sorted(processes)),
        monitors=tuple(m for i in incidents for m in i.monitors),
        first_seen=min(i.first_seen for i in incidents),
        last_seen=max(i.last_seen for i in incidents),
        runs=max(i.runs for i in incidents),
        ended_at=max(filter(None, (i.ended_at for i in incidents)), default=None),
    )


def _shared_cause(incidents: Sequence[Incident]) -> bool:
    keys = {(root_key(i), i.diagnosis.party if i.diagnosis else None) for i in incidents}
    return len(incidents) >= 2 and len(keys) == 1 and next(iter(keys))[0] is not None


def root_cause_first(incidents: Sequence[Incident], processes_in_run: set[str]) -> list[Incident]:
    """When the same party is unreachable, refuses the credentials or does not
    know its address for every process, that cause is one incident listing the
    processes, not one per process; and so is its end, with the same headline."""
    result = list(incidents)
    failing = [
        i for i in result if i.kind is not IncidentKind.RESOLVED and i.aspect is Aspect.FAILING
    ]
    covered = {i.process for i in failing}
    if _shared_cause(failing) and processes_in_run <= covered:
        result = [_as_one(failing, covered), *(i for i in result if i not in failing)]
    resolved = [
        i
        for i in result
        if i.kind is IncidentKind.RESOLVED
        and i.process != ROOT_PROCESS
        and i.aspect is Aspect.FAILING
    ]
    if _shared_cause(resolved):
        together = _as_one(resolved, {i.process for i in resolved})
        result = [i for i in result if i not in resolved] + [together]
    return result


def recipients_of(incident: Incident, mail: MailSettings) -> tuple[str, ...]:
    """The groups an incident goes to. Monitor bugs go to the maintainers only:
    the client and the ERP partner can do nothing about them."""
    if incident.for_maintainers_only:
        return (mail.maintainers,) if mail.maintainers else ()
    groups: list[str] = []
    for process in incident.affected:
        groups += [g for g in mail.routing.get(process, ()) if g not in groups]
    return tuple(groups)


def plan_digests(
    incidents: Sequence[Incident],
    mail: MailSettings,
    pending: Mapping[str, Sequence[Incident]] | None = None,
    notes: Mapping[str, Sequence[Note]] | None = None,
) -> list[Digest]:
    """One digest per group, never one mail per failed test. Notifications a group
    missed last time (``pending``) come first; a pending alert whose incident has
    since resolved gives way to the resolved notice."""
    per_group: dict[str, list[Incident]] = {
        key: list(items) for key, items in (pending or {}).items()
    }
    for incident in incidents:
        for group in recipients_of(incident, mail):
            queue = per_group.setdefault(group, [])
            if incident.kind is IncidentKind.RESOLVED:
                queue[:] = [
                    i for i in queue if (i.process, i.aspect) != (incident.process, incident.aspect)
                ]
            elif incident.aspect is Aspect.UNSTABLE:
                # "Unstable" says all there is to say about the process's failures:
                # an alert about them it has not received yet goes unsent.
                queue[:] = [
                    i
                    for i in queue
                    if i.process != incident.process
                    or i.aspect is not Aspect.FAILING
                    or i.kind is IncidentKind.RESOLVED
                ]
            if incident.kind is IncidentKind.REMINDER and any(
                (i.process, i.aspect) == (incident.process, incident.aspect) for i in queue
            ):
                continue  # they still have to hear the alert itself, which is pending
            queue.append(incident)
    digests = []
    for key, group_incidents in per_group.items():
        if not group_incidents or key not in mail.groups:
            continue
        others = {o for i in group_incidents for o in recipients_of(i, mail) if o != key}
        group_notes = tuple((notes or {}).get(key, ()))
        digests.append(
            Digest(
                group=mail.groups[key],
                incidents=tuple(merge_incidents(group_incidents)),
                also_sent_to=tuple(mail.groups[o] for o in sorted(others) if o in mail.groups),
                notes=group_notes,
            )
        )
    return digests


def incidents_of(run: RunResult, now: datetime) -> list[Incident]:
    """Every failure of a run as a fresh alert: what its first mail looks like."""
    items = [
        Incident(
            kind=IncidentKind.ALERT,
            process=m.process or "unassigned",
            diagnosis=m.diagnosis,
            monitors=(m.nodeid,),
            exchange=m.failing,
            first_seen=now,
            last_seen=now,
        )
        for m in run.monitors
        if m.outcome is Outcome.FAILED and m.diagnosis is not None
    ]
    processes = {m.process or "unassigned" for m in run.monitors}
    return root_cause_first(merge_incidents(items), processes)


# The last run's digests, as it planned them: what `erpwatch preview` renders, so
# a preview shows the mail the run sent (a reminder, "2 runs"), not a guess.
PLAN_FILE = "mail-plan.json"


def save_plan(path: Path, run_id: str, digests: Sequence[Digest]) -> None:
    data = {
        "run_id": run_id,
        "digests": [
            {
                "group": d.group.key,
                "incidents": [i.to_dict() for i in d.incidents],
                "also_sent_to": [g.key for g in d.also_sent_to],
                "notes": [n.to_dict() for n in d.notes],
            }
            for d in digests
        ],
    }
    write_atomically(path, json.dumps(data, ensure_ascii=False))


def load_plan(path: Path, run_id: str, mail: MailSettings) -> list[Digest] | None:
    """The digests run ``run_id`` planned, for the groups still configured; None
    when the file holds another run's plan, or none erpwatch can read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("run_id") != run_id:
            return None
        return [
            Digest(
                group=mail.groups[d["group"]],
                incidents=tuple(Incident.from_dict(i) for i in d["incidents"]),
                also_sent_to=tuple(mail.groups[g] for g in d["also_sent_to"] if g in mail.groups),
                notes=tuple(Note.from_dict(n) for n in d["notes"]),
            )
            for d in data["digests"]
            if d["group"] in mail.groups
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None

"""Who gets what: incidents from a run result, and the routing policy in one function."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..config import MailSettings
from ..result import MonitorResult, RunResult
from ._model import Digest, Incident


def incidents_of(run: RunResult, now: datetime) -> list[Incident]:
    """One incident per process and audience: the ERP's failures of a process
    together, and separately the monitor bugs, which only the maintainers get."""
    grouped: dict[tuple[str, bool], list[MonitorResult]] = {}
    for monitor in run.monitors:
        if monitor.outcome != "failed" or monitor.diagnosis is None:
            continue
        key = (monitor.process or "unassigned", monitor.diagnosis.category.for_maintainers_only)
        grouped.setdefault(key, []).append(monitor)
    incidents = []
    for (process, _), monitors in grouped.items():
        first = monitors[0]
        assert first.diagnosis is not None
        incidents.append(
            Incident(
                process=process,
                diagnosis=first.diagnosis,
                monitors=tuple(m.nodeid for m in monitors),
                exchange=first.failing,
                first_seen=now,
                last_seen=now,
            )
        )
    # Critical processes first: they lead the subject line.
    critical = {m.process for m in run.monitors if m.critical}
    return sorted(incidents, key=lambda i: (i.process not in critical, i.process))


def recipients_of(incident: Incident, mail: MailSettings) -> tuple[str, ...]:
    """The groups an incident goes to. Monitor bugs go to the maintainers only:
    the client and the ERP partner can do nothing about them."""
    if incident.for_maintainers_only:
        return (mail.maintainers,) if mail.maintainers else ()
    return mail.routing.get(incident.process, ())


def plan_digests(
    incidents: Sequence[Incident], mail: MailSettings, kind: str = "alert"
) -> list[Digest]:
    """One digest per group, never one mail per failed test."""
    per_group: dict[str, list[Incident]] = {}
    for incident in incidents:
        for group in recipients_of(incident, mail):
            per_group.setdefault(group, []).append(incident)
    digests = []
    for key, group_incidents in per_group.items():
        others = {
            other
            for incident in group_incidents
            for other in recipients_of(incident, mail)
            if other != key
        }
        digests.append(
            Digest(
                kind=kind,
                group=mail.groups[key],
                incidents=tuple(group_incidents),
                also_sent_to=tuple(mail.groups[o] for o in sorted(others)),
            )
        )
    return digests

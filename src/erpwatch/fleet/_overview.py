"""The agency overview: ``reports/fleet.json`` and ``reports/index.html``, every
client × process with its status, since when it fails, its last mail and links to
the client's dashboard and report. Built from the clients' entries only."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .._files import write_atomically
from .._vocabulary import ClientEnd, Status
from ._model import ClientEntry, Fleet, ProcessLine, read_entries

OVERVIEW_FILE = "index.html"
FLEET_FILE = "fleet.json"

# Word, sign and colour: a status reads without colour too (and on a phone).
_STATUS = {
    Status.PASSED: ("passing", "✓", "ok"), Status.DEGRADED: ("slow", "◐", "warn"),
    Status.FAILED: ("failing", "✗", "bad"), Status.SKIPPED: ("not checked", "–", "off"),
    Status.UNFINISHED: ("unfinished", "…", "warn"),
}  # fmt: skip
_END = {
    ClientEnd.PASSED: ("all passing", "✓", "ok"), ClientEnd.FAILED: ("failing", "✗", "bad"),
    ClientEnd.INTERRUPTED: ("interrupted", "…", "warn"),
    ClientEnd.BROKEN: ("erpwatch broke", "!", "bad"),
    ClientEnd.CONFIG_ERROR: ("configuration error", "!", "bad"),
    ClientEnd.NOT_RUN: ("not run", "–", "off"),
    ClientEnd.SKIPPED: ("not chosen this run", "–", "off"),
}  # fmt: skip


def build(reports: Path, clients: list[str] | None = None) -> Fleet:
    """The overview of the entries in ``reports``, of ``clients`` when given."""
    entries, damaged = read_entries(reports, clients)
    order = sorted(entries, key=lambda e: (-e.end.severity, e.client))
    return Fleet(datetime.now(UTC).isoformat(timespec="seconds"), tuple(order), tuple(damaged))


def write(reports: Path, fleet: Fleet, timezone: str, with_page: bool = True) -> list[Path]:
    """fleet.json always; index.html unless the folder is one client's (its dashboard)."""
    written = [reports / FLEET_FILE]
    write_atomically(written[0], json.dumps(fleet.to_dict(), indent=2) + "\n")
    if with_page:
        written.append(reports / OVERVIEW_FILE)
        write_atomically(written[1], render(fleet, timezone))
    return written


@dataclass(frozen=True)
class _Row:
    title: str
    word: str
    sign: str
    tone: str
    since: str
    mailed: str


@dataclass(frozen=True)
class _Card:
    entry: ClientEntry
    word: str
    sign: str
    tone: str
    rows: tuple[_Row, ...]
    took: str


def render(fleet: Fleet, timezone: str) -> str:
    from ..report._render import environment

    zone = ZoneInfo(timezone)

    def local(moment: str | None) -> str:
        if not moment:
            return ""
        when = datetime.fromisoformat(moment).astimezone(zone)
        return f"{when:%a} {when.day} {when:%b %H:%M}"  # English words, whatever the locale

    cards = [
        _Card(entry, *_END[entry.end], tuple(_row(p, local) for p in entry.processes),
              f"{entry.seconds:.0f} s")
        for entry in fleet.clients
    ]  # fmt: skip
    counts = {end: sum(1 for e in fleet.clients if e.end is end) for end in ClientEnd}
    return (
        environment()
        .get_template("fleet.html.j2")
        .render(
            cards=cards,
            counts=[
                (word, counts[end], tone) for end, (word, _, tone) in _END.items() if counts[end]
            ],
            generated=local(fleet.generated_at),
            timezone=timezone,
            set_aside=fleet.set_aside,
            worst_tone=_END[fleet.worst][2],
        )
    )


def _row(line: ProcessLine, local: Callable[[str | None], str]) -> _Row:
    word, sign, tone = _STATUS[line.status]
    return _Row(line.title, word, sign, tone, local(line.failing_since), local(line.last_mail))

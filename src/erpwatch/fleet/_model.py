"""What a fleet run knows of each client: one typed entry per client, written as
``reports/<client>/fleet-entry.json`` when its run ends, and the overview's data
(``reports/fleet.json``), built from those entries alone, so shards that ran on
different machines make one overview once their report folders are put together."""

from __future__ import annotations

import json
import stat
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._files import MOMENT, Maybe, OneOf, dataclass_shape, problem_of, write_atomically
from .._vocabulary import ClientEnd, Status
from ..redact import safe_text

ENTRY_FILE = "fleet-entry.json"
MAX_PROBLEM = 300  # characters of a problem line the overview quotes
MAX_TITLE = 120
MAX_PROCESSES = 200
MAX_SECONDS = 86_400.0
MAX_ENTRY_BYTES = 256_000
MAX_ENTRIES = 2_000
FLEET_SCHEMA = 1


@dataclass(frozen=True)
class ProcessLine:
    """One process of one client, as the overview shows it."""

    name: str
    title: str
    status: Status
    failing_since: str | None = None  # ISO time: the open incident's start
    last_mail: str | None = None  # ISO time: the last alert, reminder or resolved mail


@dataclass(frozen=True)
class ClientEntry:
    """One client's run in a fleet: how it ended, and its processes."""

    client: str  # the folder name under clients/ ("" for a project with one config)
    title: str  # the client's name as its mails give it
    end: ClientEnd
    exit_code: int
    started_at: str
    seconds: float
    problem: str = ""  # one line: why it did not run, or broke
    run_id: str | None = None
    processes: tuple[ProcessLine, ...] = ()
    dashboard: str | None = None  # relative to the fleet's reports folder
    report: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> ClientEntry:
        """An entry read back; ValueError naming what is wrong with it."""
        problem = problem_of(data, _ENTRY_SHAPE)
        if problem is None and isinstance(data, dict):
            lines = data["processes"]
            problem = next((p for p in map(_line_problem, lines) if p), None)
        if problem is not None or not isinstance(data, dict):
            raise ValueError(problem or "not an object")
        problem = _moment_problem(data, ("started_at",)) or next(
            (p for line in data["processes"] if (p := _moment_problem(line, _TIMES))), None
        )
        if problem is not None:
            raise ValueError(problem)
        if len(data["processes"]) > MAX_PROCESSES:
            raise ValueError(f"more than {MAX_PROCESSES} processes")
        if not 0 <= data["seconds"] <= MAX_SECONDS:
            raise ValueError(f"'seconds' is {data['seconds']!r}")
        # The links are the client's own files, by name: never a path or address
        # the file chose (it may come from another machine).
        prefix = f"{data['client']}/" if data["client"] else ""
        for key, page in (("dashboard", "index.html"), ("report", "report.html")):
            if data[key] not in (None, prefix + page):
                raise ValueError(f"{key!r} is not {prefix + page!r}")
        # Written by another run, maybe another machine (a shard): what a person is
        # shown is made safe and bounded here, as if it came from an ERP.
        values = dict(data)
        values["end"] = ClientEnd(values["end"])
        values["title"] = shown(data["title"], MAX_TITLE)
        values["problem"] = shown(data["problem"], MAX_PROBLEM)
        values["processes"] = tuple(
            ProcessLine(**{**line, "status": Status(line["status"]),
                           "title": shown(line["title"], MAX_TITLE)})
            for line in data["processes"]
        )  # fmt: skip
        return cls(**values)


_ENTRY_SHAPE = dataclass_shape(
    ClientEntry, end=OneOf(tuple(ClientEnd)), processes=list, dashboard=Maybe(str),
    report=Maybe(str), run_id=Maybe(str), started_at=MOMENT,
)  # fmt: skip
_LINE_SHAPE = dataclass_shape(
    ProcessLine, status=OneOf(tuple(Status)), failing_since=Maybe(MOMENT), last_mail=Maybe(MOMENT)
)


_TIMES = ("failing_since", "last_mail")


def _line_problem(line: object) -> str | None:
    return problem_of(line, _LINE_SHAPE)


@dataclass(frozen=True)
class Fleet:
    """Every client of one fleet run (or of several shards, put together)."""

    generated_at: str
    clients: tuple[ClientEntry, ...]
    set_aside: tuple[str, ...] = field(default=())  # entries that could not be read

    @property
    def worst(self) -> ClientEnd:
        ends = [entry.end for entry in self.clients] or [ClientEnd.PASSED]
        return max(ends, key=lambda end: end.severity)

    @property
    def exit_code(self) -> int:
        return self.worst.exit_code

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": FLEET_SCHEMA,
            "generated_at": self.generated_at,
            "exit_code": self.exit_code,
            "clients": [entry.to_dict() for entry in self.clients],
            "set_aside": list(self.set_aside),
        }


def shown(text: str, limit: int) -> str:
    """One line, no control characters, at most ``limit`` characters."""
    text = safe_text(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bounded(path: Path) -> str:
    """A regular file's text, at most MAX_ENTRY_BYTES: a link, a device or a pipe
    in a folder that came from elsewhere is not read."""
    if not stat.S_ISREG(path.lstat().st_mode):
        raise ValueError("not a regular file")
    with path.open("rb") as stream:
        data = stream.read(MAX_ENTRY_BYTES + 1)
    if len(data) > MAX_ENTRY_BYTES:
        raise ValueError(f"larger than {MAX_ENTRY_BYTES // 1000} KB")
    return data.decode("utf-8")


def _moment_problem(values: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """A time that cannot be shown in every time zone (year 1 or 9999 at the edge)."""
    for key in keys:
        text = values.get(key)
        if isinstance(text, str):
            try:
                year = datetime.fromisoformat(text).astimezone(UTC).year
            except (OverflowError, ValueError):
                year = 0
            if not 1970 <= year <= 9000:
                return f"{key!r} is {text[:40]!r}"
    return None


def write_entry(folder: Path, entry: ClientEntry) -> None:
    write_atomically(folder / ENTRY_FILE, json.dumps(entry.to_dict(), indent=2) + "\n")


def read_entries(
    reports: Path, clients: Collection[str] | None = None
) -> tuple[list[ClientEntry], list[str]]:
    """Every ``<reports>/<client>/fleet-entry.json`` (and ``<reports>/fleet-entry.json``
    for a one-config project), of ``clients`` when given (a client no longer in
    clients/ is not news); a damaged one is named, not trusted."""
    entries: list[ClientEntry] = []
    damaged: list[str] = []
    paths = sorted(reports.glob(f"*/{ENTRY_FILE}")) + sorted(reports.glob(ENTRY_FILE))
    for path in paths:
        folder = "" if path.parent == reports else path.parent.name
        if clients is not None and folder not in clients:
            continue
        if len(entries) + len(damaged) >= MAX_ENTRIES:
            damaged.append(f"more than {MAX_ENTRIES} client entries: the rest left out")
            break
        try:
            entry = ClientEntry.from_dict(json.loads(_bounded(path)))
            if entry.client != folder:
                raise ValueError(f"it names the client {entry.client[:40]!r}")
            entries.append(entry)
        except (OSError, ValueError) as error:
            damaged.append(f"{path.relative_to(reports)}: {safe_text(str(error))[:120]}")
    return entries, damaged

"""What one client's run left behind (summary.json, the alert state, its log),
read back into the fleet's entry for that client. Each file may be missing or
damaged: the entry then says less, and never stops the overview."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .._vocabulary import ClientEnd, Role, Status
from ._model import MAX_PROBLEM, ClientEntry, ProcessLine, shown

if TYPE_CHECKING:
    from ..alerts import State
    from ._runner import Prepared

_PROBLEM_LINE = re.compile(r"(ERROR|error:|CONFIGURATION|HARNESS|Traceback|Error\b|INTERRUPTED)")


def client_title(prepared: Prepared) -> str:
    """The client's name as its mails give it: the name of its client group."""
    groups = prepared.settings.mail.groups.values()
    named = next((g.name for g in groups if g.role is Role.CLIENT), None)
    return named or prepared.client.label


def entry_after_run(
    prepared: Prepared, started: datetime, seconds: float, code: int, problem: str, root: Path
) -> ClientEntry:
    folder = prepared.reports_dir
    summary = _json(folder / "summary.json")
    state = _state(prepared.settings.alerts.state_file)
    processes = _lines(summary, state, prepared)
    if code == 1 and not problem:
        failing = [line.title for line in processes if line.status is Status.FAILED]
        problem = ", ".join(failing)
    link = f"{prepared.client.name}/" if prepared.client.name else ""
    return ClientEntry(
        client=prepared.client.name,
        title=client_title(prepared),
        end=ClientEnd.of_exit(code),
        exit_code=code,
        started_at=started.isoformat(timespec="seconds"),
        seconds=round(seconds, 2),
        problem=shown(problem, MAX_PROBLEM),
        run_id=str(summary["run_id"])
        if isinstance(summary, dict) and "run_id" in summary
        else None,
        processes=processes,
        dashboard=f"{link}index.html" if (folder / "index.html").is_file() else None,
        report=f"{link}report.html" if (folder / "report.html").is_file() else None,
    )


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _state(path: Path) -> State | None:
    from ..alerts._state import parse_state

    data = _json(path)
    try:
        return parse_state(data)[0] if data is not None else None
    except ValueError:
        return None


def _lines(summary: object, state: State | None, prepared: Prepared) -> tuple[ProcessLine, ...]:
    """Per process of the run: its status, since when it fails, its last mail."""
    if not isinstance(summary, dict) or not isinstance(summary.get("processes"), list):
        return ()
    lines = []
    for process in summary["processes"]:
        try:
            name, monitors = str(process["name"]), [str(m) for m in process["monitors"]]
            status = Status(process["outcome"])
        except (KeyError, TypeError, ValueError):
            continue
        settings = prepared.settings.process(name)
        title = settings.title_in("en") if settings is not None else str(process.get("title", name))
        since, mailed = [], []
        for monitor in monitors:
            entry = state.monitors.get(monitor) if state is not None else None
            if entry is None:
                continue
            if entry.failing.bad and entry.failing.since:
                since.append(entry.failing.since)
            mailed += [t.last_notified for t in (entry.failing, entry.slow) if t.last_notified]
        lines.append(
            ProcessLine(
                name=name,
                title=title,
                status=status,
                failing_since=min(since, key=_moment) if since else None,
                last_mail=max(mailed, key=_moment) if mailed else None,
            )
        )
    return tuple(lines)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def log_tail(log: Path, size: int) -> list[str]:
    """The last lines of a client's log, from at most its last ``size`` bytes: the
    end says why it ended. OSError when it cannot be read."""
    with log.open("rb") as stream:
        stream.seek(0, 2)
        stream.seek(max(0, stream.tell() - size))
        return stream.read().decode("utf-8", "replace").splitlines()


def problem_in_log(log: Path) -> str | None:
    """The line of a client's log that says why it stopped: the last error line."""
    try:
        lines = log_tail(log, 64_000)
    except OSError:
        return None
    found = [line.strip() for line in lines if line.strip() and _PROBLEM_LINE.search(line)]
    return found[-1] if found else None

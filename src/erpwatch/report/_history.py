"""Run history: one compact JSON line per run, next to the alert state, kept
for a bounded time so it survives scheduled runs the way the state does.

Every run rewrites the file to drop old records, so two runs at once would
each write back what they read and one record would be lost: the rewrite
happens under a lock. A line that is not a record is skipped when read and,
at the next rewrite, kept aside in ``history.jsonl.corrupt-<time>`` rather than
silently dropped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._files import (
    MOMENT,
    FileLockTimeout,
    Maybe,
    aside_path,
    exclusive_lock,
    problem_of,
    write_atomically,
)
from .._vocabulary import Outcome
from ..result import MailRecord, RunResult

KEEP_DAYS = 90


def record_of(run: RunResult, at: datetime, mails: Sequence[MailRecord]) -> dict[str, Any]:
    """What the dashboard needs of a run, and no more: outcome, category, call durations."""
    return {
        "run_id": run.run_id,
        "at": at.isoformat(timespec="seconds"),
        "url": run.run_url,
        "monitors": [
            {
                "nodeid": m.nodeid,
                "process": m.process or "unassigned",
                "status": m.status,
                "category": m.diagnosis.category.value if m.diagnosis else None,
                "call": m.diagnosis.headline
                if m.diagnosis and m.outcome is Outcome.FAILED
                else None,
                "ms": [round(e.duration_ms) for e in m.exchanges if e.status is not None],
            }
            for m in run.monitors
        ],
        "mails": [{"group": d.group, "status": d.status, "subject": d.subject} for d in mails],
    }


# What the dashboard reads of a record (record_of writes it). Open-ended: a record
# with more in it, from a later erpwatch, is still a record.
_MONITOR = {
    "nodeid": str,
    "process": str,
    "status": str,
    "category": Maybe(str),
    "call": Maybe(str),
    "ms": list[float],
}
_MAIL = {"group": str, "status": str, "subject": str}


def problem_of_record(record: object) -> str | None:
    """What makes a decoded line no history record, or None."""
    problem = problem_of(
        record,
        {"run_id": str, "at": MOMENT, "url": Maybe(str), "monitors": list, "mails": list},
        open_ended=True,
    )
    if problem is not None:
        return problem
    assert isinstance(record, dict)
    for key, shape in (("monitors", _MONITOR), ("mails", _MAIL)):
        for index, item in enumerate(record[key]):
            problem = problem_of(item, shape, open_ended=True)
            if problem is not None:
                return f"{key}[{index}]: {problem}"
    return None


class HistoryLockTimeout(FileLockTimeout):
    """Another run holds the history for longer than erpwatch waits."""


@dataclass(frozen=True)
class DamagedLine:
    number: int  # 1-based, as an editor shows it
    raw: bytes
    problem: str


@dataclass
class History:
    path: Path
    keep: timedelta = timedelta(days=KEEP_DAYS)
    lock_timeout: float = 120.0
    warnings: list[str] = field(default_factory=list)

    def load(self) -> list[dict[str, Any]]:
        """Every record, oldest first; a damaged line is skipped with a warning."""
        records, damaged = self._read()
        if damaged:
            self._warn(damaged, None)
        return records

    def append(self, record: dict[str, Any]) -> None:
        """Add a run; drop what is older than the window (by rewriting, atomically,
        under the lock); move damaged lines aside."""
        with exclusive_lock(self.path, self.lock_timeout, HistoryLockTimeout):
            records, damaged = self._read()
            aside = None
            if damaged:
                aside = aside_path(self.path)
                # Exclusive creation: never overwrite what an earlier run set aside.
                with aside.open("xb") as stream:
                    stream.writelines(line.raw + b"\n" for line in damaged)
                self._warn(damaged, aside)
            now = datetime.fromisoformat(record["at"])
            kept = [r for r in records if now - datetime.fromisoformat(r["at"]) <= self.keep]
            kept.append(record)
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
            write_atomically(self.path, text)

    def _read(self) -> tuple[list[dict[str, Any]], list[DamagedLine]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return [], []
        records: list[dict[str, Any]] = []
        damaged: list[DamagedLine] = []
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except (ValueError, RecursionError) as error:  # not UTF-8, or not JSON
                damaged.append(DamagedLine(number, line, f"not JSON ({type(error).__name__})"))
                continue
            problem = problem_of_record(record)
            if problem is not None:
                damaged.append(DamagedLine(number, line, f"not a run record: {problem}"))
                continue
            records.append(record)
        return records, damaged

    def _warn(self, damaged: list[DamagedLine], aside: Path | None) -> None:
        first = damaged[0]
        where = (
            f"kept in {aside.name}"
            if aside is not None
            else "they are kept aside when the next run writes the history"
        )
        self.warnings.append(
            f"{len(damaged)} damaged line(s) of {self.path} skipped "
            f"(line {first.number}: {first.problem}); {where}"
        )

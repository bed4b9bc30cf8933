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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._files import (
    MOMENT,
    FileLockTimeout,
    Maybe,
    exclusive_lock,
    keep_lines_aside,
    problem_of,
    write_atomically,
)
from .._vocabulary import Outcome
from .._words import one_line
from ..result import MailRecord, MonitorResult, RunResult

if TYPE_CHECKING:
    from ..notify import Digest

KEEP_DAYS = 90
# The monthly archive: one append-only file per UTC month, 13 whole months back
# and the current one, so last year's same month can still be reported.
KEEP_MONTHS = 13
# Bounds on what one record quotes: a hostile ERP's answer cannot grow the files.
TEXT_LIMIT = 300
CALL_LIMIT = 160
# A month file past this size takes no more records (with a warning): at one
# run every five minutes (GitHub's shortest schedule), a month is about a third of it.
MONTH_FILE_LIMIT = 64 * 1024 * 1024


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else one_line(text, limit)


def _monitor_record(m: MonitorResult) -> dict[str, Any]:
    """One monitor's run as the dashboard and the monthly report read it."""
    failed = m.diagnosis is not None and m.outcome is Outcome.FAILED
    answered = [e for e in m.exchanges if e.status is not None]
    entry: dict[str, Any] = {
        "nodeid": m.nodeid,
        "process": m.process or "unassigned",
        "status": m.status,
        "category": m.diagnosis.category.value if m.diagnosis else None,
        "call": _clip(m.diagnosis.headline, TEXT_LIMIT) if m.diagnosis and failed else None,
        "ms": [round(e.duration_ms) for e in answered],
    }
    if answered:  # the slowest call, named: "slowest calls against the threshold"
        slowest = max(answered, key=lambda e: e.duration_ms)
        entry["slowest"] = [_clip(slowest.call, CALL_LIMIT), round(slowest.duration_ms)]
    if m.flaky:
        entry["flaky"] = True  # passed on the second try: not down
    if m.diagnosis is not None and failed:
        d = m.diagnosis
        entry["failed_call"] = _clip(d.call, CALL_LIMIT)
        entry["answer"] = _clip(
            " ".join(str(p) for p in (d.status, d.erp_code) if p is not None) or None, 80
        )
        entry["erp"] = _clip(d.erp_message or d.error or d.reason, TEXT_LIMIT)
    return entry


def record_of(run: RunResult, at: datetime, mails: Sequence[MailRecord]) -> dict[str, Any]:
    """What the dashboard and the monthly report need of a run, and no more:
    outcome, category, the failing call and the ERP's words, call durations."""
    return {
        "run_id": run.run_id,
        "at": at.isoformat(timespec="seconds"),
        "url": run.run_url,
        "monitors": [_monitor_record(m) for m in run.monitors],
        "mails": [
            {"group": d.group, "status": d.status, "subject": d.subject}
            | ({} if d.channel == "mail" else {"channel": d.channel})
            for d in mails
        ],
    }


def describe_mails(record: dict[str, Any], digests: Sequence[Digest]) -> None:
    """Say of each mail of ``record`` what it was about: ``[process, kind,
    aspect]`` per incident, so the month can tell when an outage was first mailed."""
    about = {
        digest.group.key: [
            [process, incident.kind.value, incident.aspect.value]
            for incident in digest.incidents
            for process in incident.affected
        ]
        for digest in digests
    }
    for mail in record["mails"]:
        if mail["group"] in about:
            mail["about"] = about[mail["group"]]


def month_of(moment: datetime) -> str:
    """The archive month of a moment: ``2026-11``, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def month_path(history: Path, month: str) -> Path:
    """``history-2026-11.jsonl`` beside ``history.jsonl``."""
    return history.with_name(f"{history.stem}-{month}{history.suffix}")


def shift_month(month: str, by: int) -> str:
    """``2026-11`` moved by ``by`` months: ``shift_month("2026-01", -1) == "2025-12"``."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


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
                aside = keep_lines_aside(self.path, (line.raw for line in damaged))
                self._warn(damaged, aside)
            now = datetime.fromisoformat(record["at"])
            kept = [r for r in records if now - datetime.fromisoformat(r["at"]) <= self.keep]
            kept.append(record)
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
            write_atomically(self.path, text)
            self._archive(record, month_of(now))

    def _archive(self, record: dict[str, Any], month: str) -> None:
        """Append the record to its month's file (a line, never a rewrite: the
        archive grows by one record per run) and delete months past keeping."""
        path = month_path(self.path, month)
        size = path.stat().st_size if path.exists() else 0
        if size > MONTH_FILE_LIMIT:
            self.warnings.append(
                f"{path.name} is over {MONTH_FILE_LIMIT // 2**20} MB: this run is not archived"
            )
        else:
            with path.open("ab") as stream:
                if size and not _ends_with_newline(path):
                    stream.write(b"\n")  # a line cut short by a crash stays its own (damaged) line
                stream.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
        oldest = shift_month(month, -KEEP_MONTHS)
        for old in self.path.parent.glob(f"{self.path.stem}-*{self.path.suffix}"):
            stamp = old.name[len(self.path.stem) + 1 : -len(self.path.suffix)]
            if _is_month(stamp) and stamp < oldest:
                old.unlink(missing_ok=True)

    def months(self, months: Sequence[str]) -> list[dict[str, Any]]:
        """Every archived record of these months (``2026-11``), oldest first; a
        damaged line is skipped with a warning."""
        records: list[dict[str, Any]] = []
        for month in sorted(set(months)):
            path = month_path(self.path, month)
            found, damaged = self._read(path)
            if damaged:
                self._warn(damaged, None, path)
            records += found
        return sorted(records, key=lambda r: datetime.fromisoformat(r["at"]))

    def _read(self, path: Path | None = None) -> tuple[list[dict[str, Any]], list[DamagedLine]]:
        try:
            raw = (path or self.path).read_bytes()
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

    def _warn(
        self, damaged: list[DamagedLine], aside: Path | None, path: Path | None = None
    ) -> None:
        first = damaged[0]
        if path is not None:  # an archive month: read as it is, never rewritten
            where = "the file is left as it is"
        elif aside is not None:
            where = f"kept in {aside.name}"
        else:
            where = "they are kept aside when the next run writes the history"
        self.warnings.append(
            f"{len(damaged)} damaged line(s) of {path or self.path} skipped "
            f"(line {first.number}: {first.problem}); {where}"
        )


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as stream:
        stream.seek(-1, 2)
        return stream.read(1) == b"\n"


def _is_month(text: str) -> bool:
    return len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit()

"""Run history: one compact JSON line per run, next to the alert state, kept
for a bounded time so it survives scheduled runs the way the state does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..result import RunResult, write_atomically

KEEP_DAYS = 90


def record_of(run: RunResult, at: datetime, mails: list[dict[str, Any]]) -> dict[str, Any]:
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
                "call": m.diagnosis.headline if m.diagnosis and m.outcome == "failed" else None,
                "ms": [round(e.duration_ms) for e in m.exchanges if e.status is not None],
            }
            for m in run.monitors
        ],
        "mails": [
            {"group": d["group"], "status": d["status"], "subject": d["subject"]} for d in mails
        ],
    }


@dataclass
class History:
    path: Path
    keep: timedelta = timedelta(days=KEEP_DAYS)

    def load(self) -> list[dict[str, Any]]:
        """Every readable record, oldest first; a damaged line is skipped, not fatal."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def append(self, record: dict[str, Any]) -> None:
        """Add a run; drop what is older than the window (by rewriting, atomically)."""
        now = datetime.fromisoformat(record["at"])
        kept = [r for r in self.load() if now - datetime.fromisoformat(r["at"]) <= self.keep]
        kept.append(record)
        write_atomically(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))

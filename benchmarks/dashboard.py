"""How long the dashboard takes to render from a full history, and how big it is.

90 days of runs every 15 minutes (8,640 runs) for ten monitors in five
processes, with an incident now and then. Prints a small table.

    .venv/bin/python benchmarks/dashboard.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from erpwatch._files import write_atomically
from erpwatch.config import load_settings
from erpwatch.report import History, render_dashboard

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ("customers", "orders", "payments", "punchout", "stock")


def history(days: int = 90, monitors_per_process: int = 2) -> list[dict[str, Any]]:
    start = datetime(2026, 8, 29, tzinfo=UTC)
    records = []
    for index in range(days * 96):
        at = start + timedelta(minutes=15 * index)
        monitors = []
        for p, process in enumerate(PROCESSES):
            for m in range(monitors_per_process):
                failing = (index + 37 * p) % 700 < 6  # a 90-minute incident every week or so
                monitors.append(
                    {
                        "nodeid": f"monitors/test_{process}.py::test_{m}",
                        "process": process,
                        "status": "failed" if failing else "passed",
                        "category": "rejected" if failing else None,
                        "call": "POST /companies(…)/salesOrders → 400 Application_FieldValidationException"
                        if failing
                        else None,
                        "ms": [80 + (index * 7 + m) % 400, 120 + (index * 13) % 900],
                    }
                )
        records.append(
            {
                "run_id": str(index),
                "at": at.isoformat(),
                "url": None,
                "monitors": monitors,
                "mails": [],
            }
        )
    return records


def main() -> int:
    settings = load_settings(ROOT / "erpwatch.toml", {})
    records = history()
    now = datetime.fromisoformat(records[-1]["at"])
    with tempfile.TemporaryDirectory() as folder:
        stored = History(Path(folder) / "history.jsonl")
        write_atomically(stored.path, "".join(json.dumps(r) + "\n" for r in records))
        began = time.perf_counter()
        loaded = stored.load()
        load_time = time.perf_counter() - began
        file_size = stored.path.stat().st_size
    assert len(loaded) == len(records)
    timings = []
    page = ""
    for _ in range(5):
        began = time.perf_counter()
        page = render_dashboard(records, settings, now)
        timings.append(time.perf_counter() - began)
    print("| what | value |")
    print("| --- | --- |")
    print(
        f"| runs in the history | {len(records):,} ({len(records[0]['monitors'])} monitors each) |"
    )
    print(f"| render time, median of 5 | {statistics.median(timings) * 1000:.0f} ms |")
    print(f"| render time, fastest | {min(timings) * 1000:.0f} ms |")
    print(f"| page size | {len(page.encode()):,} bytes |")
    print(f"| history file | {file_size:,} bytes, read in {load_time * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

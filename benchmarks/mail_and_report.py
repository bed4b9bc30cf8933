"""Composing a digest with 50 failures, and the report fragments: time and size.

cd benchmarks && ../.venv/bin/python mail_and_report.py
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from erpwatch._preview import example_run
from erpwatch.config import load_settings
from erpwatch.notify import Incident, RunContext, compose, plan_digests
from erpwatch.notify._plan import merge_incidents
from erpwatch.report import diagnosis_html, exchanges_html

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    settings = load_settings(ROOT / "erpwatch.toml", {})
    run = example_run(settings)
    monitor = run.monitors[0]
    assert monitor.diagnosis is not None
    now = datetime(2026, 11, 27, 20, 4, tzinfo=UTC)
    # Fifty failing processes in one digest (the same failure, fifty names).
    incidents = merge_incidents(
        Incident(
            "alert",
            f"process_{i}",
            monitor.diagnosis,
            (f"monitors/test_{i}.py::t",),
            monitor.failing,
            now,
            now,
        )
        for i in range(50)
    )
    mail = replace(settings.mail, routing={f"process_{i}": ("client",) for i in range(50)})
    [digest] = plan_digests(incidents, mail)
    context = RunContext(run.run_id, "https://github.com/a/b/actions/runs/1", None, now)
    timings, message = [], None
    for _ in range(5):
        began = time.perf_counter()
        message = compose(digest, replace(settings, mail=mail), context)
        timings.append(time.perf_counter() - began)
    assert message is not None
    fragments = []
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(50):
            diagnosis_html(monitor.diagnosis, monitor.exchanges, "Order submission")
            exchanges_html(monitor.exchanges)
        fragments.append(time.perf_counter() - began)
    print("| what | time (median of 5) | size |")
    print("| --- | --- | --- |")
    print(
        f"| digest with 50 failures (text + HTML) | {statistics.median(timings) * 1000:.0f} ms | {len(message.as_bytes()):,} bytes |"
    )
    one = diagnosis_html(monitor.diagnosis, monitor.exchanges, "Order submission") + exchanges_html(
        monitor.exchanges
    )
    print(
        f"| report fragments for 50 failed monitors | {statistics.median(fragments) * 1000:.0f} ms | {50 * len(one.encode()):,} bytes |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

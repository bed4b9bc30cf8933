"""A run should take as long as the slowest calls it waits for, not their sum.

40 monitors each wait about one second on a slow sandbox endpoint; wall time
with -n 1, 4, 8 and auto against the ideal (total wait ÷ workers).

    cd benchmarks && ../.venv/bin/python concurrency.py
"""

from __future__ import annotations

import os
import sys

from _project import erp_project, project, timed

from erpwatch.sandbox import parse_fault, start

MONITORS, DELAY = 40, 1.0


def main() -> int:
    folder = erp_project(MONITORS)
    with start() as sandbox:
        sandbox.app.add_fault(parse_fault(f"slow:items:GET,delay={DELAY}"), sandbox.root_url)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ERP_", "ERPWATCH_", "PYTEST_"))
        }
        env.update(sandbox.settings())
        print("| workers | wall time | ideal | ratio to ideal |")
        print("| --- | --- | --- | --- |")
        for workers in ("1", "4", "8", "auto"):
            seconds, done = timed(["-n", workers, "test_erp.py"], folder, env)
            assert done.returncode == 0, done.stdout[-2000:]
            count = (os.cpu_count() or 1) if workers == "auto" else int(workers)
            ideal = MONITORS * DELAY / count
            print(
                f"| {workers} ({count}) | {seconds:.1f} s | {ideal:.1f} s | {seconds / ideal:.2f} |"
            )
        # Where the rest goes: without the wait, a run is start-up and calls only;
        # plain pytest + xdist on the same number of calls shows what is xdist's.
        sandbox.app.faults.clear()
        plain = project(MONITORS)
        plain_env = {
            **env,
            "BENCH_METHOD": "GET",
            "BENCH_URL": sandbox.root_url + "/_sandbox/health",
        }
        for workers in ("1", "8"):
            seconds, _ = timed(["-n", workers, "test_erp.py"], folder, env)
            print(f"| {workers}, no wait, with erpwatch | {seconds:.1f} s | | |")
            seconds, _ = timed(["-n", workers, "-p", "no:erpwatch", "plain"], plain, plain_env)
            print(f"| {workers}, no wait, plain pytest + xdist | {seconds:.1f} s | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

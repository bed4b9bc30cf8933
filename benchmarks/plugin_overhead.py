"""What erpwatch costs on top of plain pytest + requests.

500 monitors, each making one call to a local sandbox, run with erpwatch
(capture, diagnosis, reports, alert state, history, dashboard) and without it
(`-p no:erpwatch`, the same calls), side by side, three times each; then the
same with a fifth of the monitors failing. Prints a small table.

    .venv/bin/python benchmarks/plugin_overhead.py [COUNT]
"""

from __future__ import annotations

import os
import statistics
import sys

from _project import project, timed

from erpwatch.sandbox import start


def measure(count: int, failing: bool) -> tuple[float, float]:
    folder = project(count, failing=failing)
    with start() as sandbox:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ERP_", "ERPWATCH_", "PYTEST_"))
        }
        env.update(sandbox.settings(), BENCH_ROOT=sandbox.root_url)
        with_plugin, without = [], []
        for _ in range(3):
            seconds, done = timed(["test_erpwatch.py"], folder, env)
            assert done.returncode in (0, 1), done.stdout[-2000:]
            with_plugin.append(seconds)
            seconds, done = timed(["-p", "no:erpwatch", "plain"], folder, env)
            assert done.returncode in (0, 1), done.stdout[-2000:]
            without.append(seconds)
    return statistics.median(with_plugin), statistics.median(without)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    print("| monitors | failing | plain pytest | with erpwatch | ratio | overhead per monitor |")
    print("| --- | --- | --- | --- | --- | --- |")
    for failing in (False, True):
        plugin, plain = measure(count, failing)
        share = "20 %" if failing else "0 %"
        per = (plugin - plain) / count * 1000
        print(
            f"| {count} | {share} | {plain:.2f} s | {plugin:.2f} s | {plugin / plain:.2f} | {per:.1f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What erpwatch costs on top of plain pytest + requests.

500 monitors, each making one call to a local sandbox, run with erpwatch
(capture, diagnosis, reports, alert state, history, dashboard) and without it
(`-p no:erpwatch`, the same calls), side by side, three times each; then the
same with a fifth of the monitors failing. A loopback call takes about a
millisecond, far less than any real ERP call, so the same is measured with
the call taking 50 ms (the sandbox's token endpoint, slowed), a fast ERP.
Prints a small table.

    cd benchmarks && ../.venv/bin/python plugin_overhead.py [COUNT] [LATENCY_COUNT]
"""

from __future__ import annotations

import json
import os
import statistics
import sys

from _project import project, timed

from erpwatch.sandbox import parse_fault, start

LATENCY = 0.05


def measure(count: int, failing: bool, latency: float = 0.0) -> tuple[float, float]:
    folder = project(count, failing=failing)
    with start() as sandbox:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ERP_", "ERPWATCH_", "PYTEST_"))
        }
        settings = sandbox.settings()
        env.update(settings, BENCH_METHOD="GET", BENCH_URL=sandbox.root_url + "/_sandbox/health")
        if latency:
            sandbox.app.add_fault(parse_fault(f"slow:token:POST,delay={latency}"), sandbox.root_url)
            form = {
                "grant_type": "client_credentials",
                "client_id": settings["ERP_CLIENT_ID"],
                "client_secret": settings["ERP_CLIENT_SECRET"],
            }
            env.update(
                BENCH_METHOD="POST",
                BENCH_URL=settings["ERP_TOKEN_URL"],
                BENCH_FORM=json.dumps(form),
            )
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
    latency_count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    print(
        "| monitors | call takes | failing | plain pytest | with erpwatch | ratio | overhead per monitor |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    cases = [(count, False, 0.0), (count, True, 0.0), (latency_count, False, LATENCY)]
    cases.append((latency_count, True, LATENCY))
    for monitors, failing, latency in cases:
        plugin, plain = measure(monitors, failing, latency)
        share = "20 %" if failing else "0 %"
        call = f"{latency * 1000:.0f} ms" if latency else "~1 ms (loopback)"
        per = (plugin - plain) / monitors * 1000
        print(
            f"| {monitors} | {call} | {share} | {plain:.2f} s | {plugin:.2f} s "
            f"| {plugin / plain:.2f} | {per:.1f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run time and peak memory for 10, 100 and 1,000 monitors reading the item list
(a realistic 4 KB body) through the ERP client; both should grow linearly.

    cd benchmarks && ../.venv/bin/python growth.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from _project import erp_project

from erpwatch.sandbox import start

# Runs pytest in-process, then reports this process's peak memory.
RUNNER = (
    "import resource, sys, pytest; code = pytest.main(['-q', '-p', 'no:cacheprovider', 'test_erp.py']); "
    "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)"
)


def main() -> int:
    print(
        "| monitors | wall time | per monitor | peak memory | summary.json | exchanges kept per monitor (most) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    with start() as sandbox:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ERP_", "ERPWATCH_", "PYTEST_"))
        }
        env.update(sandbox.settings())
        for count in (10, 100, 1000):
            folder = erp_project(count)
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", RUNNER],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            seconds = time.perf_counter() - began
            assert done.returncode == 0, done.stdout[-2000:]
            peak_mb = int(done.stdout.rsplit("PEAK", 1)[1].split()[0]) / 1024
            summary = folder / "reports" / "summary.json"
            most = max(len(m["exchanges"]) for m in json.loads(summary.read_text())["monitors"])
            print(
                f"| {count:,} | {seconds:.1f} s | {seconds / count * 1000:.1f} ms | {peak_mb:.0f} MB "
                f"| {summary.stat().st_size:,} bytes | {most} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

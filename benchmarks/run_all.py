"""Every benchmark, one after the other, in one run: the figures in README.md
come from one invocation of this script, so they are comparable.

    cd benchmarks && ../.venv/bin/python run_all.py
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    "plugin_overhead.py",
    "concurrency.py",
    "growth.py",
    "mail_and_report.py",
    "sandbox_rps.py",
    "dashboard.py",
    "fleet.py",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> int:
    print(f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for script in SCRIPTS:
        began = time.perf_counter()
        print(f"\n## {script}\n", flush=True)
        done = subprocess.run([sys.executable, script], cwd=HERE, check=False)
        print(f"\n({script}: {time.perf_counter() - began:.0f} s)", flush=True)
        if done.returncode != 0:
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())

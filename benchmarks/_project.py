"""Throwaway monitor projects for the benchmarks: N monitors, each one call."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """
[erpwatch]
monitors = "."
reports = "{reports}"

[alerts]
retry_delay = 0.1

[processes.bench]
title = "Benchmark"
"""

# The same call in both: BENCH_METHOD BENCH_URL, with the BENCH_FORM fields.
CALL = """
import json
import os

import pytest
import requests

FORM = json.loads(os.environ.get("BENCH_FORM") or "{{}}") or None

@pytest.mark.parametrize("n", range({count}))
def test_call(n):
    answer = requests.request(
        os.environ["BENCH_METHOD"], os.environ["BENCH_URL"], data=FORM, timeout=30
    )
    assert answer.status_code == 200 or n % 5 != 0 or not {failing}
"""
MONITOR = 'pytestmark = __import__("pytest").mark.process("bench")\n' + CALL
PLAIN = CALL


ERP_MONITOR = """
import pytest

pytestmark = pytest.mark.process("bench")

@pytest.mark.parametrize("n", range({count}))
def test_items(n, erp):
    assert len(erp.find("items")) > 5
"""


def erp_project(count: int) -> Path:
    """Monitors that read the item list through the ERP client: realistic bodies."""
    folder = Path(tempfile.mkdtemp(prefix="erpwatch-bench-"))
    (folder / "erpwatch.toml").write_text(CONFIG.format(reports=folder / "reports"))
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "test_erp.py").write_text(ERP_MONITOR.format(count=count))
    return folder


def project(count: int, *, failing: bool = False) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="erpwatch-bench-"))
    (folder / "erpwatch.toml").write_text(CONFIG.format(reports=folder / "reports"))
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "test_erpwatch.py").write_text(MONITOR.format(count=count, failing=failing))
    plain = folder / "plain"
    plain.mkdir()
    (plain / "test_plain.py").write_text(PLAIN.format(count=count, failing=failing))
    return folder


def timed(
    args: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)  # fmt: skip
    return time.perf_counter() - began, done

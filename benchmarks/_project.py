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

MONITOR = """
import pytest
import requests

pytestmark = pytest.mark.process("bench")

@pytest.mark.parametrize("n", range({count}))
def test_call(n, erpwatch_settings):
    erp = erpwatch_settings.erp
    answer = requests.get(erp.base_url.removesuffix("/api/v2.0") + "{path}", timeout=30)
    assert answer.status_code == 200 or n % 5 != 0 or not {failing}
"""

PLAIN = """
import os
import pytest
import requests

@pytest.mark.parametrize("n", range({count}))
def test_call(n):
    answer = requests.get(os.environ["BENCH_ROOT"] + "{path}", timeout=30)
    assert answer.status_code == 200 or n % 5 != 0 or not {failing}
"""


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


def project(count: int, *, path: str = "/_sandbox/health", failing: bool = False) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="erpwatch-bench-"))
    (folder / "erpwatch.toml").write_text(CONFIG.format(reports=folder / "reports"))
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "test_erpwatch.py").write_text(
        MONITOR.format(count=count, path=path, failing=failing)
    )
    plain = folder / "plain"
    plain.mkdir()
    (plain / "test_plain.py").write_text(PLAIN.format(count=count, path=path, failing=failing))
    return folder


def timed(
    args: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)  # fmt: skip
    return time.perf_counter() - began, done

"""The real monitors in monitors/, run the way the README and the schedule run them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .support import ORDER_MONITOR_FILE, clean_environment, ran, read_summary, run_pytest


def run_monitors(
    tmp_path: Path, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    summary = tmp_path / "summary.json"
    completed = run_pytest(
        "monitors",
        f"--erpwatch-summary={summary}",
        f"--html={tmp_path / 'report.html'}",
        *args,
        env=clean_environment(**env),
    )
    return completed, read_summary(summary)


def test_every_monitor_passes_against_the_built_in_sandbox(tmp_path: Path) -> None:
    completed, data = run_monitors(tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert data["erp"]["sandbox"] is True
    assert {(p["name"], p["outcome"]) for p in data["processes"]} == {
        ("customers", "passed"),
        ("orders", "passed"),
        ("payments", "passed"),
        ("punchout", "passed"),
    }
    assert (tmp_path / "report.html").stat().st_size > 10_000
    skipped = [m for m in data["monitors"] if m["status"] == "skipped"]
    assert {m["nodeid"].split("::")[0] for m in skipped} == {
        "monitors/test_tryton_customer_creation.py",
        "monitors/test_tryton_order_submission.py",
    }
    for checked in ran(data["monitors"]):
        assert checked["leftovers"] == []
        if checked["process"] in ("customers", "orders"):
            assert checked["exchanges"][-1]["method"] == "DELETE"


def test_the_monitors_run_concurrently_under_xdist(tmp_path: Path) -> None:
    completed, data = run_monitors(tmp_path, "-n", "2")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert len(ran(data["monitors"])) == 7
    assert data["outcome"] == "passed"


@pytest.fixture
def separate_sandbox() -> Iterator[dict[str, str]]:
    """`erpwatch sandbox` started by hand, as a newcomer would, in its own process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "erpwatch.cli", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    settings: dict[str, str] = {}
    for line in process.stdout:
        if "=" in line and line.split("=", 1)[0].isupper():
            key, _, value = line.strip().partition("=")
            settings[key] = value
        if line.startswith("Faults:"):
            break
    try:
        yield settings
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_monitors_give_the_same_result_against_a_separately_started_sandbox(
    tmp_path: Path, separate_sandbox: dict[str, str]
) -> None:
    assert set(separate_sandbox) >= {
        "ERP_BASE_URL",
        "ERP_TOKEN_URL",
        "ERP_CLIENT_ID",
        "ERP_CLIENT_SECRET",
        "ERP_COMPANY_ID",
        "PSP_BASE_URL",
        "PSP_API_KEY",
        "PAYMENT_WEBHOOK_URL",
        "PUNCHOUT_SETUP_URL",
        "PUNCHOUT_SHARED_SECRET",
        "OCI_URL",
    }
    completed, data = run_monitors(tmp_path, **separate_sandbox)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert data["erp"] == {"base_url": separate_sandbox["ERP_BASE_URL"], "sandbox": False}
    assert data["outcome"] == "passed"
    assert "built-in sandbox" not in completed.stdout


def test_a_fault_in_the_erp_fails_only_the_monitor_it_hits(
    tmp_path: Path, separate_sandbox: dict[str, str]
) -> None:
    import requests

    root = separate_sandbox["ERP_BASE_URL"].removesuffix("/api/v2.0")
    requests.post(
        f"{root}/_sandbox/faults", json={"kind": "cryptic_500", "target": "salesOrders"}, timeout=5
    )
    completed, data = run_monitors(tmp_path, **separate_sandbox)
    assert completed.returncode == 1
    outcomes = {p["name"]: p["outcome"] for p in data["processes"]}
    assert outcomes == {
        "customers": "passed",
        "orders": "failed",
        "payments": "passed",
        "punchout": "failed",  # it reads the sales orders the shop makes, so the fault hits it too
    }
    failed = next(m for m in data["monitors"] if m["nodeid"].startswith(ORDER_MONITOR_FILE))
    assert failed["failing_call"] == "POST /companies(…)/salesOrders"
    assert "500: Internal error 0x8007000E" in failed["message"]
    assert failed["leftovers"] == []  # the customer it created was still removed

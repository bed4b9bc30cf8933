"""A monitor run more than once: erpwatch's own retry after a transient failure, and
pytest-rerunfailures beside it. Real runs against the built-in sandbox, with a fault
injected into the sandbox for the attempts that must fail; and the worker's payload,
read back strictly on the controller."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from erpwatch._payload import FORMAT, DamagedPayload, PhaseReport
from erpwatch.capture import Exchange
from erpwatch.diagnosis import Category, Diagnosis
from erpwatch.synthetic import Leftover

from .support import clean_environment

CONFIG = """
[erpwatch]
monitors = "monitors"
reports = "reports"

[alerts]
retry_delay = 0.1

[processes.customers]
title = "Customer creation"
"""

# T fails once transiently (erpwatch retries it), W fails once for a reason that is
# not transient (only another plugin re-runs it), A fails transiently every time.
# Every attempt leaves a record it cannot remove, named after the attempt.
MONITORS = """
import pytest
import requests

pytestmark = pytest.mark.process("customers")
ATTEMPTS = {}

def attempt(name, synthetic):
    n = ATTEMPTS[name] = ATTEMPTS.get(name, 0) + 1
    def refuse():
        raise RuntimeError("the ERP refused to delete it")
    synthetic.remember(f"customers {name}{n}", refuse)
    return n

def unavailable_once(settings):
    root = settings.erp.base_url.split("/api", 1)[0]
    fault = {"kind": "unavailable", "target": "customers", "method": "GET", "times": 1}
    requests.post(f"{root}/_sandbox/faults", json=fault, timeout=5).raise_for_status()

def test_transient_once(erp, synthetic, erpwatch_settings):
    n = attempt("T", synthetic)
    created = synthetic.create(erp, "customers", {"displayName": f"T attempt {n}"})
    if n == 1:
        unavailable_once(erpwatch_settings)
    erp.read("customers", created["id"])

def test_wrong_once(erp, synthetic):
    n = attempt("W", synthetic)
    synthetic.create(erp, "customers", {"displayName": f"W attempt {n}"})
    assert n > 1, "the first attempt reads back the wrong name"

def test_always_unavailable(erp, synthetic, erpwatch_settings):
    n = attempt("A", synthetic)
    created = synthetic.create(erp, "customers", {"displayName": f"A attempt {n}"})
    unavailable_once(erpwatch_settings)
    erp.read("customers", created["id"])
"""


def project(tmp_path: Path, monitors: str = MONITORS) -> Path:
    (tmp_path / "erpwatch.toml").write_text(CONFIG)
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "test_customers.py").write_text(monitors)
    return tmp_path


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "monitors", *args],
        cwd=root,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def monitors_of(root: Path) -> dict[str, dict[str, Any]]:
    summary = json.loads((root / "reports" / "summary.json").read_text())
    return {m["name"]: m for m in summary["monitors"]}


def attempts_seen(monitor: dict[str, Any], name: str) -> set[str]:
    """Which attempts' calls the monitor's exchanges hold (by the name each created)."""
    bodies = [x["request_body"] or "" for x in monitor["exchanges"] if x["method"] == "POST"]
    return {body.split(f"{name} attempt ", 1)[1][0] for body in bodies if f"{name} attempt" in body}


def leftovers(monitor: dict[str, Any]) -> list[str]:
    return [x["description"] for x in monitor["leftovers"]]


def test_a_retried_monitor_is_counted_once_and_its_first_attempt_shows_as_a_rerun(
    tmp_path: Path,
) -> None:
    root = project(tmp_path)
    result = run(root, "-p", "no:rerunfailures")
    assert result.returncode == 1, result.stdout
    assert "2 failed, 1 passed, 2 rerun" in result.stdout
    monitors = monitors_of(root)
    transient = monitors["test_transient_once"]
    assert (transient["status"], transient["flaky"]) == ("passed", True)
    assert transient["retried"].startswith("GET /companies(…)/customers(…) → 503")
    assert attempts_seen(transient, "T") == {"2"}
    assert leftovers(transient) == ["customers T1", "customers T2"]
    wrong = monitors["test_wrong_once"]
    assert (wrong["status"], wrong["retried"], leftovers(wrong)) == (
        "failed",
        None,
        ["customers W1"],
    )
    always = monitors["test_always_unavailable"]
    assert (always["status"], always["flaky"]) == ("failed", False)
    assert attempts_seen(always, "A") == {"2"}
    assert leftovers(always) == ["customers A1", "customers A2"]
    assert len(monitors) == 3


@pytest.mark.parametrize("workers", ["0", "2"])
def test_beside_rerunfailures_every_attempt_counts_once_and_keeps_its_leftovers(
    tmp_path: Path, workers: str
) -> None:
    root = project(tmp_path)
    result = run(root, "-p", "rerunfailures", "--reruns", "1", "-n", workers)
    assert result.returncode == 1, result.stdout
    # T: erpwatch's retry; W: rerunfailures' re-run; A: erpwatch's retry, then
    # rerunfailures' re-run of the retry that failed too (two superseded attempts).
    assert "1 failed, 2 passed, 4 rerun" in result.stdout
    assert "FLAKY monitors/test_customers.py::test_wrong_once" in result.stdout
    monitors = monitors_of(root)
    assert len(monitors) == 3
    transient = monitors["test_transient_once"]
    assert (transient["status"], transient["flaky"]) == ("passed", True)
    assert leftovers(transient) == ["customers T1", "customers T2"]
    wrong = monitors["test_wrong_once"]
    assert (wrong["status"], wrong["flaky"]) == ("passed", True)
    assert wrong["retried"] == (
        # The monitor author's words; pytest's picture of the operands stays in the report.
        "POST /companies(…)/customers → 201: the first attempt reads back the wrong name "
        "(run again)"
    )
    assert attempts_seen(wrong, "W") == {"2"}
    assert leftovers(wrong) == ["customers W1", "customers W2"]
    always = monitors["test_always_unavailable"]
    assert always["status"] == "failed"
    assert attempts_seen(always, "A") == {"3"}
    assert leftovers(always) == ["customers A1", "customers A2", "customers A3"]
    assert always["duration"] < 30


def test_erpwatch_runs_the_test_protocol_without_pytests_private_modules() -> None:
    source = Path(__file__).resolve().parent.parent / "src" / "erpwatch"
    private = [
        f"{path.name}: {line.strip()}"
        for path in source.rglob("*.py")
        for line in path.read_text().splitlines()
        if line.lstrip().startswith(("import _pytest", "from _pytest"))
    ]
    assert private == []


# -- the worker's payload --------------------------------------------------------------------

PHASE = PhaseReport(
    process="orders",
    critical=True,
    attempt=2,
    exchanges=(
        Exchange(
            "GET",
            "https://erp.example/api/v2.0/customers",
            {},
            None,
            503,
            "Unavailable",
            {"Retry-After": "5"},
            "{}",
            12.5,
            "2026-11-27T20:00:00+00:00",
        ),
    ),
    dropped=3,
    message="ErpCallFailed: 503",
    diagnosis=Diagnosis(Category.MAINTENANCE, "503", status=503, retry_after=5.0),
    leftovers=(Leftover("customers C1", "refused"),),
    retried="GET /customers → 503 (retried: 503)",
)


def test_the_worker_payload_reads_back_as_it_was_sent_through_json() -> None:
    sent = json.loads(json.dumps(PHASE.to_json()))
    assert sent["format"] == FORMAT
    assert PhaseReport.from_json(sent) == PHASE


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda d: "a string", "not an object but str"),
        (lambda d: {**d, "format": "other/1"}, "format 'other/1'"),
        (lambda d: {k: v for k, v in d.items() if k != "format"}, "format None"),
        (lambda d: {**d, "process": 7}, "process: int 7 is not a string or null"),
        (lambda d: {**d, "critical": "yes"}, "critical: str 'yes' is not"),
        (lambda d: {**d, "attempt": True}, "attempt: bool True is not"),
        (lambda d: {**d, "extra": 1}, "extra: not a field erpwatch knows"),
        (lambda d: {**d, "exchanges": {}}, "exchanges: not a list but dict"),
        (lambda d: {**d, "exchanges": [{"method": "GET"}]}, "exchanges[0].url: missing"),
        (
            lambda d: {**d, "diagnosis": {**d["diagnosis"], "category": "weather"}},
            "diagnosis.category: str 'weather' is not",
        ),
        (lambda d: {**d, "leftovers": [["customers", "x"]]}, "leftovers[0]: not an object"),
        (
            lambda d: {**d, "exchanges": [{**d["exchanges"][0], "request_headers": {"a": 1}}]},
            "exchanges[0].request_headers: dict {'a': 1} is not an object of strings",
        ),
    ],
)
def test_a_damaged_or_foreign_payload_is_one_line_naming_the_field(damage: Any, said: str) -> None:
    with pytest.raises(DamagedPayload) as error:
        PhaseReport.from_json(damage(PHASE.to_json()))
    assert said in str(error.value)
    assert "\n" not in str(error.value)


DAMAGING_CONFTEST = """
import pytest

@pytest.hookimpl(wrapper=True, tryfirst=True)  # after erpwatch has attached its payload
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "call" and item.name == "test_damaged":
        report.erpwatch = {**report.erpwatch, "critical": "very"}
    if call.when == "call" and item.name == "test_foreign":
        report.erpwatch = {"hello": "from another plugin"}
    return report
"""

PLAIN_MONITORS = """
import pytest

pytestmark = pytest.mark.process("customers")

def test_damaged():
    pass

def test_foreign():
    pass

def test_fine():
    pass
"""


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_payload_the_controller_cannot_read_is_reported_not_a_crash(
    tmp_path: Path, workers: str
) -> None:
    root = project(tmp_path, PLAIN_MONITORS)
    (root / "conftest.py").write_text(DAMAGING_CONFTEST)
    result = run(root, "-n", workers)
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert "Traceback" not in out
    [line] = [x for x in out.splitlines() if x.startswith("erpwatch: worker reports failed")]
    assert (
        "the call report of monitors/test_customers.py::test_damaged carries a payload "
        "erpwatch cannot read: critical: str 'very' is not a boolean (and 1 more)"
    ) in line
    # The run result is still written, with every monitor pytest ran.
    assert set(monitors_of(root)) == {"test_damaged", "test_foreign", "test_fine"}

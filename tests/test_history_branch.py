"""The run history kept in a git branch (`erpwatch history save|restore`), with a
real git and a bare repository in tmp_path as the remote: what the Actions cache
loses comes back from the branch, and nothing but month files is ever pushed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .support import clean_environment

ERPWATCH = str(Path(sys.executable).parent / "erpwatch")
NOW = "2026-12-01T10:00:00+00:00"  # 13 full months back: November 2025 is kept
BRANCH = "erpwatch-history"
ISOLATED = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(
            **ISOLATED,
            GIT_AUTHOR_NAME="t",
            GIT_AUTHOR_EMAIL="t@t",
            GIT_COMMITTER_NAME="t",
            GIT_COMMITTER_EMAIL="t@t",
        ),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """The monitoring repository on 'GitHub': a bare repository with a main branch."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "init", "--quiet", "--initial-branch=main", str(seed))
    (seed / "README.md").write_text("monitors\n")
    git(seed, "add", "README.md")
    git(seed, "commit", "--quiet", "-m", "the monitors")
    git(seed, "push", "--quiet", str(bare), "main")
    return bare


def checkout(tmp_path: Path, remote: Path, name: str) -> Path:
    """A runner's checkout of the monitoring repository, with origin as its remote."""
    git(tmp_path, "clone", "--quiet", str(remote), name)
    return tmp_path / name


def erpwatch(cwd: Path, *args: str, now: str = NOW) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ERPWATCH, "history", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_environment(**ISOLATED, ERPWATCH_NOW=now),
    )


def record(run_id: str, at: str) -> dict[str, Any]:
    return {"run_id": run_id, "at": at, "url": None, "monitors": [], "mails": []}


def write_month(path: Path, *records: dict[str, Any], extra: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + extra)


def run_ids(path: Path) -> list[str]:
    return [json.loads(line)["run_id"] for line in path.read_text().splitlines()]


def on_branch(remote: Path, branch: str = BRANCH) -> list[str]:
    return git(remote, "ls-tree", "-r", "--name-only", branch).split()


def test_a_history_saved_to_the_branch_comes_back_whole_when_the_cache_lost_the_state(
    tmp_path: Path, remote: Path
) -> None:
    runner = checkout(tmp_path, remote, "runner")
    state = runner / "state"
    write_month(
        state / "shop-a" / "history-2026-11.jsonl",
        record("1-1", "2026-11-30T23:52:00+00:00"),
    )
    write_month(
        state / "shop-a" / "history-2026-12.jsonl",
        record("2-1", "2026-12-01T00:07:00+00:00"),
        record("3-1", "2026-12-01T00:22:00+01:00"),
    )
    write_month(state / "shop-b" / "history-2026-12.jsonl", record("2-1", "2026-12-01T00:07Z"))
    before = (git(runner, "rev-parse", "HEAD"), git(runner, "status", "--porcelain"))

    saved = erpwatch(runner, "save", "--state", "state")
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout == f"erpwatch history: saved 3 month file(s) to branch {BRANCH}\n"
    assert on_branch(remote) == [
        "shop-a/history-2026-11.jsonl",
        "shop-a/history-2026-12.jsonl",
        "shop-b/history-2026-12.jsonl",
    ]
    # The checkout the workflow runs from is as it was: same commit, same files.
    assert (git(runner, "rev-parse", "HEAD"), git(runner, "status", "--porcelain")) == before
    # Nothing new: no second commit.
    again = erpwatch(runner, "save", "--state", "state")
    assert "already holds this history" in again.stdout
    assert git(remote, "rev-list", "--count", BRANCH).strip() == "1"

    # The cache missed: a new runner starts from nothing and gets every record back.
    fresh = checkout(tmp_path, remote, "fresh")
    restored = erpwatch(fresh, "restore", "--state", "state")
    assert restored.returncode == 0, restored.stderr
    assert "restored 3 of 3 month file(s)" in restored.stdout
    for path in ("shop-a/history-2026-11.jsonl", "shop-b/history-2026-12.jsonl"):
        assert (fresh / "state" / path).read_bytes() == (state / path).read_bytes()
    # 00:22 at +01:00 is 23:22 UTC the day before: sorted by the moment, not the text.
    assert run_ids(fresh / "state" / "shop-a" / "history-2026-12.jsonl") == ["3-1", "2-1"]


def test_restore_keeps_the_runs_of_both_sides_once_each_in_time_order(
    tmp_path: Path, remote: Path
) -> None:
    first = checkout(tmp_path, remote, "first")
    write_month(
        first / "history-2026-12.jsonl",  # one client: the month files next to state.json
        record("1-1", "2026-12-01T00:07:00+00:00"),
        record("2-1", "2026-12-01T00:22:00+00:00"),
    )
    assert erpwatch(first, "save", "--state", ".").returncode == 0
    second = checkout(tmp_path, remote, "second")
    write_month(
        second / "reports" / "history-2026-12.jsonl",
        record("1-1", "2026-12-01T00:07:00+00:00"),
        record("3-1", "2026-12-01T00:37:00+00:00"),
    )
    done = erpwatch(second, "restore", "--state", "reports")
    assert done.returncode == 0, done.stderr
    assert run_ids(second / "reports" / "history-2026-12.jsonl") == ["1-1", "2-1", "3-1"]
    assert list((second / "reports").glob("*.corrupt-*")) == []


def test_two_runs_saving_at_once_both_end_up_on_the_branch(tmp_path: Path, remote: Path) -> None:
    one, two = checkout(tmp_path, remote, "one"), checkout(tmp_path, remote, "two")
    write_month(
        one / "state" / "shop" / "history-2026-12.jsonl", record("1-1", "2026-12-01T00:07Z")
    )
    write_month(
        one / "state" / "shop" / "history-2026-11.jsonl", record("0-1", "2026-11-30T23:07Z")
    )
    write_month(
        two / "state" / "shop" / "history-2026-12.jsonl", record("2-1", "2026-12-01T00:22Z")
    )
    # The second run's push is underway when the first one pushes: its push is rejected.
    hook = two / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        f"[ -e {tmp_path}/raced ] && exit 0\n"
        f"touch {tmp_path}/raced\n"
        f"cd {one} && env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE "
        f"{ERPWATCH} history save --state state >&2\n"
    )
    hook.chmod(0o755)

    done = erpwatch(two, "save", "--state", "state")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "raced").exists()
    assert git(remote, "rev-list", "--count", BRANCH).strip() == "2"
    fresh = checkout(tmp_path, remote, "fresh")
    assert erpwatch(fresh, "restore", "--state", "state").returncode == 0
    shop = fresh / "state" / "shop"
    assert run_ids(shop / "history-2026-12.jsonl") == ["1-1", "2-1"]
    assert run_ids(shop / "history-2026-11.jsonl") == ["0-1"]


def test_a_month_older_than_13_full_months_is_pruned_from_the_branch(
    tmp_path: Path, remote: Path
) -> None:
    runner = checkout(tmp_path, remote, "runner")
    for month in ("2025-10", "2025-11", "2026-11"):
        write_month(
            runner / "state" / "shop" / f"history-{month}.jsonl",
            record(month, f"{month}-15T12:00:00+00:00"),
        )
    # In November 2026, October 2025 is the 13th full month back: kept.
    assert erpwatch(runner, "save", "--state", "state", now="2026-11-30T23:59Z").returncode == 0
    assert "shop/history-2025-10.jsonl" in on_branch(remote)
    # A month later it is 14 months old: gone from the branch, not brought back.
    assert erpwatch(runner, "save", "--state", "state").returncode == 0
    assert on_branch(remote) == ["shop/history-2025-11.jsonl", "shop/history-2026-11.jsonl"]
    fresh = checkout(tmp_path, remote, "fresh")
    assert erpwatch(fresh, "restore", "--state", "state").returncode == 0
    assert sorted(p.name for p in (fresh / "state" / "shop").glob("*.jsonl")) == [
        "history-2025-11.jsonl",
        "history-2026-11.jsonl",
    ]


def test_a_damaged_line_is_set_aside_with_a_warning_and_never_stops_a_save_or_restore(
    tmp_path: Path, remote: Path
) -> None:
    runner = checkout(tmp_path, remote, "runner")
    month = runner / "state" / "shop" / "history-2026-12.jsonl"
    # Cut short by a killed run; and JSON with a run id and a time but not a run
    # record the archive's reader takes (no monitors): both damaged, as it reads them.
    shapeless = '{"run_id": "3-1", "at": "2026-12-01T00:22:00+00:00"}\n'
    write_month(
        month, record("1-1", "2026-12-01T00:07Z"), extra='{"run_id": "2-1", "at"\n' + shapeless
    )
    saved = erpwatch(runner, "save", "--state", "state")
    assert saved.returncode == 0, saved.stderr
    assert "warning: 2 damaged line(s)" in saved.stderr
    on_branch = git(remote, "show", f"{BRANCH}:shop/history-2026-12.jsonl")
    assert "2-1" not in on_branch
    assert "3-1" not in on_branch

    restored = erpwatch(runner, "restore", "--state", "state")
    assert restored.returncode == 0, restored.stderr
    [aside] = month.parent.glob("history-2026-12.jsonl.corrupt-*")
    assert f"warning: 2 damaged line(s) of {Path('state/shop/history-2026-12.jsonl')}" in (
        restored.stderr
    )
    assert aside.name in restored.stderr
    assert aside.read_text() == '{"run_id": "2-1", "at"\n' + shapeless
    assert run_ids(month) == ["1-1"]


def test_without_a_branch_yet_there_is_nothing_to_restore_in_one_line(
    tmp_path: Path, remote: Path
) -> None:
    runner = checkout(tmp_path, remote, "runner")
    done = erpwatch(runner, "restore", "--state", "state")
    assert (done.returncode, done.stderr) == (0, "")
    assert (
        done.stdout == f"erpwatch history: no branch {BRANCH} on origin yet; nothing to restore\n"
    )


def test_a_git_failure_is_one_line_with_the_documented_status_and_never_the_remote_url(
    tmp_path: Path, remote: Path
) -> None:
    runner = checkout(tmp_path, remote, "runner")
    write_month(runner / "state" / "history-2026-12.jsonl", record("1-1", "2026-12-01T00:07Z"))
    cases = [
        (("save", "--state", "state", "--remote", "upstream"), 2, "no git remote named 'upstream'"),
        (("save", "--state", "state", "--branch", "a..b"), 2, "is not a valid branch name"),
    ]
    for args, status, says in cases:
        done = erpwatch(runner, *args)
        assert (done.returncode, done.stdout) == (status, ""), done.stderr
        assert says in done.stderr
        assert len(done.stderr.splitlines()) == 1
    outside = erpwatch(tmp_path, "restore", "--state", "state")
    assert outside.returncode == 2
    assert outside.stderr.endswith(
        "is not in a git repository; run it in the monitoring checkout\n"
    )

    # A remote that cannot be reached (loopback, nothing listening), its URL carrying a token.
    token = "ghs_" + "s3cr3t" * 6
    git(
        runner, "remote", "set-url", "origin", f"https://x-access-token:{token}@127.0.0.1:9/a/b.git"
    )
    for action in ("save", "restore"):
        done = erpwatch(runner, action, "--state", "state")
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("erpwatch history: git ls-remote failed: ")
        assert len(done.stderr.splitlines()) == 1
        assert "Traceback" not in done.stderr
        assert token not in done.stdout + done.stderr
        assert "127.0.0.1:9/a/b" not in done.stderr


def test_nothing_but_month_files_is_ever_committed_and_another_branch_is_never_rewritten(
    tmp_path: Path, remote: Path
) -> None:
    runner = checkout(tmp_path, remote, "runner")
    state = runner / "state"
    write_month(state / "shop" / "history-2026-12.jsonl", record("1-1", "2026-12-01T00:07Z"))
    write_month(state / "history-2026-12.jsonl", record("1-1", "2026-12-01T00:07Z"))
    for other in (
        "shop/state.json",
        "shop/history.jsonl",
        "shop/history-2026-12.jsonl.lock",
        "shop/history-2026-12.jsonl.corrupt-20261201T000000Z",
        "shop/history-2026-13.jsonl",
        "shop/outbox/history-2026-12.jsonl",
        ".env",
    ):
        (state / other).parent.mkdir(parents=True, exist_ok=True)
        (state / other).write_text("SMTP_PASSWORD=secret\n")
    assert erpwatch(runner, "save", "--state", "state").returncode == 0
    assert on_branch(remote) == ["history-2026-12.jsonl", "shop/history-2026-12.jsonl"]
    # The branch has no ancestor in common with the code: an orphan branch.
    assert git(remote, "rev-list", BRANCH).split() == [git(remote, "rev-parse", BRANCH).strip()]

    main = git(remote, "rev-parse", "main")
    done = erpwatch(runner, "save", "--state", "state", "--branch", "main")
    assert done.returncode == 2
    assert "branch 'main' holds other files than the run history ('README.md')" in done.stderr
    assert git(remote, "rev-parse", "main") == main
    shutil.rmtree(state)
    refused = erpwatch(runner, "restore", "--state", "state", "--branch", "main")
    assert refused.returncode == 2
    assert not state.exists()


def test_a_save_or_restore_has_one_deadline_in_all_not_only_per_git_call(tmp_path: Path) -> None:
    from erpwatch._history_branch import Failure, Git

    git = Git(tmp_path, "origin", total=0.2)
    git.call("--version")  # within the command's time
    time.sleep(0.3)
    with pytest.raises(Failure) as over:
        git.call("--version")
    assert "took longer than 0.2 s in all" in str(over.value)

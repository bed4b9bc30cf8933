"""The run history's month files (``history-YYYY-MM.jsonl``), kept in a git branch
of the monitoring repository: the Actions cache evicts what is unused for 7 days
and starts from nothing on a miss, so it cannot promise the 13 months the
monthly service report reads.

``save`` commits the union of the branch's files and the state's with git
plumbing (objects and a ref, never the checkout or its index) and pushes; a
push that lost a race is retried after fetching. ``restore`` writes the union
back into the state folder. Only month files are ever committed, and a branch
holding anything else is refused, so a wrong ``--branch`` cannot empty a real one."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ._files import (
    FileLockTimeout,
    exclusive_lock,
    keep_lines_aside,
    write_atomically,
)
from .report._history import KEEP_MONTHS, problem_of_record

DEFAULT_BRANCH = "erpwatch-history"
KEEP_FULL_MONTHS = KEEP_MONTHS  # as the archive keeps them
GIT_DEADLINE = 60.0  # seconds per git call: a hung network never holds a run
COMMAND_DEADLINE = 600.0  # seconds for a whole save or restore
PUSH_ATTEMPTS = 5
MONTH_FILE = re.compile(r"history-(\d{4})-(0[1-9]|1[0-2])\.jsonl")
CLIENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
URL = re.compile(r"\S+://\S+|[^\s@/]+@[^\s:]+:\S*")
# Who commits, unless the environment says: CI runners have no git identity.
IDENTITY = {
    "GIT_AUTHOR_NAME": "erpwatch",
    "GIT_AUTHOR_EMAIL": "erpwatch@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "erpwatch",
    "GIT_COMMITTER_EMAIL": "erpwatch@users.noreply.github.com",
}


class Action(StrEnum):
    SAVE = "save"
    RESTORE = "restore"


class Failure(Exception):
    """One line for the user; ``status`` 2 for what they can fix in the call, 1 otherwise."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class LockTimeout(FileLockTimeout):
    """Another run holds a month file for longer than erpwatch waits."""


@dataclass(frozen=True)
class Parsed:
    records: tuple[dict[str, Any], ...]
    damaged: tuple[bytes, ...]


def branch_path(relative: str) -> int | None:
    """The month (year * 12 + month - 1) of a branch path in the mirrored layout, or None."""
    parts = relative.split("/")
    if len(parts) > 2 or (len(parts) == 2 and not CLIENT.fullmatch(parts[0])):
        return None
    match = MONTH_FILE.fullmatch(parts[-1])
    return int(match[1]) * 12 + int(match[2]) - 1 if match else None


def oldest_kept(now: datetime) -> int:
    """13 full months and the current one, in UTC."""
    now = now.astimezone(UTC)
    return now.year * 12 + now.month - 1 - KEEP_FULL_MONTHS


def parse(raw: bytes) -> Parsed:
    """Run records as the archive reads them; anything else is a damaged line."""
    records, damaged = [], []
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            damaged.append(line)
            continue
        if problem_of_record(record) is None:  # the archive's own reader's rule
            records.append(record)
        else:
            damaged.append(line)
    return Parsed(tuple(records), tuple(damaged))


def union(ours: Parsed, theirs: Parsed) -> list[dict[str, Any]]:
    """Every run of both, once (ours wins a tie: it is the newer write), oldest first."""
    by_id = {r["run_id"]: r for r in theirs.records}
    by_id.update((r["run_id"], r) for r in ours.records)
    return sorted(by_id.values(), key=lambda r: (datetime.fromisoformat(r["at"]), r["run_id"]))


def merged_bytes(ours: bytes | None, theirs: bytes | None) -> tuple[bytes, Parsed, Parsed]:
    """The union as file content; a side that already is the union is kept byte for byte."""
    mine, other = parse(ours or b""), parse(theirs or b"")
    records = union(mine, other)
    ids = [r["run_id"] for r in records]
    for raw, side in ((ours, mine), (theirs, other)):
        if raw is not None and not side.damaged and [r["run_id"] for r in side.records] == ids:
            return raw, mine, other
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return text.encode("utf-8"), mine, other


# -- git ---------------------------------------------------------------------------


class Git:
    """git in the checkout, one deadline per call; its messages with the remote's URL masked."""

    def __init__(self, cwd: Path, remote: str, total: float = COMMAND_DEADLINE) -> None:
        self.cwd, self.remote = cwd, remote
        self.secret_url = ""  # only ever used to mask it
        # One deadline for the whole command, as well as one per call: retried
        # pushes and many month files never add up past it.
        self.total, self.ends = total, time.monotonic() + total

    def left(self, most: float) -> float:
        """Seconds this step may take: at most ``most``, never past the command's end."""
        remaining = self.ends - time.monotonic()
        if remaining <= 0:
            raise Failure(f"erpwatch history took longer than {self.total:g} s in all", 1)
        return min(most, remaining)

    def call(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        env = {**IDENTITY, **os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        limit = self.left(GIT_DEADLINE)
        try:
            return subprocess.run(
                ["git", *args],
                cwd=self.cwd,
                input=stdin,
                capture_output=True,
                timeout=limit,
                env=env,
            )
        except FileNotFoundError:
            raise Failure("git is not installed; erpwatch history needs it", 2) from None
        except subprocess.TimeoutExpired:
            raise Failure(f"git {args[0]} took longer than {limit:.0f} s", 1) from None

    def run(self, *args: str, stdin: bytes | None = None) -> bytes:
        done = self.call(*args, stdin=stdin)
        if done.returncode != 0:
            raise Failure(f"git {args[0]} failed: {self.why(done.stderr)}", 1)
        return done.stdout

    def why(self, stderr: bytes) -> str:
        lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        # The first fatal line names the cause; later ones are git's generic advice.
        line = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), "")
        line = line or (lines[-1] if lines else "no message")
        if self.secret_url:
            line = line.replace(self.secret_url, "<remote URL>")
        return URL.sub("<remote URL>", line)[:300]


def open_repository(cwd: Path, remote: str, branch: str) -> Git:
    git = Git(cwd, remote)
    if git.call("rev-parse", "--git-dir").returncode != 0:
        raise Failure(f"{cwd} is not in a git repository; run it in the monitoring checkout", 2)
    valid = git.call("check-ref-format", f"refs/heads/{branch}").returncode == 0
    if not valid or branch.startswith("-"):
        raise Failure(f"--branch {branch[:60]!r} is not a valid branch name", 2)
    remotes = git.run("remote").decode().split()
    if remote not in remotes:
        raise Failure(f"no git remote named {remote[:60]!r}; name one with --remote", 2)
    url = git.run("remote", "get-url", remote).decode().strip()
    git.secret_url = url
    return git


def fetch(git: Git, branch: str) -> str | None:
    """The branch's tip on the remote, fetched into its tracking ref; None: no branch yet."""
    listed = git.run("ls-remote", "--heads", git.remote, f"refs/heads/{branch}").split()
    if not listed:
        return None
    tracking = f"refs/remotes/{git.remote}/{branch}"
    git.run("fetch", "--no-tags", "--quiet", git.remote, f"+refs/heads/{branch}:{tracking}")
    return git.run("rev-parse", "--verify", f"{tracking}^{{commit}}").decode().strip()


def branch_files(git: Git, commit: str | None, branch: str) -> dict[str, str]:
    """Path → blob of every month file; a branch with anything else is not ours to rewrite."""
    if commit is None:
        return {}
    files = {}
    for entry in git.run("ls-tree", "-r", "-z", commit).split(b"\0"):
        if not entry:
            continue
        meta, path = entry.decode("utf-8", "replace").split("\t", 1)
        if branch_path(path) is None or meta.split()[1] != "blob":
            raise Failure(
                f"branch {branch!r} holds other files than the run history ({path[:60]!r}); "
                "choose another --branch",
                2,
            )
        files[path] = meta.split()[2]
    return files


def make_tree(git: Git, blobs: dict[str, str]) -> str:
    folders: dict[str, dict[str, str]] = {}
    for path, blob in blobs.items():
        folder, _, name = path.rpartition("/")
        folders.setdefault(folder, {})[name] = blob

    def mktree(lines: list[str]) -> str:
        return git.run("mktree", stdin="".join(lines).encode()).decode().strip()

    top = [f"100644 blob {b}\t{n}\n" for n, b in sorted(folders.pop("", {}).items())]
    for folder, files in sorted(folders.items()):
        sub = mktree([f"100644 blob {b}\t{n}\n" for n, b in sorted(files.items())])
        top.append(f"040000 tree {sub}\t{folder}\n")
    return mktree(top)


# -- the state folder --------------------------------------------------------------


def local_files(state: Path) -> dict[str, Path]:
    """Month files in DIR (one client) and DIR/<client>/ (a fleet), by branch path."""
    found = {}
    for path in [*state.glob("history-*.jsonl"), *state.glob("*/history-*.jsonl")]:
        relative = path.relative_to(state).as_posix()
        if path.is_file() and branch_path(relative) is not None:
            found[relative] = path
    return found


def save(git: Git, state: Path, branch: str, now: datetime, warn: list[str]) -> str:
    oldest = oldest_kept(now)
    local = {k: v for k, v in local_files(state).items() if (branch_path(k) or 0) >= oldest}
    for _attempt in range(PUSH_ATTEMPTS):
        warn.clear()
        parent = fetch(git, branch)
        theirs = branch_files(git, parent, branch)
        blobs = {}
        for path in sorted(set(local) | set(theirs)):
            if (branch_path(path) or 0) < oldest:
                continue  # older than 13 full months: pruned from the branch too
            mine = local[path].read_bytes() if path in local else None
            other = git.run("cat-file", "blob", theirs[path]) if path in theirs else None
            content, ours_parsed, theirs_parsed = merged_bytes(mine, other)
            if ours_parsed.damaged:
                warn.append(
                    f"{len(ours_parsed.damaged)} damaged line(s) of {local[path]} "
                    "not saved; restore sets them aside"
                )
            if theirs_parsed.damaged:
                warn.append(
                    f"{len(theirs_parsed.damaged)} damaged line(s) of {path} in the "
                    "branch dropped (still in its earlier commits)"
                )
            blobs[path] = git.run("hash-object", "-w", "--stdin", stdin=content).decode().strip()
        tree = make_tree(git, blobs)
        if parent and git.run("rev-parse", f"{parent}^{{tree}}").decode().strip() == tree:
            return f"branch {branch} already holds this history ({len(blobs)} month file(s))"
        message = f"erpwatch: run history as of {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC\n"
        commit = (
            git.run(
                "commit-tree", tree, *(["-p", parent] if parent else []), stdin=message.encode()
            )
            .decode()
            .strip()
        )
        pushed = git.call("push", "--quiet", git.remote, f"{commit}:refs/heads/{branch}")
        if pushed.returncode == 0:
            git.run("update-ref", f"refs/remotes/{git.remote}/{branch}", commit)
            return f"saved {len(blobs)} month file(s) to branch {branch}"
        if fetch(git, branch) == parent:  # no other run pushed first: the push itself failed
            raise Failure(f"git push failed: {git.why(pushed.stderr)}", 1)
    raise Failure(f"another run kept pushing to {branch} first; tried {PUSH_ATTEMPTS} times", 1)


def restore(git: Git, state: Path, branch: str, now: datetime, warn: list[str]) -> str:
    commit = fetch(git, branch)
    if commit is None:
        return f"no branch {branch} on {git.remote} yet; nothing to restore"
    changed = 0
    files = branch_files(git, commit, branch)
    for path, blob in sorted(files.items()):
        if (branch_path(path) or 0) < oldest_kept(now):
            continue
        target = state / path
        other = git.run("cat-file", "blob", blob)
        # The lock a run holds while it appends to the archive: never both at once.
        with exclusive_lock(target.with_name("history.jsonl"), git.left(120.0), LockTimeout):
            mine = target.read_bytes() if target.exists() else None
            content, ours_parsed, theirs_parsed = merged_bytes(mine, other)
            damaged = ours_parsed.damaged + theirs_parsed.damaged
            if damaged:
                aside = keep_lines_aside(target, damaged)
                warn.append(f"{len(damaged)} damaged line(s) of {target} kept in {aside.name}")
            if content != mine:
                write_atomically(target, content.decode("utf-8"))
                changed += 1
    return f"restored {changed} of {len(files)} month file(s) from branch {branch}"


# -- the command -------------------------------------------------------------------


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=[a.value for a in Action])
    parser.add_argument(
        "--state",
        metavar="DIR",
        required=True,
        help="the alert state folder: DIR/<client>/history-YYYY-MM.jsonl (a fleet) "
        "or DIR/history-YYYY-MM.jsonl (one client)",
    )
    parser.add_argument(
        "--branch",
        default=DEFAULT_BRANCH,
        metavar="NAME",
        help=f"the history branch (default: {DEFAULT_BRANCH})",
    )
    parser.add_argument(
        "--remote",
        default="origin",
        metavar="NAME",
        help="the git remote that holds it (default: origin)",
    )


def now_utc() -> datetime:
    """ERPWATCH_NOW, as the runs read it, so a replayed schedule keeps the same months."""
    fixed = os.environ.get("ERPWATCH_NOW", "")
    try:
        moment = datetime.fromisoformat(fixed) if fixed else datetime.now(UTC)
    except ValueError:
        raise Failure("ERPWATCH_NOW is not an ISO 8601 time with an offset", 2) from None
    if moment.tzinfo is None:
        raise Failure("ERPWATCH_NOW is not an ISO 8601 time with an offset", 2)
    return moment


def run(args: argparse.Namespace) -> int:
    warnings: list[str] = []
    try:
        state = Path(args.state)
        if state.exists() and not state.is_dir():
            raise Failure(f"--state {state} is a file, not a folder", 2)
        git = open_repository(Path.cwd(), args.remote, args.branch)
        work = save if args.action == Action.SAVE else restore
        line = work(git, state, args.branch, now_utc(), warnings)
    except Failure as failure:
        for warning in warnings:
            print(f"erpwatch history: warning: {warning}", file=sys.stderr)
        print(f"erpwatch history: {failure}", file=sys.stderr)
        return failure.status
    except (OSError, FileLockTimeout) as error:
        print(f"erpwatch history: {error}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"erpwatch history: warning: {warning}", file=sys.stderr)
    print(f"erpwatch history: {line}")
    return 0

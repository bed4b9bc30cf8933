"""``erpwatch fleet``: run every client (or some), then write the agency overview."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from .._vocabulary import ClientEnd
from ..config import ConfigError, check_writable_folder
from ..redact import safe_text
from . import _overview as overview
from . import _pages as pages
from ._clients import (
    CLIENT_SECRETS,
    FLEET_SECRETS,
    Client,
    FleetError,
    choose_processes,
    discover,
    select,
)
from ._model import ClientEntry, Fleet, write_entry

_WORDS = {ClientEnd.PASSED: "passed", ClientEnd.FAILED: "FAILED", ClientEnd.INTERRUPTED: "interrupted",
          ClientEnd.BROKEN: "BROKEN", ClientEnd.CONFIG_ERROR: "CONFIG ERROR",
          ClientEnd.NOT_RUN: "not run", ClientEnd.SKIPPED: "skipped"}  # fmt: skip
EPILOG = """\
Each client is clients/<name>/erpwatch.toml; its settings come from the fleet's
environment, clients/.env and the secret ERPWATCH_ENV (shared), then
clients/<name>/.env and the secret ERPWATCH_ENV_<NAME> (its own; the more specific
wins). In CI, pass every secret at once: ERPWATCH_SECRETS=${{ toJSON(secrets) }}.
Without a clients/ folder the project's erpwatch.toml is the one client.

Exit status: the worst of this run's clients: 0 all passed, 1 a monitor
failed, 2 interrupted, 3 erpwatch broke, 4 a configuration to fix (a mistyped
option of this command itself: 2, as for every erpwatch command).
"""


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", metavar="A,B", help="only these clients (folder names)")
    parser.add_argument(
        "--jobs", type=int, metavar="N", default=None,
        help="clients run at the same time (default: all, at most 64: they mostly wait)",
    )  # fmt: skip
    parser.add_argument(
        "--reports", metavar="DIR", default="reports",
        help="where the overview and each client's reports/<name>/ go (default: reports)",
    )  # fmt: skip
    parser.add_argument(
        "--state", metavar="DIR",
        help="keep each client's alert state and history in DIR/<name>/ (default: its reports)",
    )  # fmt: skip
    parser.add_argument(
        "--timezone", metavar="ZONE", default="Europe/Brussels",
        help="the overview's times (default: Europe/Brussels)",
    )  # fmt: skip
    parser.add_argument(
        "--deadline", type=float, metavar="MINUTES",
        help="after this long no client starts and running ones are stopped (default: none; "
        "each client has its own run deadline)",
    )  # fmt: skip
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--plan", type=int, metavar="N",
        help="print the clients in groups of N as a JSON list (a CI matrix), run nothing",
    )  # fmt: skip
    action.add_argument(
        "--overview-only", action="store_true",
        help="run nothing: write the overview from the reports folder (after shards)",
    )  # fmt: skip
    pages.add_arguments(parser, action)


def run(args: argparse.Namespace) -> int:
    root = Path.cwd()
    reports = Path(args.reports).resolve()
    environ = dict(os.environ)
    if args.pages_links:
        return pages.print_links(root, args.clients, environ)
    try:
        _check_timezone(args.timezone)
        if args.overview_only:
            if not reports.is_dir():
                raise FleetError(f"--reports: {reports} is not a folder")
            known = _known_clients(root)
            code = _overview(reports, args.timezone, named=True, clients=known)
            return pages.after_run(code, reports, args.pages, environ, known)
        every = discover(root)
        clients = select(every, args.clients)
        if args.plan is not None:
            if args.plan < 1:
                raise FleetError("--plan: give the number of clients per job, at least 1")
            names = [c.name for c in clients]
            groups = [",".join(names[i : i + args.plan]) for i in range(0, len(names), args.plan)]
            print(json.dumps(groups))
            return 0
        return _run(root, clients, [c.name for c in every], reports, args, environ)
    except (FleetError, ConfigError) as error:
        print(f"erpwatch fleet: {error}", file=sys.stderr)
        return 4


def _known_clients(root: Path) -> list[str] | None:
    """The clients of the checkout, when there is one (a shard's overview job has it)."""
    try:
        return [client.name for client in discover(root)]
    except FleetError:
        return None


def _run(
    root: Path, clients: list[Client], every: list[str], reports: Path,
    args: argparse.Namespace, environ: dict[str, str],
) -> int:  # fmt: skip
    from ._runner import FleetRun, Prepared, jobs_by_default, prepare

    check_writable_folder(reports, "--reports", "command line")
    state = Path(args.state).resolve() if args.state else None
    if state is not None:
        check_writable_folder(state, "--state", "command line")
    total = len(clients)
    jobs = args.jobs if args.jobs is not None else jobs_by_default(total)
    if jobs < 1:
        raise FleetError("--jobs: at least 1")
    if args.deadline is not None and not 0 < args.deadline <= 24 * 60:
        raise FleetError("--deadline: minutes, more than 0 and at most a day (1440)")
    # The fleet's own secrets never reach the processes the clients are forked
    # from (their environment is readable there): each client gets its own part.
    for name in [n for n in os.environ if n in FLEET_SECRETS or n.startswith(CLIENT_SECRETS)]:
        del os.environ[name]
    _private_environment()
    named = any(client.name for client in clients)
    plural = "s" if total != 1 else ""
    print(
        f"erpwatch fleet: {total} client{plural}, at most {min(jobs, total)} at a time", flush=True
    )
    began = time.monotonic()
    ready: list[Prepared] = []
    ended: list[ClientEntry] = []

    def finished(entry: ClientEntry, count: int, of: int) -> None:
        ended.append(entry)
        _record(reports, entry)
        _say(entry, count, of)

    def still(names: list[str], seconds: float) -> None:
        print(f"  … still running after {seconds:.0f} s: {', '.join(names)}", flush=True)

    deadline = began + args.deadline * 60 if args.deadline is not None else None
    runner = FleetRun(root, jobs, finished, still, deadline)  # its server starts meanwhile
    processes = choose_processes(clients, environ)
    for client in clients:
        prepared = prepare(client, root, environ, reports, state, processes)
        if isinstance(prepared, ClientEntry):
            finished(prepared, len(ended) + 1, total)
        else:
            ready.append(prepared)

    runner.run(ready, total, len(ended))
    _overview(reports, args.timezone, named=named, clients=every)
    # This run's clients decide the status, not what older runs left in the folder.
    code = (
        max((entry.end for entry in ended), key=lambda end: end.severity).exit_code if ended else 0
    )
    code = pages.after_run(code, reports, args.pages, environ, every)  # the last word: status
    print(
        f"erpwatch fleet: done in {time.monotonic() - began:.0f} s, exit status {code}", flush=True
    )
    return code


def _private_environment() -> None:
    """This process started with every client's secrets in its environment, which
    stays readable in /proc/<pid>/environ: made readable by no other process of
    the same user (Linux; root still can). Best effort: elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FleetError(
            f"--timezone: unknown time zone {name!r}, e.g. 'Europe/Brussels'"
        ) from None


def _record(reports: Path, entry: ClientEntry) -> None:
    """The entry beside the client's reports, where the overview (of any shard) reads it."""
    write_entry(reports / entry.client if entry.client else reports, entry)


def _say(entry: ClientEntry, done: int, total: int) -> None:
    width = len(str(total))
    took = f"{entry.seconds:5.1f} s" if entry.end is not ClientEnd.CONFIG_ERROR else "       "
    line = f"  [{done:>{width}}/{total}] {entry.client or entry.title:<28} {_WORDS[entry.end]:<12} {took}"
    if entry.problem:
        line += f"  {safe_text(entry.problem)}"
    print(line, flush=True)


def _overview(reports: Path, timezone: str, named: bool, clients: list[str] | None) -> int:
    fleet = overview.build(reports, clients)
    for line in fleet.set_aside:
        print(f"erpwatch fleet: left out of the overview: {line}", file=sys.stderr, flush=True)
    if not fleet.clients:
        found = "none readable" if fleet.set_aside else "none"
        raise FleetError(f"no client entries (*/fleet-entry.json) in {reports}: {found}")
    for path in overview.write(reports, fleet, timezone, with_page=named):
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        print(f"{'overview' if path.suffix == '.html' else 'fleet result'}: {shown}", flush=True)
    _job_summary(fleet)
    # A client whose result cannot be read is not known to have passed.
    return max(fleet.exit_code, 3) if fleet.set_aside else fleet.exit_code


def _job_summary(fleet: Fleet) -> None:
    """A table of the clients in the GitHub Actions job summary, when there is one."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path or not any(entry.client for entry in fleet.clients):
        return
    lines = [
        "### erpwatch · every client",
        "",
        "| client | result | failing | took |",
        "| --- | --- | --- | --- |",
    ]
    for entry in fleet.clients:
        failing = ", ".join(p.title for p in entry.processes if p.status == "failed")
        cells = [entry.title, _WORDS[entry.end], failing or entry.problem, f"{entry.seconds:.0f} s"]
        lines.append(
            "| " + " | ".join(safe_text(c).replace("|", "\\|")[:200] for c in cells) + " |"
        )
    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write("\n".join(lines) + "\n")
    except OSError as error:
        print(
            f"erpwatch fleet: the job summary could not be written: {error.strerror}",
            file=sys.stderr,
        )

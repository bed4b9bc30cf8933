"""Runs the clients of a fleet: each an isolated pytest session in a process of
its own (its own settings, state, reports and mail), at most ``jobs`` at a time.

The processes are forked from a server that imported pytest, the plugin and its
libraries once (multiprocessing's ``forkserver``): a client's run then costs its
monitors, not another second of imports. One client's crash, hang or bad config
ends that client's run only; the fleet hears of it through the exit status."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from .._vocabulary import ClientEnd
from ..config import (
    ConfigError,
    Settings,
)
from ..redact import Redactor
from ._clients import Client, client_settings
from ._crash import tell_of_abrupt_end
from ._model import ClientEntry
from ._results import entry_after_run, problem_in_log

LOG_FILE = "run.log"
# What every client's process needs and would otherwise import itself, a second
# or so each: imported once, in the server the client processes are forked from.
_PRELOAD = ["pytest", "_pytest.terminal", "requests", "lxml.etree", "jinja2", "werkzeug",
            "pytest_html.plugin", "xdist.plugin", "erpwatch.plugin", "erpwatch.fixtures",
            "erpwatch._run", "erpwatch.notify", "erpwatch.report", "erpwatch.diagnosis",
            "erpwatch.punchout", "erpwatch.psp", "erpwatch.tryton",
            "erpwatch.fleet._warm"]  # fmt: skip
# The plugin is imported before pytest could rewrite its asserts (it has none that
# need rewriting): pytest's warning about that would only be noise in every log.
_QUIET = "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning"
# Past its own run deadline a client is asked to stop (SIGTERM: it reports what it
# has), and killed if it does not within this long.
STOP_GRACE = 120.0
KILL_GRACE = 30.0


@dataclass(frozen=True)
class Prepared:
    """A client ready to run: its environment and settings, checked in the fleet."""

    client: Client
    env: dict[str, str]
    settings: Settings
    reports_dir: Path
    masked: tuple[str, ...] = ()  # what its lines never quote: its secrets, its .env values

    def arguments(self, root: Path) -> list[str]:
        monitors = [_relative(path, root) for path in self.settings.monitors]
        config = _relative(self.client.config_path, root)
        return [*monitors, "--erpwatch-config", config, "--rootdir", str(root),
                "-p", "no:cacheprovider", "-W", _QUIET]  # fmt: skip


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def prepare(
    client: Client, root: Path, environ: dict[str, str], reports: Path, state: Path | None,
    processes: Mapping[str, str | None] | None = None,
) -> Prepared | ClientEntry:  # fmt: skip
    """The client's environment and settings, or an entry saying in one line what
    to fix; nothing is started for a client whose settings do not hold.
    ``processes``: the fleet's choice per client (`choose_processes`)."""
    started = datetime.now(UTC)
    if processes and client.name in processes:
        chosen = processes[client.name]
        if chosen is None:
            return ClientEntry(
                client=client.name, title=client.label, end=ClientEnd.SKIPPED, exit_code=0,
                started_at=started.isoformat(timespec="seconds"), seconds=0.0,
                problem="none of the chosen processes (ERPWATCH_PROCESSES) is its",
            )  # fmt: skip
        environ = {**environ, "ERPWATCH_PROCESSES": chosen}
    try:
        env, settings, masked = client_settings(client, root, environ, reports, state)
    except ConfigError as error:
        who = f"{client.name}: " if client.name else ""
        return ClientEntry(
            client=client.name, title=client.label, end=ClientEnd.CONFIG_ERROR, exit_code=4,
            started_at=started.isoformat(timespec="seconds"), seconds=0.0,
            problem=f"{who}{error}",
        )  # fmt: skip
    return Prepared(client, env, settings, settings.reports_dir, masked)


def jobs_by_default(clients: int) -> int:
    """How many clients run at once unless ``--jobs`` says: all of them, up to 64.
    A client's run mostly waits on its ERP (a tenth of its time is CPU), and each
    running one holds about 25 MB of its own (the rest is shared with the server it
    is forked from), so the bound is memory, not cores."""
    return max(1, min(clients, 64))


def _context() -> BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        # Started now, it imports while the fleet checks the clients' settings.
        from multiprocessing import forkserver

        forkserver.ensure_running()
        return context
    return multiprocessing.get_context("spawn")


def _run_client(root: str, args: list[str], environ: dict[str, str], log: str) -> None:
    """In the client's own process: its environment, its log as the terminal, pytest."""
    os.setpgrp()  # Ctrl+C reaches the fleet, which stops each client in turn
    os.chdir(root)
    os.environ.clear()
    os.environ.update(environ)
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    import pytest

    code = pytest.main(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))


@dataclass
class _Running:
    prepared: Prepared
    process: BaseProcess
    started: datetime
    began: float
    stop_at: float
    stopping: bool = False
    killed: bool = False  # SIGKILL sent: it did not stop when asked


class FleetRun:
    """The run loop: start clients up to the bound, collect each as it ends."""

    def __init__(
        self, root: Path, jobs: int, say: Callable[[ClientEntry, int, int], None],
        still: Callable[[list[str], float], None], deadline: float | None = None,
    ) -> None:  # fmt: skip
        self.context = _context()
        self.root = root
        self.jobs = max(1, jobs)
        self.say = say
        self.still = still
        self.deadline = deadline  # time.monotonic(): no client starts after it
        self.stop_requested = False
        self.why = "the fleet was stopped first"
        self.kill_now = False

    def run(self, clients: Sequence[Prepared], total: int, done: int) -> list[ClientEntry]:
        context = self.context
        pending = list(clients)
        running: list[_Running] = []
        finished: list[ClientEntry] = []
        began = time.monotonic()
        last_word = began
        previous = {
            sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while pending or running:
                while pending and len(running) < self.jobs and not self.stop_requested:
                    started = self._start(context, pending.pop(0))
                    if isinstance(started, ClientEntry):
                        finished.append(started)
                        done += 1
                        self.say(started, done, total)
                    else:
                        running.append(started)
                if self.deadline is not None and time.monotonic() > self.deadline:
                    self.stop_requested, self.deadline = True, None
                    self.why = "the fleet's deadline (--deadline) passed first"
                if self.stop_requested:
                    self._stop_all(running, kill=self.kill_now)
                    for prepared in pending:
                        finished.append(_not_run(prepared, self.why))
                        done += 1
                        self.say(finished[-1], done, total)
                    pending = []
                ready = wait([r.process.sentinel for r in running], timeout=1.0)
                now = time.monotonic()
                for one in list(running):
                    if one.process.sentinel in ready or not one.process.is_alive():
                        one.process.join()
                        running.remove(one)
                        entry = self._entry(one)
                        finished.append(entry)
                        done += 1
                        self.say(entry, done, total)
                    elif now > one.stop_at:
                        self._stop(one, now)
                if running and now - last_word >= 30:
                    last_word = now
                    self.still([r.prepared.client.label for r in running], now - began)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return finished

    def _request_stop(self, signum: int, frame: object) -> None:
        # The first asks every client to stop and report; a second will not wait.
        self.kill_now = self.stop_requested
        self.stop_requested = True

    def _start(self, context: BaseContext, prepared: Prepared) -> _Running | ClientEntry:
        prepared.reports_dir.mkdir(parents=True, exist_ok=True)
        log = prepared.reports_dir / LOG_FILE
        process = context.Process(  # type: ignore[attr-defined]
            target=_run_client,
            args=(str(self.root), prepared.arguments(self.root), prepared.env, str(log)),
            name=f"erpwatch-{prepared.client.label}",
        )
        try:
            process.start()
        except Exception as error:  # the fleet goes on: this client is reported broken
            return ClientEntry(
                client=prepared.client.name, title=prepared.client.label, end=ClientEnd.BROKEN,
                exit_code=3, started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                seconds=0.0, problem=f"its process could not be started: {type(error).__name__}: {error}",
            )  # fmt: skip
        now = time.monotonic()
        deadline = prepared.settings.run_deadline + STOP_GRACE
        return _Running(prepared, process, datetime.now(UTC), now, now + deadline)

    def _stop(self, one: _Running, now: float) -> None:
        """Past its deadline: asked to stop first, killed when it does not."""
        if not one.stopping:
            one.stopping = True
            _signal(one.process, signal.SIGTERM)
            one.stop_at = now + KILL_GRACE
        else:
            one.killed = True
            _signal(one.process, signal.SIGKILL)
            one.stop_at = now + KILL_GRACE

    def _stop_all(self, running: list[_Running], kill: bool) -> None:
        for one in running:
            if kill:
                one.killed = True
                _signal(one.process, signal.SIGKILL)
            elif not one.stopping:
                one.stopping = True
                _signal(one.process, signal.SIGTERM)
                one.stop_at = time.monotonic() + KILL_GRACE

    def _entry(self, one: _Running) -> ClientEntry:
        code = one.process.exitcode
        seconds = time.monotonic() - one.began
        redactor = Redactor((*one.prepared.settings.secrets, *one.prepared.masked))
        log = one.prepared.reports_dir / LOG_FILE
        if code == -signal.SIGTERM and one.stopping and not one.killed:
            # Asked to stop before its run could take the signal as an interruption
            # (still starting): stopped as asked, not broken.
            why = self.why.replace(" first", "") if self.stop_requested else "past its deadline"
            problem = f"stopped while starting: {why}"
            return entry_after_run(one.prepared, one.started, seconds, 2, problem, self.root)
        if code is None or code < 0:
            how = f"signal {-code}" if code is not None else "no exit status"
            problem = f"the run ended abruptly ({how}); its log: {_relative(log, self.root)}"
            problem += f" ({tell_of_abrupt_end(one.prepared, problem, log)})"
            return entry_after_run(one.prepared, one.started, seconds, 3, problem, self.root)
        problem = ""
        if ClientEnd.of_exit(code) in (
            ClientEnd.BROKEN,
            ClientEnd.CONFIG_ERROR,
            ClientEnd.INTERRUPTED,
        ):
            problem = redactor.text(problem_in_log(log) or f"exit status {code}")
        return entry_after_run(one.prepared, one.started, seconds, code, problem, self.root)


def _signal(process: BaseProcess, signum: int) -> None:
    if process.pid is not None:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(process.pid, signum)


def _not_run(prepared: Prepared, why: str) -> ClientEntry:
    return ClientEntry(
        client=prepared.client.name, title=prepared.client.label, end=ClientEnd.NOT_RUN,
        exit_code=2, started_at=datetime.now(UTC).isoformat(), seconds=0.0,
        problem=f"not run: {why}",
    )  # fmt: skip

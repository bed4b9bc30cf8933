"""A real Tryton ERP on loopback, for the Tryton monitors and their tests.

    python3 scripts/tryton_lab.py build     # install Tryton, build the database (once)
    python3 scripts/tryton_lab.py serve     # start Tryton on a copy; prints the settings
    python3 scripts/tryton_lab.py serve --queue inline   # queued tasks run as Tryton's default

``build`` installs the pinned Tryton packages into their own virtual
environment (Tryton's dependencies stay out of erpwatch's) and builds a
template SQLite database: modules activated, a company, a fiscal year, a
chart of accounts, a product and a user for the monitors. Both are kept
under ``.tryton/`` (or ``$ERPWATCH_TRYTON_HOME``) and rebuilt only when the
pins or the set-up change. ``serve`` and the test suite never touch the
template: each starts Tryton on its own copy.

Standard library only: it runs before erpwatch itself is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETUP_SCRIPT = HERE / "tryton_setup.py"
PINS = ("trytond==8.2.1", "trytond-sale==8.2.0", "proteus==8.2.0")
DATABASE = "erpwatch"
ADMIN_LOGIN = "admin"
# Throw-away credentials of a loopback lab database, not secrets of any real ERP.
ADMIN_PASSWORD = "erpwatch-lab-admin"
MONITOR_LOGIN = "erpwatch"
MONITOR_PASSWORD = "erpwatch-lab-monitor"


def home() -> Path:
    configured = os.environ.get("ERPWATCH_TRYTON_HOME")
    return Path(configured).resolve() if configured else HERE.parent / ".tryton"


def _stamp(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Test workers start together; one builds, the others wait and reuse.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class LabError(RuntimeError):
    """A step of building or starting the lab failed; the message says which and why."""


def _run(command: list[str], *, env: dict[str, str] | None = None, what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-25:]
        raise LabError(f"{what} failed:\n" + "\n".join(output))


def venv_dir() -> Path:
    return home() / "venv"


def template_dir() -> Path:
    return home() / "template"


def _ensure_venv() -> Path:
    venv = venv_dir()
    stamp = venv / "erpwatch-pins"
    wanted = _stamp(*PINS, sys.version)
    if stamp.exists() and stamp.read_text() == wanted:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)], what="creating Tryton's virtual environment")
    _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *PINS],
        what=f"installing {' '.join(PINS)}",
    )
    stamp.write_text(wanted)
    return venv


def _database_env(directory: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRYTOND_")}
    env.update(TRYTOND_DATABASE__URI="sqlite://", TRYTOND_DATABASE__PATH=str(directory), **extra)
    return env


def build() -> Path:
    """The template database, built if missing or out of date; its directory."""
    with _locked(home() / "build.lock"):
        venv = _ensure_venv()
        template = template_dir()
        stamp = template / "erpwatch-setup"
        wanted = _stamp(*PINS, SETUP_SCRIPT.read_text())
        if stamp.exists() and stamp.read_text() == wanted:
            return template
        shutil.rmtree(template, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix="template-", dir=home()))
        (building / f"{DATABASE}.sqlite").touch()
        password_file = building / "admin-password"
        password_file.write_text(ADMIN_PASSWORD)
        env = _database_env(building, TRYTONPASSFILE=str(password_file))
        _run(
            [
                str(venv / "bin" / "trytond-admin"),
                "-d",
                DATABASE,
                "--all",
                "--email",
                "admin@erpwatch.invalid",
            ],
            env=env,
            what="creating the Tryton database",
        )
        _run(
            [str(venv / "bin" / "python"), str(SETUP_SCRIPT), DATABASE],
            env=env | {"ERPWATCH_MONITOR_PASSWORD": MONITOR_PASSWORD},
            what="setting up the company, accounts, product and monitor user",
        )
        password_file.unlink()
        stamp_text = wanted
        (building / "erpwatch-setup").write_text(stamp_text)
        building.rename(template)
        return template


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# How queued tasks run, e.g. the processing (invoicing, shipping) that
# confirming a sale queues. Tryton's default is "inline": without
# ``[queue] worker`` a queued task runs as soon as the call that queued it has
# committed, before the call answers.
QUEUE_MODES = {
    "held": "[queue] worker = True and no worker runs: a confirmed sale stays confirmed",
    "inline": "Tryton's default, no [queue] worker: a confirmed sale is processed "
    "before confirm answers",
}


# Runs before trytond, in its process: asks Linux to SIGTERM it when the process
# that started it dies (PR_SET_PDEATHSIG, 1), however that dies: a test suite
# stopped midway, a killed xdist worker. Tryton runs in its own session (so a
# Ctrl+C meant for the caller does not cut it off mid-answer), which is why it
# needs this to stop with its parent. Elsewhere than Linux it just runs trytond.
_DIE_WITH_PARENT = """
import ctypes, os, signal, sys
try:
    prctl = ctypes.CDLL(None, use_errno=True).prctl
except AttributeError:
    prctl = None
if prctl is not None:
    prctl(1, signal.SIGTERM)
    if os.getppid() != int(sys.argv[1]):
        sys.exit(1)  # the parent died before the request took effect
os.execv(sys.argv[2], sys.argv[2:])
"""


@dataclass
class RunningTryton:
    """One Tryton server on its own copy of the template database."""

    process: subprocess.Popen[bytes]
    directory: Path
    port: int
    queue: str = "held"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def settings(self) -> dict[str, str]:
        """The environment the Tryton monitors read."""
        return {
            "TRYTON_URL": self.url,
            "TRYTON_DATABASE": DATABASE,
            "TRYTON_USER": MONITOR_LOGIN,
            "TRYTON_PASSWORD": MONITOR_PASSWORD,
        }

    def log(self) -> str:
        path = self.directory / "trytond.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(
    directory: Path,
    *,
    port: int | None = None,
    session_max_age: int | None = None,
    queue: str = "held",
) -> RunningTryton:
    """Copy the template into ``directory`` and serve it on loopback; wait until it answers.

    ``queue`` is one of `QUEUE_MODES`: whether queued tasks wait (``held``) or
    run at the end of the call that queued them (``inline``, Tryton's default).
    """
    if queue not in QUEUE_MODES:
        raise LabError(f"unknown queue mode {queue!r}: choose one of {', '.join(QUEUE_MODES)}")
    template = build()
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy2(template / f"{DATABASE}.sqlite", directory / f"{DATABASE}.sqlite")
    for attempt in range(3):
        chosen = port or free_port()
        config = directory / "trytond.conf"
        lines = [
            "[database]",
            "uri = sqlite://",
            f"path = {directory}",
            "[web]",
            f"listen = 127.0.0.1:{chosen}",
        ]
        if queue == "held":
            # Tasks wait for a trytond-worker that never comes, like one that is
            # behind or a sale_process_after grace period not yet over.
            lines += ["[queue]", "worker = True"]
        if session_max_age is not None:
            lines += ["[session]", f"max_age = {session_max_age}"]
        config.write_text("\n".join(lines) + "\n")
        with (directory / "trytond.log").open("ab") as log:
            process = subprocess.Popen(
                [
                    str(venv_dir() / "bin" / "python"),
                    "-c",
                    _DIE_WITH_PARENT,
                    str(os.getpid()),
                    str(venv_dir() / "bin" / "trytond"),
                    *("-c", str(config), "-d", DATABASE),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_database_env(directory),
                start_new_session=True,
            )
        running = RunningTryton(process, directory, chosen, queue)
        if _wait_until_ready(running):
            return running
        running.stop()
        if port is not None or attempt == 2:
            break
    raise LabError(f"Tryton did not start; its log:\n{running.log()[-3000:]}")


def _wait_until_ready(running: RunningTryton, timeout: float = 60.0) -> bool:
    # Any HTTP answer from the RPC address means Tryton has loaded the database.
    request = json.dumps({"id": 0, "method": "common.server.version", "params": []}).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(
                urllib.request.Request(
                    f"{running.url}{DATABASE}/rpc/",
                    data=request,
                    headers={"Content-Type": "application/json"},
                ),
                timeout=2,
            ) as answer:
                return bool(answer.status)
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="install Tryton and build the template database")
    serve = commands.add_parser("serve", help="serve a copy of the template database")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--dir", type=Path, help="where the copy goes (default: a temporary folder)")
    serve.add_argument(
        "--queue",
        choices=QUEUE_MODES,
        default="held",
        help="how queued tasks run: "
        + "; ".join(f"{mode}: {what}" for mode, what in QUEUE_MODES.items())
        + " (default: held)",
    )
    arguments = parser.parse_args(argv)

    started = time.monotonic()
    try:
        template = build()
    except LabError as error:
        print(f"tryton_lab: {error}", file=sys.stderr)
        return 1
    if arguments.command == "build":
        print(
            f"Tryton {PINS[0].split('==')[1]} ready in {template} ({time.monotonic() - started:.0f} s)"
        )
        return 0
    directory = arguments.dir or Path(tempfile.mkdtemp(prefix="erpwatch-tryton-"))
    try:
        running = start(directory.resolve(), port=arguments.port, queue=arguments.queue)
    except LabError as error:
        print(f"tryton_lab: {error}", file=sys.stderr)
        return 1
    print(
        f"Tryton is serving {DATABASE!r} on {running.url} (queue: {running.queue}; "
        f"log: {directory}/trytond.log)"
    )
    print("Run the Tryton monitors with these settings (e.g. in .env):")
    for key, value in running.settings().items():
        print(f"  {key}={value}")
    print("Press Ctrl+C to stop.", flush=True)

    def stop_on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # Tryton runs in its own session: stop it ourselves

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    try:
        running.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

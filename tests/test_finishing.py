"""The end of a run: every finishing step on its own, the maintainers told when
one breaks, and the state lock never held while talking to SMTP. Each step is
broken for real (a folder where a file goes, a file where a folder goes) in a
real run against the built-in sandbox and a real SMTP server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .smtp_server import RunningSmtp, text_of
from .support import clean_environment, read_summary

CONFIG = """
[erpwatch]
monitors = "monitors"
reports = "reports"

[alerts]
retry_delay = 0.1

[processes.customers]
title = "Customer creation"
critical = true

[mail]
from = "erpwatch <monitoring@agency.example>"
maintainers = "maintainers"

[groups.client]
language = "en"
addresses = ["owner@webshop.example"]

[groups.maintainers]
language = "en"
addresses = ["dev@agency.example"]

[routing]
customers = ["client"]
"""

MONITOR = """
import pytest

pytestmark = pytest.mark.process("customers")

def test_customer(erp, synthetic):
    created = synthetic.create(erp, "customers", {"displayName": "Finishing"})
    assert erp.read("customers", created["id"])["id"] == created["id"]

def test_it_fails(erp):
    erp.read("customers", "00000000-0000-0000-0000-000000000000")
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "erpwatch.toml").write_text(CONFIG)
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "test_customers.py").write_text(MONITOR)
    (tmp_path / "reports").mkdir()
    return tmp_path


def run(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "monitors", *args],
        cwd=root,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


# What breaks each step: a directory where it writes a file, or a file where it
# needs a folder. The job summary is GITHUB_STEP_SUMMARY, set for every run.
BREAKERS = {
    "summary": lambda root: (root / "reports" / "summary.json").mkdir(),
    "alerts": lambda root: (root / "reports" / "state.json.lock").mkdir(),
    "mail": lambda root: (root / "reports" / "outbox").write_text("not a folder"),
    "history": lambda root: (root / "reports" / "history.jsonl").mkdir(),
    "dashboard": lambda root: (root / "reports" / "index.html").mkdir(),
    "job summary": lambda root: (root / "job-summary").mkdir(),
}


@pytest.mark.parametrize("step", list(BREAKERS))
def test_a_broken_finishing_step_is_one_line_the_others_run_and_the_maintainers_hear(
    tmp_path: Path, smtp: RunningSmtp, heartbeat_server: tuple[str, list[str]], step: str
) -> None:
    root = project(tmp_path)
    BREAKERS[step](root)
    ping, pings = heartbeat_server
    result = run(
        root,
        **smtp.env,
        GITHUB_STEP_SUMMARY=str(root / "job-summary"),
        ERPWATCH_HEARTBEAT_URL=ping,
        ERPWATCH_HEARTBEAT_FAIL_URL=ping + "/fail",
    )
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    lines = [
        line for line in out.splitlines() if line.startswith("erpwatch: ") and " failed: " in line
    ]
    # The dashboard is drawn from the history: a history that is a folder breaks both.
    broken = [step, "dashboard"] if step == "history" else [step]
    assert [line.split(" failed: ")[0] for line in lines] == [f"erpwatch: {b}" for b in broken], out
    assert "Traceback" not in out
    assert "INTERNALERROR" not in out
    reports = root / "reports"
    # Every other step still did its work.
    if step != "summary":
        summary = read_summary(reports / "summary.json")
        assert summary["outcome"] == "failed"
    if step != "history":
        assert len((reports / "history.jsonl").read_text().splitlines()) == 1
    if "dashboard" not in broken:
        assert (reports / "index.html").is_file()
    if step != "job summary":
        assert "erpwatch: failed" in (root / "job-summary").read_text()
    client = smtp.inbox.for_address("owner@webshop.example")
    assert len(client) == (0 if step in ("alerts", "mail") else 1)
    # The maintainers hear that erpwatch itself broke: a mail, and the fail URL.
    [notice] = smtp.inbox.for_address("dev@agency.example")
    assert step in str(notice["Subject"])
    assert all(line in text_of(notice) for line in lines)
    assert pings == ["/ping/abc/fail"]


SLOW_SMTP = """
import socket, sys, threading
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
# The first session is greeted, then answered nothing: an SMTP server that hangs
# the session, until the test hangs up (closes stdin) or the client gives up (QUIT).
first, _ = server.accept()
first.sendall(b"220 slow.example ESMTP\\r\\n")
over = threading.Event()
def until_quit():
    said = b""
    while b"QUIT" not in said:
        chunk = first.recv(1024)
        if not chunk:
            break
        said += chunk
    over.set()
def until_hung_up():
    sys.stdin.read()
    over.set()
def turn_away():
    # Any later session is refused at once.
    while True:
        client, _ = server.accept()
        client.sendall(b"421 4.3.2 slow.example busy\\r\\n")
        client.close()
# "deaf": not even a QUIT ends it (a server that stopped answering altogether).
jobs = (until_hung_up, turn_away) if sys.argv[1:] == ["deaf"] else (until_quit, until_hung_up, turn_away)
for job in jobs:
    threading.Thread(target=job, daemon=True).start()
over.wait()
first.shutdown(socket.SHUT_RDWR)
first.close()
"""


def test_a_second_run_saves_its_results_while_a_slow_smtp_server_keeps_the_first_waiting(
    tmp_path: Path,
) -> None:
    with mailing_to_a_slow_server(tmp_path) as (root, first, slow):
        outbox = root / "reports" / "outbox"
        # A second run meanwhile (no SMTP: its mail goes to the outbox) gets the
        # state at once: it finishes while the first is still waiting for the server.
        second = run(root)
        assert first.poll() is None  # still talking to the slow server
        assert second.returncode == 1, second.stdout
        assert "StateLockTimeout" not in second.stdout + second.stderr
        # It does not mail what the first run claimed: no mail twice.
        second_id = read_summary(root / "reports" / "summary.json")["run_id"]
        assert not list(outbox.glob(f"{second_id}-*"))
        hang_up(slow)  # the server gives up on the first run at last
        first.wait(timeout=120)
        assert "mail: NOT SENT to client" in (first.stdout.read() if first.stdout else "")
    state = json.loads((root / "reports" / "state.json").read_text())
    assert state["pending"]["client"], state  # kept for the next run, not lost
    assert state["sending"] == {}
    history = (root / "reports" / "history.jsonl").read_text().splitlines()
    assert len(history) == 2  # both runs' results were kept


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_while_mailing_cuts_the_mail_short_and_the_other_steps_still_run(
    tmp_path: Path, signum: int
) -> None:
    """A scheduler cancelling the job (GitHub: SIGINT, then SIGTERM) while erpwatch
    waits on a mail server that stopped answering (a QUIT too): the mail is pending
    again at once — erpwatch does not wait SMTP_TIMEOUT (120 s here) for a goodbye —
    and the history, dashboard and exit status still say what happened."""
    with mailing_to_a_slow_server(tmp_path, deaf=True) as (root, first, _):
        first.send_signal(signum)
        out, _ = first.communicate(timeout=60)
    assert first.returncode == 2, out
    assert "erpwatch: mail was cut short" in out, out
    assert "Traceback" not in out
    state = json.loads((root / "reports" / "state.json").read_text())
    assert state["pending"]["client"], state  # the next run sends it
    assert state["sending"] == {}
    assert len((root / "reports" / "history.jsonl").read_text().splitlines()) == 1
    assert (root / "reports" / "index.html").exists()


@contextmanager
def mailing_to_a_slow_server(
    tmp_path: Path, deaf: bool = False
) -> Iterator[tuple[Path, subprocess.Popen[str], subprocess.Popen[str]]]:
    """A run whose mail server answers nothing (until hung up on, or sent QUIT
    unless ``deaf``), yielded once the run is mailing, with that server."""
    slow = subprocess.Popen(
        [sys.executable, "-c", SLOW_SMTP, *(["deaf"] if deaf else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = slow.stdout.readline().strip()  # type: ignore[union-attr]
        root = project(tmp_path)
        first = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "monitors"],
            cwd=root,
            # Longer than any test waits: the server hangs up when the test says so.
            env=clean_environment(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TIMEOUT="120"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for_any(root / "reports" / "outbox", first)
            yield root, first, slow
        finally:
            first.kill()
            first.wait()
    finally:
        slow.kill()
        slow.wait()
        for stream in (slow.stdin, slow.stdout):
            if stream is not None:
                stream.close()


def hang_up(slow: subprocess.Popen[str]) -> None:
    """The slow server closes the session it kept waiting."""
    assert slow.stdin is not None
    slow.stdin.close()
    slow.wait(timeout=30)


def wait_for_any(folder: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not (folder.exists() and any(folder.iterdir())):
        assert process.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.2)


SLOW_MONITOR = """
import time
from pathlib import Path
import pytest

pytestmark = pytest.mark.process("customers")

def test_slow(erp, synthetic):
    synthetic.create(erp, "customers", {"displayName": "Interrupted"})
    def refuse():
        raise RuntimeError("the ERP refused to delete it")
    synthetic.remember("customers C99999", refuse)
    Path("started").write_text("")
    time.sleep(150)
"""

# Ctrl+C in a terminal reaches the whole process group; a scheduler's SIGTERM
# often only the process it started.
SIGNALS = {
    "sigint-group": (signal.SIGINT, True, "interrupted by Ctrl+C (SIGINT)"),
    "sigterm-process": (signal.SIGTERM, False, "stopped by SIGTERM"),
}


def check_interrupted(root: Path, out: str, reason: str) -> None:
    assert f"INTERRUPTED {reason}" in out
    assert "LEFTOVER customers C99999 could not be removed: RuntimeError" in out
    summary = read_summary(root / "reports" / "summary.json")
    assert summary["outcome"] == "interrupted"
    assert summary["interrupted"] == reason
    [monitor] = summary["monitors"]
    assert monitor["status"] == "unfinished"
    # The customer it created was removed after all: the one refusal is the only leftover.
    assert [x["description"] for x in monitor["leftovers"]] == ["customers C99999"]
    history = (root / "reports" / "history.jsonl").read_text().splitlines()
    [record] = [json.loads(line) for line in history]
    assert record["outcome"] == "interrupted"
    assert record["monitors"][0]["status"] == "unfinished"


def start_monitors(root: Path, workers: str) -> subprocess.Popen[str]:
    """The monitors of ``root`` as the schedule runs them, in a process group of
    their own, so a signal can go to the group as a terminal's Ctrl+C does."""
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", workers, "monitors"],
        cwd=root,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(marker: Path, process: subprocess.Popen[str]) -> None:
    """Until a monitor writes ``marker``: then it is where the test interrupts it."""
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.mark.parametrize("workers", ["0", "2"])
@pytest.mark.parametrize("how", list(SIGNALS))
def test_an_interrupted_run_cleans_up_lists_leftovers_and_is_recorded_as_interrupted(
    tmp_path: Path, how: str, workers: str
) -> None:
    signum, to_group, reason = SIGNALS[how]
    root = project(tmp_path)
    (root / "monitors" / "test_customers.py").write_text(SLOW_MONITOR)
    process = start_monitors(root, workers)
    try:
        wait_for(root / "started", process)
        if to_group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2, out
    check_interrupted(root, out, reason)
    # A run a person or a scheduler stopped says nothing about the ERP: no alert.
    state = json.loads((root / "reports" / "state.json").read_text())
    assert not any(m["failing"]["bad"] for m in state["monitors"].values())


@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_run_deadline_stops_a_running_monitor_and_reports_it_unfinished(
    tmp_path: Path, workers: str
) -> None:
    root = project(tmp_path)
    (root / "monitors" / "test_customers.py").write_text(SLOW_MONITOR)
    started = time.monotonic()
    result = run(root, "-n", workers, ERPWATCH_RUN_DEADLINE_MINUTES="0.2")
    # Not the monitor's 150 s: the deadline, plus the controller's 30 s wait for its
    # workers and a loaded machine's start-up.
    assert time.monotonic() - started < 120
    assert result.returncode == 2, result.stdout
    check_interrupted(root, result.stdout, "the run deadline of 0.2 min passed")
    # Too slow to finish is news for the client: alerted as a time-out of the process.
    [monitor] = json.loads((root / "reports" / "summary.json").read_text())["monitors"]
    assert monitor["diagnosis"]["category"] == "timeout"
    assert "the run deadline of 0.2 min passed" in monitor["diagnosis"]["reason"]
    [track] = json.loads((root / "reports" / "state.json").read_text())["monitors"].values()
    assert track["failing"]["bad"] is True
    assert track["failing"]["alerted"] is True


RETRIED_MONITOR = """
import pytest
import requests

pytestmark = pytest.mark.process("customers")
ATTEMPTS = []

def test_retried(erp, synthetic, erpwatch_settings):
    ATTEMPTS.append(1)
    def refuse():
        raise RuntimeError("the ERP refused to delete it")
    synthetic.remember(f"customers C{len(ATTEMPTS)}", refuse)
    created = synthetic.create(erp, "customers", {"displayName": "Retried"})
    if len(ATTEMPTS) == 1:  # the ERP is unavailable once: a transient failure, retried
        root = erpwatch_settings.erp.base_url.split("/api", 1)[0]
        fault = {"kind": "unavailable", "target": "customers", "method": "GET", "times": 1}
        requests.post(f"{root}/_sandbox/faults", json=fault, timeout=5).raise_for_status()
    erp.read("customers", created["id"])
"""


def test_a_retried_monitor_keeps_the_leftovers_of_its_first_attempt(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "monitors" / "test_customers.py").write_text(RETRIED_MONITOR)
    result = run(root)
    assert result.returncode == 0, result.stdout
    assert "FLAKY" in result.stdout
    for attempt in (1, 2):
        assert f"LEFTOVER customers C{attempt} could not be removed" in result.stdout
    [monitor] = read_summary(root / "reports" / "summary.json")["monitors"]
    assert [x["description"] for x in monitor["leftovers"]] == ["customers C1", "customers C2"]


SLOW_CLEANUP_MONITOR = """
import time
from pathlib import Path
import pytest

pytestmark = pytest.mark.process("customers")

def test_slow_cleanup(erp, synthetic):
    synthetic.create(erp, "customers", {"displayName": "Removed after the interruption"})
    def slow_removal():
        Path("cleaning").write_text("")
        time.sleep(60)
    synthetic.remember("customers C77777", slow_removal)
"""


@pytest.mark.parametrize("workers", ["0", "2"])
def test_an_interruption_during_cleanup_still_removes_the_rest_and_lists_the_one_it_cut(
    tmp_path: Path, workers: str
) -> None:
    root = project(tmp_path)
    (root / "monitors" / "test_customers.py").write_text(SLOW_CLEANUP_MONITOR)
    process = start_monitors(root, workers)
    try:
        wait_for(root / "cleaning", process)
        os.killpg(process.pid, signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2, out
    assert "LEFTOVER customers C77777 could not be removed: the run was interrupted" in out
    summary = read_summary(root / "reports" / "summary.json")
    assert summary["outcome"] == "interrupted"
    [monitor] = summary["monitors"]
    # Only the removal it cut is left: the customer was still removed after it.
    assert [x["description"] for x in monitor["leftovers"]] == ["customers C77777"]


def test_a_run_deadline_that_is_not_a_sane_number_of_minutes_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    root = project(tmp_path)
    for value in ("nan", "inf", "0", "-5", "soon", "100000"):
        result = run(root, ERPWATCH_RUN_DEADLINE_MINUTES=value)
        assert result.returncode == 4, result.stdout
        assert "ERPWATCH_RUN_DEADLINE_MINUTES" in result.stderr + result.stdout
        assert "Traceback" not in result.stderr + result.stdout


def test_a_chat_only_maintainers_group_hears_a_broken_step_on_its_webhook_and_that_step_is_not_broken(
    tmp_path: Path,
) -> None:
    from werkzeug.wrappers import Request, Response

    from .loopback import serve

    posts: list[bytes] = []

    def answer(request: Request) -> Response:
        posts.append(request.get_data())
        return Response("ok")

    root = project(tmp_path)
    (root / "erpwatch.toml").write_text(
        CONFIG.replace(
            '[groups.maintainers]\nlanguage = "en"\naddresses = ["dev@agency.example"]',
            '[groups.maintainers]\nlanguage = "en"\nwebhook = "json"\nwebhook_env = "AGENCY_HOOK"',
        )
    )
    BREAKERS["dashboard"](root)
    with serve(answer) as receiver:
        result = run(root, AGENCY_HOOK=f"{receiver.url}/hook/k3y-0f-the-agency")
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    failed = [
        line for line in out.splitlines() if line.startswith("erpwatch: ") and " failed: " in line
    ]
    assert [line.split(" failed: ")[0] for line in failed] == ["erpwatch: dashboard"], out
    [post] = posts
    assert "erpwatch itself failed" in json.loads(post)["subject"]

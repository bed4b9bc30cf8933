"""Files that never take the run down: a damaged alert state or history, two runs
at once, a reports folder that cannot be written and a .env in another encoding.
Each is tried through a real run (a subprocess pytest against the sandbox ERP and
a loopback SMTP server), checking the terminal line and the exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from erpwatch.alerts import State, StateStore
from erpwatch.config import ConfigError, dotenv_text
from erpwatch.report import History
from erpwatch.sandbox import RunningSandbox, parse_fault

from .smtp_server import RunningSmtp, start_smtp
from .support import clean_environment, run_pytest

CONFIG = """
[erpwatch]
monitors = "monitors"
reports = "reports"

[alerts]
retry_delay = 0.1

[processes.customers]
title = "Customer creation"
critical = true

[processes.orders]
title = "Order submission"
critical = true

[mail]
from = "erpwatch <monitoring@agency.example>"

[groups.client]
language = "en"
addresses = ["owner@webshop.example"]

[routing]
customers = ["client"]
orders = ["client"]
"""

ORDER_MONITOR = """
import pytest

pytestmark = pytest.mark.process("orders")

def test_order(erp, synthetic):
    customer = synthetic.create(erp, "customers", {"displayName": "Order test"})
    synthetic.create(erp, "salesOrders", {
        "externalDocumentNumber": synthetic.reference(),
        "customerId": customer["id"],
        "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1}],
    })
"""

VAT = "vat_required:salesOrders"
CLIENT = "owner@webshop.example"
T0 = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)


class Project:
    """A monitoring project in a folder: one order monitor, mail to the client."""

    def __init__(self, root: Path, sandbox: RunningSandbox, smtp: RunningSmtp) -> None:
        self.root = root
        self.sandbox = sandbox
        self.smtp = smtp
        (root / "monitors").mkdir()
        (root / "monitors" / "test_orders.py").write_text(ORDER_MONITOR)
        (root / "erpwatch.toml").write_text(CONFIG)
        self.reports = root / "reports"
        self.state = self.reports / "state.json"
        self.history = self.reports / "history.jsonl"

    def env(self, at: datetime = T0, **extra: str) -> dict[str, str]:
        return clean_environment(
            **self.sandbox.settings(), **self.smtp.env, ERPWATCH_NOW=at.isoformat(), **extra
        )

    def command(self) -> list[str]:
        return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "monitors",
                f"--erpwatch-config={self.root / 'erpwatch.toml'}"]  # fmt: skip

    def run(
        self, fault: str | None = VAT, at: datetime = T0, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        self.sandbox.app.faults.clear()
        if fault:
            self.sandbox.app.faults.add(parse_fault(fault))
        return run_pytest(
            "monitors",
            f"--erpwatch-config={self.root / 'erpwatch.toml'}",
            cwd=self.root,
            env=self.env(at, **extra),
        )

    def mails_to(self, address: str) -> int:
        return len(self.smtp.inbox.for_address(address))


@pytest.fixture
def project(tmp_path: Path, sandbox: RunningSandbox) -> Iterator[Project]:
    smtp = start_smtp(tmp_path, "none")
    yield Project(tmp_path, sandbox, smtp)
    smtp.stop()


def warnings_in(completed: subprocess.CompletedProcess[str], start: str) -> list[str]:
    return [line for line in completed.stdout.splitlines() if line.startswith(start)]


def no_crash(completed: subprocess.CompletedProcess[str]) -> None:
    output = completed.stdout + completed.stderr
    for sign in ("Traceback", "INTERNALERROR", "alerting failed", "could not be written"):
        assert sign not in output, output


# -- the alert state ------------------------------------------------------------------------------

VALID_INCIDENT = {
    "kind": "alert",
    "process": "customers",
    "diagnosis": None,
    "monitors": ["monitors/test_customers.py::test_customer"],
    "exchange": None,
    "first_seen": "2026-11-27T18:00:00+00:00",
    "last_seen": "2026-11-27T18:00:00+00:00",
    "runs": 1,
    "aspect": "failing",
    "ended_at": None,
    "processes": [],
}
VALID_TRACK = {"bad": True, "since": "2026-11-27T18:00:00+00:00", "bad_runs": 1, "runs": 1}


@pytest.mark.parametrize(
    "content",
    [
        b"null",
        b"[]",
        b'"state"',
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
        b'{"schema": 1, "monitors": {"x": ',
        b'{"schema": 1, "monitors": {}, "pending": {"client": [{"process": "orders"}]}}',
        b'{"schema": 1, "monitors": [], "pending": [], "notes": 5}',
        b'{"schema": 1, "monitors": {"m": {"process": "orders", "failing": {"bad_runs": "2"},'
        b' "slow": {}}}}',
        b'{"schema": 1, "monitors": {"m": {"process": "orders", "failing": {"since": "yesterday"},'
        b' "slow": {}}}}',
        b'{"schema": 1, "pending": {"client": [{"kind": "alert", "process": "orders",'
        b' "monitors": "m", "first_seen": 1, "last_seen": null}]}}',
        b"[" * 100_000 + b"]" * 100_000,  # valid JSON, deeper than Python recurses
    ],
    ids=[
        "null",
        "list",
        "text",
        "binary",
        "truncated",
        "pending-without-kind",
        "sections-of-the-wrong-type",
        "count-as-text",
        "time-that-is-no-time",
        "incident-of-wrong-types",
        "nested-too-deep",
    ],
)
def test_it_sets_a_corrupt_state_file_aside_and_still_mails(
    project: Project, content: bytes
) -> None:
    project.reports.mkdir()
    project.state.write_bytes(content)
    completed = project.run()
    no_crash(completed)
    assert completed.returncode == 1, completed.stdout
    [warning] = warnings_in(completed, "WARNING the alert state")
    assert f"the alert state {project.state} was damaged (" in warning
    assert "it was set aside as state.json.corrupt-" in warning
    [aside] = project.reports.glob("state.json.corrupt-*")
    assert aside.read_bytes() == content  # kept as it was, for a person to look at
    assert json.loads(project.state.read_text())["schema"] == 1
    assert project.mails_to(CLIENT) == 1
    # The next run finds a healthy state: no second warning.
    assert warnings_in(project.run(), "WARNING the alert state") == []


def test_a_damaged_state_keeps_its_valid_pending_mail_and_monitors(project: Project) -> None:
    project.reports.mkdir()
    damaged = {
        "schema": 1,
        "monitors": {
            "monitors/test_customers.py::test_customer": {
                "process": "customers",
                "failing": VALID_TRACK,
                "slow": {},
            },
            "broken": {"process": "orders", "failing": {"alerted": "yes"}, "slow": {}},
        },
        "pending": {"client": [VALID_INCIDENT, {"process": "orders"}]},
    }
    project.state.write_text(json.dumps(damaged))
    completed = project.run()
    no_crash(completed)
    [warning] = warnings_in(completed, "WARNING the alert state")
    assert "and 1 more problem" in warning
    assert "kept 1 monitor and 1 pending mail from it" in warning
    # The pending alert for customer creation went out with this run's order alert.
    [mail] = project.smtp.inbox.for_address(CLIENT)
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "New customers are not reaching the ERP" in text  # the pending alert
    assert "VAT Registration No. must have a value" in text  # this run's order alert
    state = json.loads(project.state.read_text())
    assert "monitors/test_customers.py::test_customer" in state["monitors"]
    assert "broken" not in state["monitors"]
    assert state["pending"] == {}


def test_a_state_path_that_is_a_folder_is_set_aside_too(project: Project) -> None:
    project.state.mkdir(parents=True)
    completed = project.run()
    no_crash(completed)
    [warning] = warnings_in(completed, "WARNING the alert state")
    assert "(not a file)" in warning
    assert project.mails_to(CLIENT) == 1


# -- the history --------------------------------------------------------------------------------


def history_record(run_id: str, at: datetime) -> dict[str, object]:
    return {
        "run_id": run_id,
        "at": at.isoformat(timespec="seconds"),
        "url": None,
        "monitors": [
            {
                "nodeid": "monitors/test_orders.py::test_order",
                "process": "orders",
                "status": "passed",
                "category": None,
                "call": None,
                "ms": [12, 30],
            }
        ],
        "mails": [],
    }


BAD_LINES = [
    b"{}",
    b"not json at all",
    b'{"run_id": 5, "at": "2026-11-27T19:00:00+00:00", "url": null, "monitors": [], "mails": []}',
    b'{"run_id": "r", "at": "2026-11-27T19:00:00", "url": null, "monitors": [], "mails": []}',
    b'{"run_id": "r", "at": "2026-11-27T19:00:00+00:00", "url": null, "monitors": [{}],'
    b' "mails": []}',
    b"\xff\xfe\x00binary",
    b"[1, 2, 3]",
    b"[" * 100_000 + b"]" * 100_000,  # valid JSON, deeper than Python recurses
]


def test_bad_history_lines_are_skipped_one_by_one_and_kept_aside(project: Project) -> None:
    project.reports.mkdir()
    good = json.dumps(history_record("earlier", T0 - timedelta(hours=1))).encode()
    project.history.write_bytes(b"\n".join([BAD_LINES[0], good, *BAD_LINES[1:]]) + b"\n")
    completed = project.run(fault=None)
    no_crash(completed)
    assert completed.returncode == 0, completed.stdout
    [warning] = warnings_in(completed, f"WARNING {len(BAD_LINES)} damaged line(s) of")
    assert "(line 1: not a run record: no 'run_id')" in warning
    assert "kept in history.jsonl.corrupt-" in warning
    [aside] = project.reports.glob("history.jsonl.corrupt-*")
    assert aside.read_bytes().splitlines() == BAD_LINES  # nothing silently dropped
    records = [json.loads(line) for line in project.history.read_text().splitlines()]
    assert len(records) == 2
    assert records[0]["run_id"] == "earlier"
    assert "2 runs in the history" in (project.reports / "index.html").read_text()
    # Set aside once: the next run reads a clean history.
    assert warnings_in(project.run(fault=None), "WARNING") == []


def test_a_dry_run_skips_bad_history_lines_and_leaves_them_in_place(project: Project) -> None:
    project.reports.mkdir()
    project.history.write_bytes(b"{}\n")
    completed = project.run(fault=None, ERPWATCH_DRY_RUN="1")
    no_crash(completed)
    [warning] = warnings_in(completed, "WARNING 1 damaged line(s) of")
    assert "kept aside when the next run writes the history" in warning
    assert project.history.read_bytes() == b"{}\n"


def test_history_unit_a_line_of_wrong_types_is_no_record(tmp_path: Path) -> None:
    history = History(tmp_path / "history.jsonl")
    good = history_record("ok", T0)
    history.path.write_text("\n".join([json.dumps(good), "{}", "[]", "5"]) + "\n")
    assert history.load() == [good]
    assert history.warnings == [
        f"3 damaged line(s) of {history.path} skipped (line 2: not a run record: no 'run_id'); "
        "they are kept aside when the next run writes the history"
    ]


def test_history_unit_a_record_with_more_fields_from_a_later_erpwatch_is_kept(
    tmp_path: Path,
) -> None:
    history = History(tmp_path / "history.jsonl")
    record = {**history_record("later", T0), "outcome": "interrupted"}
    history.path.write_text(json.dumps(record) + "\n")
    assert history.load() == [record]
    assert history.warnings == []


# -- two runs at once ---------------------------------------------------------------------------


def test_two_runs_at_once_lose_no_history_record_and_mail_once(project: Project) -> None:
    project.sandbox.app.faults.clear()
    project.sandbox.app.faults.add(parse_fault(VAT))
    for round_ in range(3):
        at = T0 + timedelta(minutes=15 * round_)
        runs = [
            subprocess.Popen(
                project.command(),
                cwd=project.root,
                env=project.env(at + timedelta(seconds=second)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for second in (0, 1)
        ]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
        for run, output in zip(runs, outputs, strict=True):
            assert run.returncode == 1, output
            assert "Traceback" not in output
        assert len(project.history.read_text().splitlines()) == 2 * (round_ + 1)
    # One alert; the reminder is 4 hours away: never a second mail for one failure.
    assert project.mails_to(CLIENT) == 1


# -- the reports folder and the .env ------------------------------------------------------------


def usage_error(completed: subprocess.CompletedProcess[str], expected: str) -> None:
    output = completed.stdout + completed.stderr
    assert completed.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert lines == [expected], output


def test_a_reports_path_that_is_a_file_is_one_line_and_exit_4(project: Project) -> None:
    project.reports.write_text("not a folder")
    usage_error(
        project.run(),
        f"ERROR: erpwatch: erpwatch.reports ({project.root / 'erpwatch.toml'}): "
        f"{project.reports} is a file, not a folder; remove it or choose another folder",
    )


def test_a_reports_folder_under_a_file_names_the_variable(project: Project) -> None:
    (project.root / "blocker").write_text("")
    usage_error(
        project.run(ERPWATCH_REPORTS=str(project.root / "blocker" / "reports")),
        f"ERROR: erpwatch: ERPWATCH_REPORTS (environment or .env): {project.root / 'blocker'} "
        "is a file, not a folder; remove it or choose another folder",
    )


def test_an_unwritable_reports_folder_is_one_line_and_exit_4(project: Project) -> None:
    if os.geteuid() == 0:
        # root writes through a folder's permissions; sysfs refuses even root.
        folder = Path("/sys/kernel")
        if not folder.is_dir():
            pytest.skip("no read-only folder for root on this system")
    else:
        folder = project.root / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
    usage_error(
        project.run(ERPWATCH_REPORTS=str(folder)),
        f"ERROR: erpwatch: ERPWATCH_REPORTS (environment or .env): the folder {folder} "
        "cannot be written: Permission denied",
    )


def test_a_state_file_in_a_folder_that_is_a_file_names_the_state_setting(
    project: Project,
) -> None:
    (project.root / "state").write_text("")
    usage_error(
        project.run(ERPWATCH_STATE=str(project.root / "state" / "state.json")),
        f"ERROR: erpwatch: ERPWATCH_STATE (environment or .env): {project.root / 'state'} "
        "is a file, not a folder; remove it or choose another folder",
    )


def test_a_dotenv_saved_as_utf16_by_windows_is_read(project: Project) -> None:
    # PowerShell 5's `>` and Notepad's "Unicode": UTF-16 with a byte-order mark.
    (project.root / ".env").write_bytes(
        "ERP_TEST_ITEM=1896-S\r\nERPWATCH_ENVIRONMENT=test\r\n".encode("utf-16")
    )
    completed = project.run(fault=None)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "environment test" in completed.stdout


def test_a_dotenv_in_another_encoding_is_one_line_and_exit_4(project: Project) -> None:
    dotenv = project.root / ".env"
    dotenv.write_bytes("MAINTAINER_EMAILS=andré@agency.example\n".encode("latin-1"))
    usage_error(
        project.run(),
        f"ERROR: erpwatch: .env ({dotenv}): is not UTF-8 text (byte 0xe9 at offset 22); "
        "save it as UTF-8",
    )


@pytest.mark.parametrize("line", [b"ERPWATCH_STATE=st\0ate.json", b"ERPWATCH_REPORTS=rep\0orts"])
def test_a_nul_character_in_dotenv_is_one_line_and_exit_4_before_any_monitor_runs(
    project: Project, line: bytes
) -> None:
    dotenv = project.root / ".env"
    dotenv.write_bytes(line + b"\n")
    name = line.split(b"=")[0].decode()
    completed = project.run()
    usage_error(
        completed,
        f"ERROR: erpwatch: {name} ({dotenv}): holds a NUL character; save .env as plain UTF-8 text",
    )


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"A=1\n", "A=1\n"),
        (b"\xef\xbb\xbfA=\xc3\xa9\n", "A=é\n"),
        ("A=é\n".encode("utf-16"), "A=é\n"),
        ("A=é\n".encode("utf-16-be").join([b"\xfe\xff", b""]), "A=é\n"),
    ],
    ids=["utf-8", "utf-8-with-bom", "utf-16-le-with-bom", "utf-16-be-with-bom"],
)
def test_dotenv_text_reads_utf8_and_marked_utf16(tmp_path: Path, raw: bytes, text: str) -> None:
    path = tmp_path / ".env"
    path.write_bytes(raw)
    assert dotenv_text(path) == text


@pytest.mark.parametrize("raw", [b"A=\xe9\n", "A=é\n".encode("utf-16-le"), b"\xff\xfe\x00\xd8"])
def test_dotenv_text_refuses_what_it_would_have_to_guess(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / ".env"
    path.write_bytes(raw)
    with pytest.raises(ConfigError, match=r"^\.env \(.*\): is not UTF-(8|16) text \(byte 0x"):
        dotenv_text(path)


# -- the state store, unit ------------------------------------------------------------------------


def test_state_unit_a_healthy_file_round_trips_without_warning(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    state = State()
    state.pending["client"] = [VALID_INCIDENT]
    store.save(state)
    assert store.load() == state
    assert store.warnings == []


def test_state_unit_two_damaged_files_in_one_second_are_both_kept(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    for content in ("null", "[]"):
        store.path.write_text(content)
        assert store.load() == State()
    assert sorted(p.read_text() for p in tmp_path.glob("state.json.corrupt-*")) == ["[]", "null"]


APPENDER = """
import json, sys
from datetime import datetime
from pathlib import Path
from erpwatch.report import History

path, name, record = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
for index in range(25):
    History(path).append({**record, "run_id": f"{name}-{index}"})
"""


def test_processes_appending_to_one_history_at_once_lose_no_record(tmp_path: Path) -> None:
    # Without the lock, each rewrite writes back what it read: records vanish.
    path = tmp_path / "history.jsonl"
    record = json.dumps(history_record("x", T0))
    writers = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(path), f"w{n}", record])
        for n in range(4)
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0, 0]
    history = History(path)
    ids = sorted(r["run_id"] for r in history.load())
    assert ids == sorted(f"w{n}-{i}" for n in range(4) for i in range(25))
    assert history.warnings == []

"""Sequences of scheduled runs with a controlled clock (ERPWATCH_NOW), against the
sandbox and a real SMTP server, every monitor under ``-n 2``: each incident gives one
alert per group, the reminders that are due, and one resolved mail. The sequences
about the orders process alone run its one monitor, in one process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from erpwatch.sandbox import RunningSandbox, parse_fault

from .smtp_server import RunningSmtp, free_port, text_of
from .support import ORDER_MONITOR_FILE, REPO, clean_environment, read_summary

T0 = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # 21:00 in Brussels

CONFIG = """
[erpwatch]
monitors = "{monitors}"
reports = "{reports}"

[alerts]
retry_delay = 0.1
retry_after_cap = 1
{maintenance}

[processes.customers]
title = "Customer creation"
critical = true

[processes.orders]
title = "Order submission"
critical = true

[processes.punchout]
title = "B2B punchout"
critical = true

[processes.payments]
title = "Payment status sync"
critical = true

[mail]
from = "erpwatch <monitoring@agency.example>"

[groups.client]
language = "nl"
addresses = ["owner@webshop.example"]

[groups.erp_partner]
language = "en"
addresses = ["erp-support@acme.example"]

[routing]
customers = ["client", "erp_partner"]
orders = ["client", "erp_partner"]
punchout = ["client", "erp_partner"]
payments = ["client", "erp_partner"]
"""


class Schedule:
    """The scheduler, replayed: one `pytest monitors -n 2` per call, at a chosen time."""

    def __init__(
        self,
        tmp_path: Path,
        sandbox: RunningSandbox,
        smtp: RunningSmtp,
        maintenance: str = "",
        processes: str = "",
    ) -> None:
        self.tmp_path = tmp_path
        # ERPWATCH_PROCESSES for every run: "orders" where only orders is at stake.
        # One monitor is run in one process (-n 0): two workers would have nothing
        # to share, and the runs of every monitor show the -n 2 controller's part.
        self.processes = processes
        self.sandbox = sandbox
        self.smtp = smtp
        self.config = tmp_path / "erpwatch.toml"
        self.config.write_text(
            CONFIG.format(
                monitors=REPO / "monitors", reports=tmp_path / "reports", maintenance=maintenance
            )
        )
        self.seen = 0

    @property
    def state_file(self) -> Path:
        return self.tmp_path / "reports" / "state.json"

    def command(
        self, at: datetime, fault: str | None, **env: str
    ) -> tuple[list[str], dict[str, str]]:
        self.sandbox.app.faults.clear()
        if fault:
            self.sandbox.app.faults.add(parse_fault(fault))
        settings = {
            **self.sandbox.settings(),
            **self.smtp.env,
            "ERPWATCH_NOW": at.isoformat(),
            **({"ERPWATCH_PROCESSES": self.processes} if self.processes else {}),
            **env,
        }
        environment = clean_environment(**settings)
        workers = "0" if self.processes else "2"
        args = [sys.executable, "-m", "pytest", "monitors", "-n", workers, "-p", "no:cacheprovider",
                f"--erpwatch-config={self.config}"]  # fmt: skip
        return args, environment

    def run(
        self, at: datetime, fault: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        args, environment = self.command(at, fault, **env)
        return subprocess.run(
            args, cwd=REPO, env=environment, capture_output=True, text=True, timeout=300
        )

    def new_mail(self) -> list[EmailMessage]:
        """The mails received since the last call."""
        fresh = self.smtp.inbox.messages[self.seen :]
        self.seen = len(self.smtp.inbox.messages)
        return fresh

    def summary(self) -> dict[str, Any]:
        return read_summary(self.tmp_path / "reports" / "summary.json")


def subjects(mails: list[EmailMessage], address: str) -> list[str]:
    return [str(m["Subject"]) for m in mails if address in str(m["To"])]


CLIENT, PARTNER = "owner@webshop.example", "erp-support@acme.example"
VAT = "vat_required:salesOrders"


@pytest.fixture
def schedule(tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp) -> Schedule:
    return Schedule(tmp_path, sandbox, smtp)


@pytest.fixture
def orders_schedule(tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp) -> Schedule:
    """The schedule running the order monitor only: the sequences where only the
    orders process fails or passes (the others are no part of what they show)."""
    return Schedule(tmp_path, sandbox, smtp, processes="orders")


def test_an_outage_gives_one_alert_the_due_reminders_and_one_resolved_mail(
    schedule: Schedule,
) -> None:
    # Failing runs over ten hours: the alert at once, reminders after 4 and 8 hours.
    # Runs just before each reminder is due (3 h, 7 h) and just after one (9 h) show
    # that a reminder comes when due, not with every run.
    for hour in (0, 3, 4, 7, 8, 9):
        completed = schedule.run(T0 + timedelta(hours=hour), VAT)
        assert completed.returncode == 1, completed.stdout
    mails = schedule.new_mail()
    assert subjects(mails, CLIENT) == [
        "[erpwatch] Bestellingen bereiken het ERP niet",
        "[erpwatch] Nog niet opgelost: Bestellingen bereiken het ERP niet",
        "[erpwatch] Nog niet opgelost: Bestellingen bereiken het ERP niet",
    ]
    assert len(subjects(mails, PARTNER)) == 3
    reminder = next(
        m for m in mails if CLIENT in str(m["To"]) and "Nog niet opgelost" in str(m["Subject"])
    )
    assert "Een herinnering: het probleem hieronder is er nog steeds." in text_of(reminder)

    # One good run does not resolve (against flapping); the second does.
    schedule.run(T0 + timedelta(hours=10))
    assert schedule.new_mail() == []
    schedule.run(T0 + timedelta(hours=11))
    mails = schedule.new_mail()
    assert subjects(mails, CLIENT) == ["[erpwatch] Opgelost: Bestellingen bereiken het ERP weer"]
    assert subjects(mails, PARTNER) == ["[erpwatch] Resolved: Orders reach the ERP again"]
    resolved = text_of(next(m for m in mails if PARTNER in str(m["To"])))
    # The engineers get the outage to the second, with the offset.
    assert re.search(
        r"\nOutage +from 2026-11-27 21:00:\d\d CET \(20:00:\d\d UTC\) "
        r"to 2026-11-28 07:00:\d\d CET \(06:00:\d\d UTC\) \(10 h\)",
        resolved,
    ), resolved
    assert re.search(
        r"\nLast failure +POST /companies\(…\)/salesOrders → 400 Application_FieldValidationException",
        resolved,
    )

    schedule.run(T0 + timedelta(hours=12))
    assert schedule.new_mail() == []


def test_flapping_gives_one_alert_then_one_unstable_mail_and_no_storm(
    orders_schedule: Schedule,
) -> None:
    schedule = orders_schedule
    for step, fault in enumerate([VAT, None, VAT, None, VAT, None, VAT]):
        schedule.run(T0 + timedelta(minutes=15 * step), fault)
    mails = schedule.new_mail()
    # The fifth run makes the fourth change in ten runs (the defaults): unstable.
    assert subjects(mails, CLIENT) == [
        "[erpwatch] Bestellingen bereiken het ERP niet",
        "[erpwatch] Bestellingen doorsturen hapert",
    ]
    assert len(subjects(mails, PARTNER)) == 2


def test_a_blip_that_passes_on_retry_is_flaky_not_alerted_and_noted_in_the_next_digest(
    schedule: Schedule,
) -> None:
    completed = schedule.run(T0, "unavailable:salesOrders:POST,times=1")
    assert completed.returncode == 0, completed.stdout
    assert schedule.new_mail() == []
    orders = next(
        m for m in schedule.summary()["monitors"] if m["nodeid"].startswith(ORDER_MONITOR_FILE)
    )
    assert orders["flaky"] is True
    assert orders["retried"].startswith(
        "POST /companies(…)/salesOrders → 503 Application_ServiceUnavailable"
    )
    assert "FLAKY monitors/test_order_submission.py" in completed.stdout

    schedule.run(T0 + timedelta(minutes=15), VAT)
    [client] = [m for m in schedule.new_mail() if CLIENT in str(m["To"])]
    text = text_of(client)
    assert "Ook opgemerkt, zonder alarm:" in text
    assert (
        "Bestellingen doorsturen (vr 27 nov 21:00) slaagde bij een tweede poging; "
        "de eerste mislukte met POST"
    ) in text


def test_a_failed_post_that_may_have_been_carried_out_is_not_retried(schedule: Schedule) -> None:
    completed = schedule.run(T0, "reset:salesOrders:POST,times=1")
    assert completed.returncode == 1
    orders = next(
        m for m in schedule.summary()["monitors"] if m["nodeid"].startswith(ORDER_MONITOR_FILE)
    )
    assert orders["retried"] is None
    assert orders["diagnosis"]["category"] == "unreachable"


def test_an_unreachable_erp_gives_one_root_cause_alert_listing_the_processes(
    tmp_path: Path, schedule: Schedule
) -> None:
    port = free_port()
    down = {
        "ERP_BASE_URL": f"http://127.0.0.1:{port}/api/v2.0",
        "ERP_TOKEN_URL": f"http://127.0.0.1:{port}/oauth2/v2.0/token",
    }
    args, env = schedule.command(T0, None)
    env.update(down)
    completed = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1
    mails = schedule.new_mail()
    assert subjects(mails, CLIENT) == ["[erpwatch] Het ERP is onbereikbaar"]
    text = text_of(next(m for m in mails if CLIENT in str(m["To"])))
    assert (
        "Er komt niets meer door: Klanten aanmaken, Bestellingen doorsturen, "
        "Betaalstatussen synchroniseren en B2B-punchout liggen allemaal stil."
    ) in text
    assert text.count("Mislukte oproep") == 1


def test_a_maintenance_window_holds_failure_mail_until_it_ends(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp
) -> None:
    window = '[[alerts.maintenance]]\nstart = "04:00"\nend = "04:30"'
    schedule = Schedule(tmp_path, sandbox, smtp, maintenance=window, processes="orders")
    night = datetime(2026, 11, 28, 3, 10, tzinfo=UTC)  # 04:10 in Brussels
    completed = schedule.run(night, VAT)
    assert completed.returncode == 1
    assert (
        "mail: failures are not mailed now: maintenance window 04:00–04:30 (Europe/Brussels)"
        in completed.stdout
    )
    assert schedule.new_mail() == []
    schedule.run(night + timedelta(minutes=30), VAT)  # 04:40: still failing, so the alert goes out
    assert subjects(schedule.new_mail(), CLIENT) == [
        "[erpwatch] Bestellingen bereiken het ERP niet"
    ]


def test_a_one_off_silence_from_the_environment(orders_schedule: Schedule) -> None:
    schedule = orders_schedule
    schedule.run(T0, VAT, ERPWATCH_SILENCE_UNTIL="2026-11-27T22:00")
    assert schedule.new_mail() == []
    schedule.run(T0 + timedelta(hours=2), VAT, ERPWATCH_SILENCE_UNTIL="2026-11-27T22:00")
    assert len(subjects(schedule.new_mail(), CLIENT)) == 1


def test_an_alert_the_mail_server_did_not_take_is_sent_by_the_next_run(
    orders_schedule: Schedule,
) -> None:
    schedule = orders_schedule
    closed = str(free_port())
    completed = schedule.run(T0, VAT, SMTP_PORT=closed)
    assert "mail: NOT SENT to client: cannot reach the mail server" in completed.stdout
    assert schedule.new_mail() == []
    summary = schedule.summary()
    assert {m["status"] for m in summary["mails"]} == {"failed"}

    schedule.run(T0 + timedelta(minutes=15), VAT)
    mails = schedule.new_mail()
    # The alert itself, with its original start time; no reminder on top of it.
    assert subjects(mails, CLIENT) == ["[erpwatch] Bestellingen bereiken het ERP niet"]
    assert re.search(
        r"\nEerst gezien +vr 27 nov 21:00",
        text_of(next(m for m in mails if CLIENT in str(m["To"]))),
    )
    schedule.run(T0 + timedelta(minutes=30), VAT)
    assert schedule.new_mail() == []


def test_a_corrupted_state_file_is_set_aside_and_the_run_goes_on(schedule: Schedule) -> None:
    schedule.state_file.parent.mkdir(parents=True)
    schedule.state_file.write_text('{"schema": 1, "monitors": {"x": ')
    completed = schedule.run(T0, VAT)
    assert "was damaged (JSONDecodeError: Expecting value" in completed.stdout
    assert "it was set aside as state.json.corrupt-" in completed.stdout
    assert len(list(schedule.state_file.parent.glob("state.json.corrupt-*"))) == 1
    assert json.loads(schedule.state_file.read_text())["schema"] == 1
    assert len(subjects(schedule.new_mail(), CLIENT)) == 1


def test_two_runs_at_once_share_the_state_without_corrupting_it_or_alerting_twice(
    schedule: Schedule,
) -> None:
    first = _popen(schedule, T0)
    second = _popen(schedule, T0 + timedelta(seconds=30))
    assert first.wait(timeout=300) == 1
    assert second.wait(timeout=300) == 1
    state = json.loads(schedule.state_file.read_text())
    assert state["schema"] == 1
    assert len(subjects(schedule.new_mail(), CLIENT)) == 1
    history = schedule.state_file.with_name("history.jsonl").read_text().splitlines()
    assert len(history) == 2  # neither run's record lost to the other's rewrite


def _popen(schedule: Schedule, at: datetime) -> subprocess.Popen[bytes]:
    args, env = schedule.command(at, VAT)
    return subprocess.Popen(
        args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def test_slowness_follows_its_own_quieter_lifecycle(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp
) -> None:
    schedule = Schedule(tmp_path, sandbox, smtp, processes="orders")
    config = schedule.config.read_text().replace(
        'title = "Order submission"', 'title = "Order submission"\nlatency_threshold = 0.3'
    )
    schedule.config.write_text(config)
    slow = "slow:salesOrders:POST,delay=0.5"
    for step in range(2):
        assert schedule.run(T0 + timedelta(minutes=15 * step), slow).returncode == 0
    assert schedule.new_mail() == []  # degraded, not yet the third time
    schedule.run(T0 + timedelta(minutes=30), slow)
    assert subjects(schedule.new_mail(), CLIENT) == ["[erpwatch] Bestellingen doorsturen is traag"]


def test_the_heartbeat_says_whether_the_run_went_well_and_never_fails_it(
    schedule: Schedule, heartbeat_server: tuple[str, list[str]]
) -> None:
    url, pings = heartbeat_server
    assert schedule.run(T0, None, ERPWATCH_HEARTBEAT_URL=url).returncode == 0
    assert schedule.run(T0 + timedelta(minutes=15), VAT, ERPWATCH_HEARTBEAT_URL=url).returncode == 1
    assert pings == ["/ping/abc", "/ping/abc/fail"]
    broken = f"http://127.0.0.1:{free_port()}/ping"
    completed = schedule.run(T0 + timedelta(minutes=30), None, ERPWATCH_HEARTBEAT_URL=broken)
    assert completed.returncode == 0
    assert (
        "WARNING heartbeat not delivered: could not connect (ConnectionError: Connection refused)"
        in completed.stdout
    )

"""The Tryton monitors against a real Tryton 8.2, healthy and broken the way life
breaks it: rights taken away, a field that became required, the server down,
a slow answer, a session that expired. Each ends in the right diagnosis and a
mail that quotes what Tryton said."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from erpwatch import TrytonCallFailed, TrytonClient
from erpwatch.capture import Recorder
from erpwatch.diagnosis import Category, classify, describe_failure
from erpwatch.tryton import NotRemovable, remove_party, remove_sale

from .smtp_server import RunningSmtp, free_port, text_of
from .support import REPO, clean_environment, read_summary, run_pytest
from .tryton import (
    DelayingProxy,
    admin_of,
    client_from,
    client_of,
    configuration_changed,
    groups_taken_away,
    lab,
    start_tryton,
)

TRYTON_MONITORS = (
    "monitors/test_tryton_customer_creation.py",
    "monitors/test_tryton_order_submission.py",
)

CONFIG = """
[erpwatch]
monitors = "{monitors}"
reports = "{reports}"

[erp]
timeout = {timeout}

[processes.customers]
title = "Customer creation"
critical = true
latency_threshold = {threshold}

[processes.orders]
title = "Order submission"
critical = true
latency_threshold = {threshold}

[alerts]
retry_delay = 0.1
slow_after = 1

[mail]
from = "erpwatch <monitoring@agency.example>"

[groups.client]
name = "Brasserie Zoë"
language = "nl"
addresses = ["owner@webshop.example"]

[groups.erp_partner]
name = "Tryton partner"
language = "en"
addresses = ["support@tryton-partner.example"]

[groups.maintainers]
language = "en"
addresses = ["dev@agency.example"]

[routing]
customers = ["client", "erp_partner"]
orders = ["client", "erp_partner"]
"""


@pytest.fixture(scope="module")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Tryton on its own copy of the lab database, for this module's tests."""
    server = start_tryton(tmp_path_factory.mktemp("tryton"))
    yield server
    server.stop()


def run_tryton_monitors(
    tmp_path: Path,
    tryton_settings: dict[str, str],
    smtp: RunningSmtp | None = None,
    *,
    monitors: tuple[str, ...] = TRYTON_MONITORS,
    monitors_dir: Path = REPO / "monitors",
    timeout: float = 30,
    threshold: float = 5.0,
) -> tuple[str, int, dict[str, Any]]:
    config = tmp_path / "erpwatch.toml"
    config.write_text(
        CONFIG.format(
            monitors=monitors_dir,
            reports=tmp_path / "reports",
            timeout=timeout,
            threshold=threshold,
        )
    )
    env = clean_environment(**tryton_settings, **(smtp.env if smtp else {}))
    completed = run_pytest(*monitors, f"--erpwatch-config={config}", env=env)
    summary = read_summary(tmp_path / "reports" / "summary.json")
    return completed.stdout + completed.stderr, completed.returncode, summary


def monitor_of(summary: dict[str, Any], process: str) -> dict[str, Any]:
    [monitor] = [m for m in summary["monitors"] if m["process"] == process]
    return dict(monitor)


def mail_to(smtp: RunningSmtp, address: str) -> EmailMessage:
    [message] = smtp.inbox.for_address(address)
    return message


def sale_state_read_back(orders: dict[str, Any]) -> str:
    """The sale's state in the order monitor's read-back answer."""
    read = next(e for e in orders["exchanges"] if e["name"] == "model.sale.sale.read")
    return str(json.loads(read["response_body"])["result"][0]["state"])


def synthetic_records(admin: TrytonClient) -> dict[str, list[dict[str, Any]]]:
    """What the monitors' synthetic data left in Tryton, found by tag."""
    tagged_party = [("party.name", "like", "%ERPWATCH-%")]
    tagged_customer = [("customer.name", "like", "%ERPWATCH-%")]
    return {
        "party.party": admin.search_read("party.party", [("name", "like", "%ERPWATCH-%")], ["id"]),
        "sale.sale": admin.search_read(
            "sale.sale", [("reference", "like", "ERPWATCH-%")], ["state", "invoices", "party"]
        ),
        "account.invoice": admin.search_read("account.invoice", tagged_party, ["state"]),
        "stock.shipment.out": admin.search_read("stock.shipment.out", tagged_customer, ["state"]),
    }


def test_the_tryton_monitors_pass_against_a_real_tryton_and_leave_nothing_behind(
    tmp_path: Path, tryton: Any
) -> None:
    # The lab's default: Tryton queues the sale's processing for a worker that
    # does not come yet, so the monitor takes a confirmed sale back and deletes it.
    output, code, summary = run_tryton_monitors(tmp_path, tryton.settings())
    assert code == 0, output
    assert {(p["name"], p["outcome"]) for p in summary["processes"]} == {
        ("customers", "passed"),
        ("orders", "passed"),
    }
    orders = monitor_of(summary, "orders")
    assert sale_state_read_back(orders) == "confirmed"
    calls = [e["name"] for e in orders["exchanges"]]
    assert calls.index("model.sale.sale.quote") < calls.index("model.sale.sale.confirm")
    assert calls.index("model.sale.sale.draft") < calls.index("model.sale.sale.delete")
    for monitor in summary["monitors"]:
        assert monitor["leftovers"] == []
    assert "LEFTOVER" not in output
    assert synthetic_records(admin_of(tryton)) == {
        "party.party": [],
        "sale.sale": [],
        "account.invoice": [],
        "stock.shipment.out": [],
    }

    written = (tmp_path / "reports" / "report.html").read_text() + json.dumps(summary)
    assert lab.MONITOR_PASSWORD not in written
    login = monitor_of(summary, "customers")["exchanges"][0]
    assert login["name"] == "common.db.login"
    assert json.loads(login["response_body"])["result"][1] == "[redacted]"


def test_on_a_tryton_without_a_queue_worker_the_order_monitor_passes_and_reports_what_tryton_keeps(
    tmp_path: Path,
) -> None:
    # Tryton's default: confirm runs the sale's processing before it answers.
    server = start_tryton(tmp_path / "tryton", queue="inline")
    try:
        output, code, summary = run_tryton_monitors(tmp_path, server.settings())
        records = synthetic_records(admin_of(server))
    finally:
        server.stop()
    assert code == 0, output
    assert {(p["name"], p["outcome"]) for p in summary["processes"]} == {
        ("customers", "passed"),
        ("orders", "passed"),
    }
    orders = monitor_of(summary, "orders")
    assert sale_state_read_back(orders) == "processing"
    assert monitor_of(summary, "customers")["leftovers"] == []

    # Tryton keeps the processed sale, its draft invoice and so its customer:
    # each is reported, saying why, and nothing else is left.
    [sale] = records["sale.sale"]
    [invoice] = records["account.invoice"]
    [party] = records["party.party"]
    assert (sale["state"], sale["invoices"], sale["party"]) == (
        "processing",
        [invoice["id"]],
        party["id"],
    )
    assert invoice["state"] == "draft"
    assert records["stock.shipment.out"] == []  # the lab's product is a service
    sale_left, party_left = orders["leftovers"]
    assert sale_left["description"].startswith(f"sale.sale {sale['id']} (ERPWATCH-")
    assert sale_left["error"] == (
        "NotRemovable: Tryton processed sale 1 after its confirmation (state 'processing') "
        "and never lets a processed sale be taken back, cancelled or deleted; "
        f"it made invoice {invoice['id']} (draft): cancel these in Tryton"
    )
    assert party_left == {
        "description": f"party.party {party['id']}",
        "error": "NotRemovable: it is still the customer of sale 1, which is left too",
    }
    assert f"LEFTOVER sale.sale {sale['id']} (ERPWATCH-" in output


def test_a_sale_that_tryton_did_not_confirm_fails_the_read_back_naming_the_state(
    tmp_path: Path, tryton: Any
) -> None:
    # Something between shop and ERP answers confirm "done" without confirming.
    proxy = DelayingProxy(tryton.url, delay=0, swallow=["model.sale.sale.confirm"])
    try:
        output, code, summary = run_tryton_monitors(
            tmp_path, {**tryton.settings(), "TRYTON_URL": proxy.url}, monitors=TRYTON_MONITORS[1:]
        )
    finally:
        proxy.stop()
    assert code == 1, output
    orders = monitor_of(summary, "orders")
    diagnosis = orders["diagnosis"]
    assert diagnosis["category"] == "data_mismatch", diagnosis
    assert diagnosis["call"] == "model.sale.sale.read (POST /erpwatch/rpc/)"
    assert diagnosis["error"].endswith(
        "returned other data than expected: state: expected one of "
        "('confirmed', 'processing', 'done'), ERP has 'quotation'"
    ), diagnosis["error"]
    assert orders["leftovers"] == []  # a quotation is taken back and deleted
    assert synthetic_records(admin_of(tryton))["sale.sale"] == []


def test_a_sale_a_worker_processes_while_it_is_taken_back_is_reported_and_so_is_its_customer(
    tmp_path: Path,
) -> None:
    server = start_tryton(tmp_path / "tryton")
    try:
        admin = admin_of(server)

        class RacedClient(TrytonClient):
            """The monitor's client, with a queue worker that processes the sale
            (what its queued task runs: Sale.process) just before the monitor
            presses "draft"."""

            def click(self, model: str, button: str, record_ids: Sequence[int]) -> Any:
                if button == "draft":
                    admin.click(model, "process", record_ids)
                return super().click(model, button, record_ids)

        client = RacedClient(client_of(server).settings)
        [product] = client.search_read(
            "product.product", [("code", "=", "1896-S")], ["id", "default_uom"]
        )
        party_id = client.create(
            "party.party",
            {"name": "Raced ERPWATCH-race", "addresses": [["create", [{"city": "Gent"}]]]},
        )
        [address] = client.read("party.party", party_id, ["addresses"])["addresses"]
        line = {
            "product": product["id"],
            "quantity": 1.0,
            "unit": product["default_uom"],
            "unit_price": Decimal("1000.80"),
        }
        sale_id = client.create(
            "sale.sale",
            {
                "party": party_id,
                "invoice_address": address,
                "reference": "ERPWATCH-race",
                "lines": [["create", [line]]],
            },
        )
        client.click("sale.sale", "quote", [sale_id])
        client.click("sale.sale", "confirm", [sale_id])
        assert client.read("sale.sale", sale_id, ["state"])["state"] == "confirmed"

        with pytest.raises(NotRemovable, match=r"state 'processing'.* made invoice \d+ \(draft\)"):
            remove_sale(client, sale_id)
        with pytest.raises(NotRemovable, match="still the customer of sale 1, which is left too"):
            remove_party(client, party_id)
        assert client.read("sale.sale", sale_id, ["state"])["state"] == "processing"
    finally:
        server.stop()


def test_a_monitor_user_who_lost_the_sales_rights_is_access_refused_with_trytons_message(
    tmp_path: Path, tryton: Any, smtp: RunningSmtp
) -> None:
    with groups_taken_away(admin_of(tryton), lab.MONITOR_LOGIN, ["Sales", "Sales Administrator"]):
        output, code, summary = run_tryton_monitors(tmp_path, tryton.settings(), smtp)
    assert code == 1, output
    assert monitor_of(summary, "customers")["outcome"] == "passed"
    diagnosis = monitor_of(summary, "orders")["diagnosis"]
    assert diagnosis["category"] == "auth", diagnosis
    assert diagnosis["call"] == "model.sale.sale.create (POST /erpwatch/rpc/)"
    assert (diagnosis["erp_dialect"], diagnosis["erp_code"]) == ("Tryton", "UserError")
    assert diagnosis["erp_message"].startswith("You are not allowed to "), diagnosis
    assert "Sale" in diagnosis["erp_message"]

    partner = text_of(mail_to(smtp, "support@tryton-partner.example"))
    assert row("Failing call", "model.sale.sale.create (POST /erpwatch/rpc/)").search(partner)
    subject = str(mail_to(smtp, "support@tryton-partner.example")["Subject"])
    # The state and the impact; never a bare "→ 200" that reads as success.
    assert subject == "[erpwatch] Orders are not reaching the ERP", subject
    assert f"“{diagnosis['erp_message']}" in partner
    assert "missing permissions" in partner  # what to do: restore the permissions
    assert "Authorization: [redacted]" in partner
    for message in smtp.inbox.messages:
        assert lab.MONITOR_PASSWORD not in message.as_string()
        assert "Session " not in message.as_string()  # the header's value, never


@pytest.mark.parametrize(
    ("change", "says"),
    [
        # Automatic party numbering turned off: a code must now be typed in.
        ({"party_sequence": None}, 'A value is required for field "Code" in record "Brasserie De'),
        # Only Belgian enterprise numbers allowed from now on, no EU VAT numbers.
        ({"identifier_types": ["be_vat"]}, 'The value "eu_vat" for field "Type" in record "BE0403'),
    ],
    ids=["code-became-required", "stricter-identifier-rule"],
)
def test_a_party_rule_made_stricter_is_refused_by_the_erp_with_trytons_message(
    tmp_path: Path, tryton: Any, smtp: RunningSmtp, change: dict[str, Any], says: str
) -> None:
    with configuration_changed(admin_of(tryton), "party.configuration", change):
        output, code, summary = run_tryton_monitors(tmp_path, tryton.settings(), smtp)
    assert code == 1, output
    diagnosis = monitor_of(summary, "customers")["diagnosis"]
    assert diagnosis["category"] == "rejected", diagnosis
    assert diagnosis["call"] == "model.party.party.create (POST /erpwatch/rpc/)"
    message = diagnosis["erp_message"]
    assert message.startswith(says), message
    assert diagnosis["status"] == 200

    partner = text_of(mail_to(smtp, "support@tryton-partner.example"))
    assert row("ERP says", f"“{message}” (original text, not translated)").search(partner)
    assert row("Answer", "200 UserError").search(partner)
    client = text_of(mail_to(smtp, "owner@webshop.example"))
    assert row("ERP meldt", f"‘{message}’ (originele tekst, niet vertaald)").search(client)


def test_a_stopped_tryton_is_unreachable(tmp_path: Path, tryton: Any, smtp: RunningSmtp) -> None:
    # Where a stopped Tryton listened, nothing does: a port nothing listens on
    # (no Tryton of its own started just to stop it).
    settings = {**tryton.settings(), "TRYTON_URL": f"http://127.0.0.1:{free_port()}/"}
    output, code, summary = run_tryton_monitors(tmp_path, settings, smtp)
    assert code == 1, output
    for process in ("customers", "orders"):
        diagnosis = monitor_of(summary, process)["diagnosis"]
        assert diagnosis["category"] == "unreachable", diagnosis
        assert diagnosis["call"] == "common.db.login (POST /erpwatch/rpc/)"
        assert "Connection refused" in diagnosis["error"]
    partner = text_of(mail_to(smtp, "support@tryton-partner.example"))
    assert "common.db.login (POST /erpwatch/rpc/)" in partner
    assert "connection refused: nothing answers at this address" in partner


def row(label: str, value: str) -> re.Pattern[str]:
    """A line of a mail's text part: the label in its column, then the value."""
    return re.compile(rf"(?m)^{re.escape(label)} +{re.escape(value)}")


def test_a_slow_tryton_makes_the_monitors_slow_and_says_how_slow(
    tmp_path: Path, tryton: Any, smtp: RunningSmtp
) -> None:
    proxy = DelayingProxy(tryton.url, delay=0.5)
    try:
        output, code, summary = run_tryton_monitors(
            tmp_path, {**tryton.settings(), "TRYTON_URL": proxy.url}, smtp, threshold=0.3
        )
    finally:
        proxy.stop()
    assert code == 0, output  # slow is degraded, not failed
    for process in ("customers", "orders"):
        monitor = monitor_of(summary, process)
        assert monitor["status"] == "degraded", monitor["status"]
        assert monitor["diagnosis"]["category"] == "slow"
        assert monitor["diagnosis"]["duration_ms"] >= 500
    partner = text_of(mail_to(smtp, "support@tryton-partner.example"))
    # Every call is 0.5 s late; which one is slowest depends on the machine.
    assert re.search(r"Slowest call +(common|model)\.[\w.]+ \(POST /erpwatch/rpc/\)", partner)
    assert re.search(r"Answer +200 in \d+\.\d\d s \(agreed: at most 0\.30 s\)", partner)
    client = text_of(mail_to(smtp, "owner@webshop.example"))
    assert re.search(r"Antwoord +200 in \d+,\d\d s \(afgesproken: hoogstens 0,30 s\)", client)


def test_a_tryton_slower_than_the_time_out_is_a_time_out(tmp_path: Path, tryton: Any) -> None:
    proxy = DelayingProxy(tryton.url, delay=1.5)
    try:
        output, code, summary = run_tryton_monitors(
            tmp_path,
            {**tryton.settings(), "TRYTON_URL": proxy.url},
            monitors=TRYTON_MONITORS[:1],
            timeout=0.5,
        )
    finally:
        proxy.stop()
    assert code == 1, output
    diagnosis = monitor_of(summary, "customers")["diagnosis"]
    assert diagnosis["category"] == "timeout", diagnosis
    assert diagnosis["call"] == "common.db.login (POST /erpwatch/rpc/)"


QUIET_MONITOR = """
import time

import pytest

pytestmark = pytest.mark.process("customers", critical=True)


def test_the_integration_logs_in(tryton):
    tryton.login()


def test_a_customer_arrives_after_a_quiet_spell(tryton, synthetic):
    time.sleep(3.5)  # longer than the sessions the ERP allows (2 s)
    synthetic.create_in_tryton(tryton, "party.party", {"name": f"Quiet {synthetic.tag}"})
"""


def test_a_session_that_expired_is_access_refused_and_says_so(
    tmp_path: Path, smtp: RunningSmtp
) -> None:
    server = start_tryton(tmp_path / "tryton", session_max_age=2)
    monitors = tmp_path / "monitors"
    monitors.mkdir()
    (monitors / "test_quiet.py").write_text(QUIET_MONITOR)
    try:
        output, code, summary = run_tryton_monitors(
            tmp_path, server.settings(), smtp, monitors=(str(monitors),), monitors_dir=monitors
        )
    finally:
        server.stop()
    assert code == 1, output
    [failed] = [m for m in summary["monitors"] if m["outcome"] == "failed"]
    diagnosis = failed["diagnosis"]
    assert diagnosis["category"] == "auth", diagnosis
    assert diagnosis["status"] == 401
    assert diagnosis["call"] == "model.party.party.create (POST /erpwatch/rpc/)"
    assert "session" in diagnosis["reason"]
    partner = text_of(mail_to(smtp, "support@tryton-partner.example"))
    assert '“HTTP 401 with WWW-Authenticate: Basic realm="Tryton"”' in partner


def test_a_method_tryton_does_not_offer_is_named_and_an_unexpected_response(
    tryton: Any, recorder: Recorder
) -> None:
    # After an ERP update renamed a button, the integration still presses the old one.
    client = client_of(tryton, redactor=recorder.redactor)
    with recorder.recording() as log, pytest.raises(TrytonCallFailed) as raised:
        client.click("sale.sale", "submit", [1])
    diagnosis = classify(list(log), describe_failure(raised.value))
    assert diagnosis is not None
    assert diagnosis.category is Category.UNEXPECTED_RESPONSE, diagnosis.reason
    assert diagnosis.call == "model.sale.sale.submit (POST /erpwatch/rpc/)"
    assert (diagnosis.erp_dialect, diagnosis.status) == ("Tryton", 403)
    assert "does not offer this call" in diagnosis.reason


@pytest.mark.parametrize("queue", ["held", "inline"])
def test_the_lab_serves_tryton_as_the_readme_says_and_stops_it_when_terminated(
    tmp_path: Path, queue: str
) -> None:
    serve = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "tryton_lab.py"), "serve", "--port", "0",
         "--dir", str(tmp_path), "--queue", queue],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        lines = [serve.stdout.readline() for _ in range(6)]
        assert f"(queue: {queue}; " in lines[0], lines[0]
        settings = dict(line.strip().split("=", 1) for line in lines if "TRYTON_" in line)
        assert set(settings) == {"TRYTON_URL", "TRYTON_DATABASE", "TRYTON_USER", "TRYTON_PASSWORD"}
        client = client_from(settings)
        assert client.search_read("product.product", [("code", "=", "1896-S")], ["id"])
        # Only "held" tells Tryton a worker runs the queue; "inline" is its default.
        config = (tmp_path / "trytond.conf").read_text()
        assert ("[queue]\nworker = True\n" in config) is (queue == "held"), config
    finally:
        serve.terminate()
        serve.wait(timeout=15)
    with pytest.raises(TrytonCallFailed) as stopped:
        client.search_read("product.product", [], ["id"])
    assert stopped.value.status is None  # Tryton went down with the script


def test_a_tryton_server_started_by_the_suite_stops_when_the_suite_dies(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from tests.tryton import start_tryton; "
            f"server = start_tryton(__import__('pathlib').Path({str(tmp_path / 'tryton')!r})); "
            "print(server.process.pid, flush=True); time.sleep(600)",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert starter.stdout is not None
    pid = int(starter.stdout.readline())
    os.kill(pid, 0)  # serving
    starter.kill()  # no atexit, no finalizer: as a stopped suite or a crashed worker
    starter.wait()
    deadline = time.monotonic() + 20
    while _running(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("trytond outlived the process that started it")
        time.sleep(0.2)


def _running(pid: int) -> bool:
    """Alive, and not a zombie waiting for whichever process adopted it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status

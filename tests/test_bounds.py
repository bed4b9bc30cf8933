"""Time and size stay bounded whatever the other side does: a call ends by its
total deadline however slowly the answer trickles, an answer is read only up to
a cap, paging stops on loops and endless lists, Retry-After cannot make erpwatch
sleep a negative or endless time, an SMTP session ends by its deadline, and a
huge ERP message leaves small artefacts. Against real hostile loopback servers."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from erpwatch import CallFailed, ErpClient
from erpwatch._http import RETRY_AFTER_MOST, retry_after
from erpwatch.config import (
    ErpSettings,
    OciSettings,
    PaymentSettings,
    PunchoutSettings,
    SmtpSettings,
    TrytonSettings,
)
from erpwatch.notify._transport import MailDeliveryFailed, send, smtp_connection
from erpwatch.psp import PaymentProviderClient
from erpwatch.punchout import OciClient, PunchoutClient
from erpwatch.tryton import TrytonClient

from .hostile_http import (
    Behaviour,
    Request,
    answer,
    hostile_http,
    slow_smtp,
    trickling_body,
    trickling_headers,
)
from .support import clean_environment, read_summary, run_pytest

DEADLINE = 1.0
MARGIN = 1.5  # thread start-up and a loaded CI machine


def erp_settings(url: str, timeout: float = DEADLINE) -> ErpSettings:
    return ErpSettings(
        base_url=f"{url}/api/v2.0",
        token_url=f"{url}/token",
        client_id="erpwatch",
        client_secret="s3cret",
        scope="api",
        company_id="c0ffee00-0000-0000-0000-000000000001",
        test_item="1896-S",
        timeout=timeout,
        connect_timeout=timeout,
        sandbox=False,
    )


def psp_settings(url: str, timeout: float = DEADLINE) -> PaymentSettings:
    return PaymentSettings(
        base_url=url,
        api_key="test_hostile00000000000000000000",
        webhook_url=None,
        sync_timeout=1,
        grace_minutes=0,
        lookback=10,
        sandbox=False,
        timeout=timeout,
        connect_timeout=timeout,
    )


def _erp_call(url: str) -> None:
    ErpClient(erp_settings(url)).token()


def _psp_call(url: str) -> None:
    PaymentProviderClient(psp_settings(url)).payment("tr_1")


def _cxml_call(url: str) -> None:
    settings = PunchoutSettings(
        setup_url=f"{url}/punchout/setup",
        order_url=f"{url}/punchout/order",
        from_domain="NetworkID",
        from_identity="buyer",
        to_domain="NetworkID",
        to_identity="shop",
        sender_domain="NetworkID",
        sender_identity="buyer",
        shared_secret="s3cret",
        order_timeout=1,
        timeout=DEADLINE,
        connect_timeout=DEADLINE,
    )
    PunchoutClient(settings).setup("cookie", "https://buyer.example/return")


def _oci_call(url: str) -> None:
    settings = OciSettings(
        f"{url}/oci", "buyer", "s3cret", timeout=DEADLINE, connect_timeout=DEADLINE
    )
    OciClient(settings).transfer("https://sap.example/hook")


def _tryton_call(url: str) -> None:
    settings = TrytonSettings(f"{url}/", "erp", "admin", "s3cret", DEADLINE, DEADLINE)
    TrytonClient(settings).login()


CLIENTS: dict[str, Callable[[str], None]] = {
    "erp": _erp_call,
    "payment provider": _psp_call,
    "cxml punchout": _cxml_call,
    "oci": _oci_call,
    "tryton": _tryton_call,
}


def slow_redirects_within_the_origin(request: Request, conn: socket.socket) -> None:
    """Each answer in time, but a 307 to the same server again: a chain of them.
    A fifth of the time-out per hop: on a loaded machine one hop alone must still
    answer in time, so it is the chain that the call's one deadline ends."""
    time.sleep(0.2)
    hop = int(request.path.rsplit("hop=", 1)[-1]) if "hop=" in request.path else 0
    answer(conn, 307, b"", Location=f"/token?hop={hop + 1}")


@pytest.mark.parametrize("client", CLIENTS)
def test_a_chain_of_slow_redirects_ends_by_the_one_deadline_of_the_call(client: str) -> None:
    # Thirty hops of 0.2 s would take 6 s; each alone is well within the 1 s time-out.
    with hostile_http(slow_redirects_within_the_origin) as server:
        started = time.monotonic()
        with pytest.raises(CallFailed) as failed:
            CLIENTS[client](server.url)
        took = time.monotonic() - started
    assert took < DEADLINE + MARGIN, took
    assert f"within {DEADLINE:g} s" in str(failed.value)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    "behaviour",
    [trickling_body(0.05), trickling_headers(0.05)],
    ids=["trickling body", "trickling headers"],
)
def test_every_client_gives_up_on_a_trickling_answer_at_its_total_deadline(
    client: str, behaviour: Behaviour
) -> None:
    # 1,000 bytes at 20 a second would take 50 s; no single read ever waits 1 s.
    with hostile_http(behaviour) as server:
        started = time.monotonic()
        with pytest.raises(CallFailed) as failed:
            CLIENTS[client](server.url)
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN, f"{client} held the call {elapsed:.1f} s"
    assert failed.value.status is None
    assert f"no complete answer within {DEADLINE:g} s" in str(failed.value)


def test_a_kept_alive_connection_is_bounded_on_its_second_call_too() -> None:
    calls = 0

    def behave(request: Request, conn: socket.socket) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            answer(conn, 200, {"access_token": "t0k3n", "expires_in": 3600})
        else:
            trickling_body(0.05)(request, conn)

    with hostile_http(behave) as server:
        client = ErpClient(erp_settings(server.url))
        client.token()
        started = time.monotonic()
        with pytest.raises(CallFailed, match="no complete answer within 1 s"):
            client.read("customers", "c1")
        assert time.monotonic() - started < DEADLINE + MARGIN
    assert calls == 2


def test_an_answer_larger_than_erpwatch_reads_is_cut_and_named_too_large() -> None:
    huge = b'{"value": "' + b"x" * (20 * 1024 * 1024) + b'"}'

    def behave(request: Request, conn: socket.socket) -> None:
        if request.path == "/token":
            answer(conn, 200, {"access_token": "t0k3n", "expires_in": 3600})
        else:
            answer(conn, 200, huge)

    with hostile_http(behave) as server:
        client = ErpClient(erp_settings(server.url, timeout=10))
        started = time.monotonic()
        with pytest.raises(CallFailed) as failed:
            client.read("customers", "c1")
    assert time.monotonic() - started < 5
    assert failed.value.status == 200
    assert "the answer is larger than 4096 KB" in str(failed.value)


# -- paging ----------------------------------------------------------------------


def _payment(number: int) -> dict[str, Any]:
    return {
        "id": f"tr_{number}",
        "status": "paid",
        "amount": {"currency": "EUR", "value": "10.00"},
        "createdAt": "2026-01-01T10:00:00+00:00",
    }


def test_a_payment_list_whose_next_link_points_at_itself_stops_at_once_and_says_so() -> None:
    def behave(request: Request, conn: socket.socket) -> None:
        page = {
            "_embedded": {"payments": [_payment(1)]},
            "_links": {"next": {"href": f"{server.url}/v2/payments?from=tr_1&limit=250"}},
        }
        answer(conn, 200, page)

    with hostile_http(behave) as server, pytest.raises(CallFailed) as failed:
        list(PaymentProviderClient(psp_settings(server.url)).payments(most=10**6))
    assert len(server.requests) <= 3
    assert "paging loop" in str(failed.value)


def test_a_payment_list_that_never_ends_is_stopped_by_its_time_bound() -> None:
    def behave(request: Request, conn: socket.socket) -> None:
        number = len(server.requests)
        page = {
            "_embedded": {"payments": [_payment(number)]},
            "_links": {"next": {"href": f"{server.url}/v2/payments?from=tr_{number}"}},
        }
        answer(conn, 200, page)

    # Paging may take 10 per-call time-outs: 4 s. Not less: on a loaded machine a
    # single page must still come within its own time-out, or another bound speaks.
    timeout = 0.4
    with hostile_http(behave) as server:
        started = time.monotonic()
        with pytest.raises(CallFailed) as failed:
            list(PaymentProviderClient(psp_settings(server.url, timeout)).payments(most=10**6))
        elapsed = time.monotonic() - started
    assert elapsed < 10 * timeout + MARGIN
    assert "still links to a next page after" in str(failed.value)
    assert "stopped after" in str(failed.value)


def test_an_erp_listing_whose_next_link_leads_back_is_stopped_as_a_paging_loop() -> None:
    def behave(request: Request, conn: socket.socket) -> None:
        if request.path == "/token":
            answer(conn, 200, {"access_token": "t0k3n", "expires_in": 3600})
            return
        # Page 1 links to page 2, page 2 back to page 1: every link differs from the last.
        other = "page=2" if "page=2" not in request.path else "page=1"
        link = f"{server.url}/api/v2.0/companies(c0ffee00-0000-0000-0000-000000000001)/customers?{other}"
        answer(conn, 200, {"value": [{"id": "c1"}], "@odata.nextLink": link})

    with hostile_http(behave) as server, pytest.raises(CallFailed) as failed:
        ErpClient(erp_settings(server.url)).find("customers", displayName="x")
    assert len(server.requests) <= 5  # the token, and a few pages
    assert "paging loop" in str(failed.value)
    # Small pages keep every answer far below the size cap.
    assert server.requests[1].headers.get("prefer") == "odata.maxpagesize=1000"


# -- Retry-After -------------------------------------------------------------------


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "wait"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-5", None),
        ("nan", None),
        ("NaN", None),
        ("inf", None),
        ("-inf", None),
        ("1e400", None),
        ("soon", None),
        ("", None),
        ("1e9", RETRY_AFTER_MOST),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_MOST),
        ("Mon, 99 Foo 2026 99:99:99 GMT", None),
    ],
)
def test_retry_after_is_read_strictly(raw: str, wait: float | None) -> None:
    assert retry_after(raw, now=NOW) == wait


# -- SMTP --------------------------------------------------------------------------


def test_an_smtp_server_answering_a_byte_at_a_time_is_ended_by_the_session_deadline() -> None:
    message = EmailMessage()
    message["From"] = "erpwatch@agency.example"
    message["To"] = "owner@webshop.example"
    message["Subject"] = "test"
    message.set_content("hello")
    # Each answer comes a byte every 0.1 s: never 1 s without a byte, but a session
    # of six answers takes far longer than the deadline of 1 s + 1 s per mail.
    with slow_smtp(0.1) as port:
        settings = SmtpSettings("127.0.0.1", port, "none", None, None, 1.0, None)
        started = time.monotonic()
        with (
            pytest.raises(MailDeliveryFailed) as failed,
            smtp_connection(settings, messages=1) as client,
        ):
            send(client, message)
        elapsed = time.monotonic() - started
    assert elapsed < 2 + MARGIN, f"the SMTP session took {elapsed:.1f} s"
    assert "did not finish the session within 2 s" in str(failed.value)


# -- whole runs against a hostile ERP ------------------------------------------------

MONITOR = """
import pytest

pytestmark = pytest.mark.process("customers")


def test_a_customer_can_be_created(erp):
    erp.create("customers", {"displayName": "Bounds test"})
"""

CONFIG = """
[erpwatch]
monitors = "monitors"
reports = "reports"

[erp]
timeout = 2
connect_timeout = 1

[alerts]
retry_delay = 0.1
retry_after_cap = 1

[processes.customers]
title = "Customer creation"
critical = true

[mail]
from = "erpwatch <monitoring@agency.example>"
maintainers = "maintainers"

[groups.client]
name = "Client"
language = "en"
addresses = ["owner@webshop.example"]

[groups.maintainers]
name = "Maintainers"
language = "en"
addresses = ["ops@agency.example"]

[routing]
customers = ["client"]
"""


def run_against(tmp_path: Path, behaviour: Behaviour) -> tuple[Any, float, Path]:
    project = tmp_path / "project"
    (project / "monitors").mkdir(parents=True)
    (project / "monitors" / "test_bounds_monitor.py").write_text(MONITOR)
    (project / "erpwatch.toml").write_text(CONFIG)
    (project / "pytest.ini").write_text("[pytest]\n")

    def behave(request: Request, conn: socket.socket) -> None:
        if request.path == "/token":
            answer(conn, 200, {"access_token": "t0k3n", "expires_in": 3600})
        else:
            behaviour(request, conn)

    with hostile_http(behave) as server:
        settings = erp_settings(server.url)
        env = clean_environment(
            ERP_BASE_URL=settings.base_url,
            ERP_TOKEN_URL=settings.token_url,
            ERP_CLIENT_ID=settings.client_id,
            ERP_CLIENT_SECRET=settings.client_secret,
            ERP_COMPANY_ID=str(settings.company_id),
        )
        started = time.monotonic()
        completed = run_pytest(
            "monitors", f"--junitxml={project / 'reports' / 'junit.xml'}", cwd=project, env=env
        )
        elapsed = time.monotonic() - started
    return completed, elapsed, project / "reports"


@pytest.mark.parametrize("size_mb", [3, 20])
def test_a_huge_erp_message_leaves_every_artefact_small(tmp_path: Path, size_mb: int) -> None:
    message = "The record is invalid because " + "A" * (size_mb * 1024 * 1024)
    body = json.dumps({"error": {"code": "Internal_ServerError", "message": message}}).encode()

    def behave(request: Request, conn: socket.socket) -> None:
        answer(conn, 500, body, Content_Type="application/json")

    completed, _, reports = run_against(tmp_path, behave)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "INTERNALERROR" not in output
    written = [p for p in reports.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert {"summary.json", "report.html", "junit.xml"} <= names, names
    assert any(p.suffix == ".eml" for p in written), names
    for path in written:
        assert path.stat().st_size < 1024 * 1024, f"{path.name}: {path.stat().st_size} bytes"
    assert len(output) < 1024 * 1024, f"the terminal got {len(output)} characters"
    monitor = read_summary(reports / "summary.json")["monitors"][0]
    diagnosis = monitor["diagnosis"]
    assert diagnosis["status"] == 500
    # The ERP's words are quoted: the start of them.
    assert "The record is invalid because AAA" in diagnosis["erp_message"]
    assert len(diagnosis["erp_message"]) < 5000
    assert "The record is invalid because AAA" in output


def test_a_trickling_erp_fails_the_monitor_as_a_timeout_within_the_deadline(
    tmp_path: Path,
) -> None:
    completed, elapsed, reports = run_against(tmp_path, trickling_body(0.05))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    monitor = read_summary(reports / "summary.json")["monitors"][0]
    assert monitor["diagnosis"]["category"] == "timeout", monitor["diagnosis"]
    assert "no complete answer within 2 s" in output
    # One POST of 2 s (a POST that timed out is not repeated), plus pytest's start-up.
    assert elapsed < 2 + 15, f"the run took {elapsed:.1f} s"


@pytest.mark.parametrize("header", ["-5", "nan", "inf", "soon", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_hostile_retry_after_is_reported_not_crashed_on(tmp_path: Path, header: str) -> None:
    def behave(request: Request, conn: socket.socket) -> None:
        error: dict[str, object] = {
            "error": {"code": "Application_TooManyRequests", "message": "throttled"}
        }
        answer(conn, 429, error, Retry_After=header)

    completed, _, reports = run_against(tmp_path, behave)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "INTERNALERROR" not in output
    assert "sleep length" not in output
    monitor = read_summary(reports / "summary.json")["monitors"][0]
    assert monitor["diagnosis"]["category"] == "rate_limited"
    retry_after_seen = monitor["diagnosis"]["retry_after"]
    assert retry_after_seen is None or 0 <= retry_after_seen <= RETRY_AFTER_MOST

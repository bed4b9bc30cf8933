"""Mail, against a real SMTP server on loopback: the received messages are parsed
back and checked for what a shop owner and an ERP partner need."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from erpwatch._vocabulary import Outcome
from erpwatch.capture import Exchange
from erpwatch.config import Settings, load_settings
from erpwatch.diagnosis import Category, Diagnosis
from erpwatch.notify import (
    Delivery,
    RunContext,
    deliver,
    incidents_of,
    outbox_of,
    plan_digests,
    summary_lines,
)
from erpwatch.result import MonitorResult, RunResult
from erpwatch.sandbox import RunningSandbox, parse_fault

from .smtp_server import RunningSmtp, html_of, start_smtp, text_of
from .support import REPO, clean_environment, read_summary, run_pytest

CONFIG = """
[erpwatch]
monitors = "{monitors}"
reports = "{reports}"

[mail]
from = "erpwatch <monitoring@agency.example>"
reply_to = "support@agency.example"

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

[processes.orders.wording.nl]
headline = "Bestellingen bereiken het ERP niet (café Über, €)"

[groups.client]
name = "Brasserie Zoë"
language = "nl"
addresses = ["owner@webshop.example"]

[groups.erp_partner]
name = "Partenaire ERP Liège"
language = "fr"
addresses = ["Support ERP <erp-support@acme.example>", "oncall@acme.example"]

[groups.maintainers]
language = "en"
addresses = ["dev@agency.example"]

[routing]
customers = ["client", "erp_partner"]
orders = ["client", "erp_partner"]
punchout = ["client", "erp_partner"]
payments = ["client", "erp_partner"]
"""

GITHUB = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "agency/brasserie-monitors",
    "GITHUB_RUN_ID": "4242",
}
RUN_URL = "https://github.com/agency/brasserie-monitors/actions/runs/4242"
LOCAL_TIME = (
    r"(ma|di|wo|do|vr|za|zo) \d{1,2} (jan|feb|mrt|apr|mei|jun|jul|aug|sep|okt|nov|dec) \d\d:\d\d"
)


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "erpwatch.toml"
    config.write_text(CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports"))
    return config


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[RunningSmtp]:
    server = start_smtp(tmp_path, "starttls", auth=True)
    yield server
    server.stop()


# -- end to end: the monitors, a fault, a mail server ---------------------------------------


def test_a_failing_process_mails_each_routed_group_once_in_its_language(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp
) -> None:
    sandbox.app.faults.add(parse_fault("vat_required:salesOrders"))
    env = clean_environment(**sandbox.settings(), **smtp.env, **GITHUB)
    completed = run_pytest(
        "monitors", "-n", "2", f"--erpwatch-config={write_config(tmp_path)}", env=env
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "mail: sent 2 digests via 127.0.0.1:" in output

    assert len(smtp.inbox.messages) == 2  # one digest per group, the maintainers get nothing
    assert smtp.inbox.for_address("dev@agency.example") == []
    [client] = smtp.inbox.for_address("owner@webshop.example")
    [partner] = smtp.inbox.for_address("erp-support@acme.example")
    assert smtp.inbox.for_address("oncall@acme.example") == [partner]

    # The state and the business impact, nothing that changes per run (no time, no call).
    assert str(client["Subject"]) == "[erpwatch] Bestellingen bereiken het ERP niet (café Über, €)"
    text = text_of(client)
    assert re.search(r"\nMislukte oproep +POST /companies\(…\)/salesOrders", text)
    assert re.search(r"\nAntwoord +400 Application_FieldValidationException", text)
    # The ERP's own words, marked as such: they are not translated.
    assert re.search(
        r"\nERP meldt +‘VAT Registration No\. must have a value in Customer: No\.=.*’ "
        r"\(originele tekst, niet vertaald\)",
        text,
    )
    assert re.search(rf"\nEerst gezien +{LOCAL_TIME}", text)
    assert re.search(
        r"\nVerstuurd naar +u en Partenaire ERP Liège \(erp-support@acme\.example, "
        r"oncall@acme\.example\)",
        text,
    )
    assert re.search(
        rf"\nControle +{re.escape(RUN_URL)}\r?\nRapport +in bijlage bij deze mail", text
    )
    # The shop owner is told who acts, and gets no HTTP dump.
    assert "U hoeft niets te doen: wij onderzoeken het." in text
    assert "Partenaire ERP Liège kreeg deze melding ook." in text
    assert "Authorization:" not in text
    html = html_of(client)
    assert "<script" not in html
    assert f'href="{RUN_URL}"' in html
    assert "Mislukte oproep" in html
    [attachment] = list(client.iter_attachments())
    assert attachment.get_filename() == "erpwatch-report.html"

    assert str(partner["Subject"]) == "[erpwatch] Les commandes n'arrivent pas dans l'ERP"
    partner_text = text_of(partner)
    assert re.search(r"\nAppel en échec +POST /companies\(…\)/salesOrders", partner_text)
    assert re.search(r"\nEnvoyé à +vous et Brasserie Zoë \(owner@webshop\.example\)", partner_text)
    assert "Authorization: [redacted]" in partner_text  # the technical appendix, redacted
    # The engineers get exact times, with seconds and the offset.
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T \(\d\d:\d\d:\d\d UTC\)", partner_text)

    for message in (client, partner):
        assert message["From"] == "erpwatch <monitoring@agency.example>"
        assert message["Reply-To"] == "support@agency.example"
        assert message["Date"] is not None
        assert re.fullmatch(r"<.+@agency\.example>", str(message["Message-ID"]))
        assert message["Auto-Submitted"] == "auto-generated"

    summary = read_summary(tmp_path / "reports" / "summary.json")
    assert {(m["group"], m["delivered"]) for m in summary["mails"]} == {
        ("client", True),
        ("erp_partner", True),
    }
    assert sorted(p.name for p in (tmp_path / "reports" / "outbox").iterdir()) == sorted(
        f"{summary['run_id']}-alert-{group}.eml" for group in ("client", "erp_partner")
    )


def test_without_an_smtp_server_the_mails_land_in_the_outbox(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    sandbox.app.faults.add(parse_fault("vat_required:salesOrders"))
    completed = run_pytest(
        "monitors",
        f"--erpwatch-config={write_config(tmp_path)}",
        env=clean_environment(**sandbox.settings()),
    )
    outbox = tmp_path / "reports" / "outbox"
    assert (
        f"mail: no SMTP server configured (SMTP_HOST); 2 digests for client, erp_partner written to {outbox}"
        in completed.stdout
    )
    assert len(list(outbox.glob("*.eml"))) == 2
    summary = read_summary(tmp_path / "reports" / "summary.json")
    assert all(
        (m["status"], m["delivered"], m["error"]) == ("outbox", False, None)
        for m in summary["mails"]
    )


def test_a_passing_run_sends_nothing(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp
) -> None:
    env = clean_environment(**sandbox.settings(), **smtp.env)
    completed = run_pytest("monitors", f"--erpwatch-config={write_config(tmp_path)}", env=env)
    assert completed.returncode == 0
    assert smtp.inbox.messages == []
    assert not (tmp_path / "reports" / "outbox").exists()


# -- composing and sending, from a run result ---------------------------------------------


def failing_run(
    *, erp_message: str, response_body: str, category: Category = Category.REJECTED
) -> RunResult:
    exchange = Exchange(
        method="POST",
        url="https://erp.example/api/v2.0/companies(5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21)/salesOrders",
        request_headers={"Authorization": "[redacted]", "Content-Type": "application/json"},
        request_body='{"externalDocumentNumber": "WEB-1001"}',
        status=400,
        reason="Bad Request",
        response_headers={"Content-Type": "application/json"},
        response_body=response_body,
        duration_ms=120.0,
        started_at="2026-11-27T20:04:00.000+00:00",
    )
    if category is Category.MONITOR_ERROR:
        diagnosis = Diagnosis(
            category=category,
            reason="the monitor itself failed with NameError",
            error="NameError: name 'x' is not defined",
        )
    else:
        diagnosis = Diagnosis(
            category=category,
            reason="HTTP 400: the ERP refused the request",
            call="POST /companies(…)/salesOrders",
            method="POST",
            url=exchange.url,
            status=400,
            erp_code="Application_DialogException",
            erp_message=erp_message,
            exchange_index=0,
        )
    monitor = MonitorResult(
        nodeid="monitors/test_order_submission.py::test_order",
        name="test_order",
        process="orders",
        critical=True,
        outcome=Outcome.FAILED,
        exchanges=[exchange],
        failing_exchange=0,
        diagnosis=diagnosis,
    )
    return RunResult(
        run_id="2611272004-beef",
        started_at="2026-11-27T20:04:00+00:00",
        finished_at="2026-11-27T20:04:05+00:00",
        environment="test",
        erp_base_url="https://erp.example/api/v2.0",
        erp_sandbox=False,
        monitors=[monitor],
        run_url=RUN_URL,
    )


def notify_run(
    run: RunResult, settings: Settings, report: Path | None, now: datetime
) -> list[Delivery]:
    """Mail a run's failures as fresh alerts, the way a first failing run does."""
    assert settings.mail is not None
    digests = plan_digests(incidents_of(run, now), settings.mail)
    return deliver(
        digests, settings, RunContext(run.run_id, run.run_url, report, now), outbox_of(settings)
    )


def settings_for(tmp_path: Path, **env: str) -> Settings:
    return load_settings(write_config(tmp_path), clean_environment(**env))


WHEN = datetime(2026, 11, 27, 20, 4, tzinfo=UTC)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_it_sends_over_starttls_and_implicit_tls_with_a_login(
    tmp_path: Path, security: str
) -> None:
    server = start_smtp(tmp_path, security, auth=True)
    try:
        settings = settings_for(tmp_path, **server.env)
        deliveries = notify_run(
            failing_run(erp_message="No.", response_body="{}"), settings, None, WHEN
        )
    finally:
        server.stop()
    assert [(d.group, d.delivered, d.error) for d in deliveries] == [
        ("client", True, None),
        ("erp_partner", True, None),
    ]
    assert len(server.inbox.messages) == 2
    assert "vr 27 nov 21:04" in text_of(server.inbox.messages[0])  # Europe/Brussels


def test_it_sends_without_tls_to_a_local_relay(tmp_path: Path) -> None:
    server = start_smtp(tmp_path, "none")
    try:
        deliveries = notify_run(
            failing_run(erp_message="x", response_body="{}"),
            settings_for(tmp_path, **server.env),
            None,
            WHEN,
        )
    finally:
        server.stop()
    assert all(d.delivered for d in deliveries)


def test_hostile_erp_text_arrives_escaped(tmp_path: Path, smtp: RunningSmtp) -> None:
    hostile = '<script>alert("erp")</script> "><img src=x onerror=alert(1)>'
    run = failing_run(erp_message=hostile, response_body=hostile)
    notify_run(run, settings_for(tmp_path, **smtp.env), None, WHEN)
    for message in smtp.inbox.messages:
        html = html_of(message)
        assert "<script" not in html
        assert "<img" not in html
        assert "&lt;script&gt;" in html
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
        assert hostile in text_of(message)  # the text part shows it as it is


def test_a_one_megabyte_erp_message_is_truncated(tmp_path: Path, smtp: RunningSmtp) -> None:
    huge = "Error in line 1. " * 62_000  # about 1 MB
    notify_run(
        failing_run(erp_message=huge, response_body=huge),
        settings_for(tmp_path, **smtp.env),
        None,
        WHEN,
    )
    for message in smtp.inbox.messages:
        assert len(message.as_bytes()) < 60_000
        text = text_of(message)
        assert "Error in line 1. Error in line 1." in text
        assert "…" in text


def test_monitor_bugs_go_to_the_maintainers_only(tmp_path: Path, smtp: RunningSmtp) -> None:
    run = failing_run(erp_message="", response_body="{}", category=Category.MONITOR_ERROR)
    deliveries = notify_run(run, settings_for(tmp_path, **smtp.env), None, WHEN)
    assert [d.group for d in deliveries] == ["maintainers"]
    [message] = smtp.inbox.messages
    assert str(message["Subject"]).startswith(
        "[erpwatch] The monitor for Order submission is broken"
    )
    assert "NameError: name 'x' is not defined" in text_of(message)


def test_an_unreachable_mail_server_leaves_the_outbox_intact_and_says_why(tmp_path: Path) -> None:
    from .smtp_server import free_port

    port = free_port()
    settings = settings_for(
        tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY="none"
    )
    deliveries = notify_run(failing_run(erp_message="x", response_body="{}"), settings, None, WHEN)
    assert [d.delivered for d in deliveries] == [False, False]
    assert all(
        d.error == f"cannot reach the mail server 127.0.0.1:{port}: Connection refused: "
        "check SMTP_HOST and SMTP_PORT"
        for d in deliveries
    )
    for delivery in deliveries:
        assert delivery.eml.is_file()
        assert (
            "Bestellingen" in delivery.eml.read_text()
            or "commandes" in delivery.eml.read_bytes().decode()
        )
    lines = summary_lines(deliveries, settings)
    assert lines[0].startswith("mail: NOT SENT to client: cannot reach the mail server")
    assert "kept in" in lines[0]


def test_a_refused_login_is_reported_as_a_setting_to_fix(tmp_path: Path, smtp: RunningSmtp) -> None:
    settings = settings_for(tmp_path, **{**smtp.env, "SMTP_PASSWORD": "wrong"})
    deliveries = notify_run(failing_run(erp_message="x", response_body="{}"), settings, None, WHEN)
    assert all("refused the login of SMTP_USERNAME (535)" in (d.error or "") for d in deliveries)
    assert smtp.inbox.messages == []


def test_a_large_report_is_linked_instead_of_attached(tmp_path: Path, smtp: RunningSmtp) -> None:
    report = tmp_path / "report.html"
    report.write_text("<html>" + "x" * 6_000_000 + "</html>")
    notify_run(
        failing_run(erp_message="x", response_body="{}"),
        settings_for(tmp_path, **smtp.env),
        report,
        WHEN,
    )
    for message in smtp.inbox.messages:
        assert list(message.iter_attachments()) == []
        assert RUN_URL in text_of(message)
    small = tmp_path / "small.html"
    small.write_text("<html>ok</html>")
    smtp.inbox.messages.clear()
    notify_run(
        failing_run(erp_message="x", response_body="{}"),
        settings_for(tmp_path, **smtp.env),
        small,
        WHEN,
    )
    assert all(len(list(m.iter_attachments())) == 1 for m in smtp.inbox.messages)

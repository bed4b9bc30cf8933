"""Mail delivery errors, against real SMTP servers on loopback that refuse in the
ways real ones do: each error names the setting to change, and a final refusal is
not tried again on every run while nothing was changed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from erpwatch.alerts._lifecycle import decide_alerts, record_deliveries, send_alerts
from erpwatch.alerts._state import StateStore
from erpwatch.config import Settings
from erpwatch.notify import (
    Delivery,
    RunContext,
    compose,
    incidents_of,
    plan_digests,
    summary_lines,
)
from erpwatch.sandbox import RunningSandbox

from .smtp_server import Inbox, free_port, start_smtp, text_of
from .support import clean_environment
from .test_damaged_files import T0, Project
from .test_mail import WHEN, failing_run, notify_run, settings_for


def errors(deliveries: list[Delivery]) -> set[str]:
    return {d.error or "" for d in deliveries}


def test_a_server_without_starttls_points_at_smtp_security(tmp_path: Path) -> None:
    server = start_smtp(tmp_path, "none")
    try:
        settings = settings_for(tmp_path, **{**server.env, "SMTP_SECURITY": "starttls"})
        deliveries = notify_run(
            failing_run(erp_message="x", response_body="{}"), settings, None, WHEN
        )
    finally:
        server.stop()
    [error] = errors(deliveries)
    assert error.startswith(f"the mail server 127.0.0.1:{server.port} does not offer STARTTLS: ")
    assert "SMTP_SECURITY=tls" in error
    assert "SMTP_SECURITY is starttls (port 587), tls (port 465) or none (port 25)" in error
    assert all(d.permanent for d in deliveries)
    assert server.inbox.messages == []


def test_a_refused_login_points_at_the_user_and_password_and_is_final(tmp_path: Path) -> None:
    server = start_smtp(tmp_path, "starttls", auth=True)
    try:
        settings = settings_for(tmp_path, **{**server.env, "SMTP_PASSWORD": "wrong"})
        deliveries = notify_run(
            failing_run(erp_message="x", response_body="{}"), settings, None, WHEN
        )
    finally:
        server.stop()
    [error] = errors(deliveries)
    assert error == (
        f"the mail server 127.0.0.1:{server.port} refused the login of SMTP_USERNAME (535): "
        "check SMTP_USERNAME and SMTP_PASSWORD"
    )
    assert all(d.permanent for d in deliveries)
    [line, *_] = summary_lines(deliveries, settings)
    assert line.endswith("not tried again until a setting named above changes (or for a day)")


def test_an_untrusted_certificate_points_at_smtp_ca_file(tmp_path: Path) -> None:
    server = start_smtp(tmp_path, "starttls")
    env = {k: v for k, v in server.env.items() if k != "SMTP_CA_FILE"}
    try:
        deliveries = notify_run(
            failing_run(erp_message="x", response_body="{}"),
            settings_for(tmp_path, **env),
            None,
            WHEN,
        )
    finally:
        server.stop()
    [error] = errors(deliveries)
    assert error.startswith(
        f"the certificate of the mail server 127.0.0.1:{server.port} is not trusted ("
    )
    assert "set SMTP_CA_FILE to the CA that signed it" in error
    assert all(d.permanent for d in deliveries)


def test_tls_on_a_plain_port_points_at_smtp_security_and_port(tmp_path: Path) -> None:
    server = start_smtp(tmp_path, "none")
    try:
        settings = settings_for(tmp_path, **{**server.env, "SMTP_SECURITY": "tls"})
        deliveries = notify_run(
            failing_run(erp_message="x", response_body="{}"), settings, None, WHEN
        )
    finally:
        server.stop()
    [error] = errors(deliveries)
    assert error.startswith(f"TLS with the mail server 127.0.0.1:{server.port} failed (")
    assert "check SMTP_SECURITY and SMTP_PORT" in error


@dataclass
class RefusingInbox(Inbox):
    """Refuses one address the way a real server refuses an unknown mailbox."""

    unknown: str = "oncall@acme.example"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address == self.unknown:
            return "550 5.1.1 <oncall@acme.example>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_points_at_the_groups_addresses(tmp_path: Path) -> None:
    inbox = RefusingInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = settings_for(
            tmp_path,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(port),
            SMTP_SECURITY="none",
            MAIL_FROM="monitoring@agency.example",
        )
        deliveries = notify_run(
            failing_run(erp_message="x", response_body="{}"), settings, None, WHEN
        )
    finally:
        controller.stop()
    by_group = {d.group: d for d in deliveries}
    assert by_group["client"].delivered
    partner = by_group["erp_partner"]
    assert not partner.delivered
    assert partner.permanent
    assert partner.error == (
        "the mail server refused some recipients: oncall@acme.example (550 5.1.1 "
        "<oncall@acme.example>: Recipient address rejected: User unknown): "
        "check the addresses of group erp_partner in erpwatch.toml"
    )


def one_run(settings: Settings, hours: float = 0) -> list[Delivery]:
    """One run's mail, the way the finishing steps do it: decide, send, record."""
    now = WHEN + timedelta(hours=hours)
    plan = decide_alerts(failing_run(erp_message="x", response_body="{}"), settings, now, None)
    try:
        send_alerts(plan, settings)
    finally:
        record_deliveries(plan, settings)
    return plan.outcome.deliveries


def test_a_refused_login_is_not_retried_every_run_until_the_password_changes(
    tmp_path: Path,
) -> None:
    server = start_smtp(tmp_path, "starttls", auth=True)
    wrong = settings_for(tmp_path, **{**server.env, "SMTP_PASSWORD": "wrong"})
    refused = "refused the login of SMTP_USERNAME (535)"
    try:
        first = one_run(wrong)
        assert all(refused in (d.error or "") and not d.held for d in first)
    finally:
        server.stop()
    state = StateStore(wrong.alerts.state_file).load()
    assert set(state.refused) == {"client", "erp_partner"}
    assert "wrong" not in wrong.alerts.state_file.read_text()  # a salted digest, not the password

    # The next run, settings unchanged: not tried (the server is gone, and that
    # would read "cannot reach"), still told, still kept for later.
    second = one_run(wrong, hours=0.25)
    assert all(
        d.held and d.error and d.error.startswith("not tried: refused for good since")
        for d in second
    )
    assert all(refused in (d.error or "") for d in second)
    lines = summary_lines(second, wrong)
    assert all("NOT SENT" in line for line in lines)
    assert set(StateStore(wrong.alerts.state_file).load().pending) == {"client", "erp_partner"}

    # The password is fixed: the very next run sends what was kept, and forgets the refusal.
    server = start_smtp(tmp_path, "starttls", auth=True)
    try:
        fixed = settings_for(tmp_path, **server.env)
        third = one_run(fixed, hours=0.5)
    finally:
        server.stop()
    assert [(d.group, d.delivered) for d in third] == [("client", True), ("erp_partner", True)]
    state = StateStore(fixed.alerts.state_file).load()
    assert state.refused == {}
    assert state.pending == {}


def test_a_final_refusal_is_tried_again_after_a_day_with_the_same_settings(
    tmp_path: Path,
) -> None:
    server = start_smtp(tmp_path, "none")
    settings = settings_for(tmp_path, **{**server.env, "SMTP_SECURITY": "starttls"})
    try:
        assert all(d.permanent and not d.held for d in one_run(settings))
        assert all(d.held for d in one_run(settings, hours=23))
        # A day on, the server's side may have been fixed: tried (and refused) again.
        later = one_run(settings, hours=25)
    finally:
        server.stop()
    assert all(not d.held and d.permanent for d in later)
    assert all("does not offer STARTTLS" in (d.error or "") for d in later)


def test_a_passing_failure_is_still_tried_every_run(tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(
        tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY="none"
    )
    assert all(not d.permanent for d in one_run(settings))
    again = one_run(settings, hours=0.25)
    assert all(not d.held and "Connection refused" in (d.error or "") for d in again)
    assert StateStore(settings.alerts.state_file).load().refused == {}


# -- preview: the same digests as the real mail --------------------------------------------


def preview(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "preview", *args],
        cwd=project,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_preview_shows_the_mail_a_second_failing_run_really_sent(tmp_path: Path) -> None:
    """The first run's mail did not go out (no server); the second run sends it,
    counting two runs. The preview of that run is that very mail, not a first alert."""
    down = settings_for(
        tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=str(free_port()), SMTP_SECURITY="none"
    )
    report = down.reports_dir / "report.html"
    first = failing_run(erp_message="x", response_body="{}")
    plan = decide_alerts(first, down, WHEN, report)
    send_alerts(plan, down)
    record_deliveries(plan, down)

    server = start_smtp(tmp_path, "none")
    try:
        up = settings_for(tmp_path, **server.env, MAIL_FROM="erpwatch <monitoring@agency.example>")
        later = WHEN + timedelta(minutes=15)
        second = replace(
            first, run_id="2611272019-cafe", finished_at=later.isoformat(timespec="seconds")
        )
        second.write(up.reports_dir / "summary.json")
        plan = decide_alerts(second, up, later, report)
        send_alerts(plan, up)
        record_deliveries(plan, up)
    finally:
        server.stop()
    [real] = server.inbox.for_address("owner@webshop.example")

    result = preview(tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"  Subject: {real['Subject']}" in result.stdout
    shown = (up.reports_dir / "preview" / "2611272019-cafe-alert-client.txt").read_text()
    assert shown == text_of(real).replace("\r\n", "\n")
    # What the preview showed before: the same run as a first alert, which the
    # real mail was not.
    context = RunContext(second.run_id, second.run_url, report, later)
    [first_alert, *_] = plan_digests(incidents_of(second, later), up.mail)
    guessed = text_of(compose(first_alert, up, context))
    assert guessed != shown
    assert "· 2 controles" in shown  # "Laatst gezien … · 2 controles"
    assert "· 2 controles" not in guessed


def test_preview_of_a_run_that_sent_nothing_says_so(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    run = replace(failing_run(erp_message="x", response_body="{}"), monitors=[])
    run.write(settings.reports_dir / "summary.json")
    plan = decide_alerts(run, settings, WHEN, None)
    send_alerts(plan, settings)
    result = preview(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"Run {run.run_id} sent no mail: nothing was due for any group."
    )


# -- erpwatch test-mail -----------------------------------------------------------------------


def run_test_mail(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "test-mail", *args],
        cwd=project,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_test_mail_sends_one_short_mail_per_group_in_its_language(tmp_path: Path) -> None:
    settings_for(tmp_path)  # writes erpwatch.toml
    server = start_smtp(tmp_path, "starttls", auth=True)
    try:
        result = run_test_mail(tmp_path, **server.env, MAIL_FROM="monitoring@agency.example")
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "client: sent to owner@webshop.example",
        "erp_partner: sent to Support ERP <erp-support@acme.example>, oncall@acme.example",
        "maintainers: sent to dev@agency.example",
    ]
    subjects = {str(m["Subject"]) for m in server.inbox.messages}
    assert subjects == {
        "[erpwatch] Testbericht voor Brasserie Zoë",
        "[erpwatch] Message de test pour Partenaire ERP Liège",
        "[erpwatch] Test mail for maintainers",
    }
    [partner] = server.inbox.for_address("oncall@acme.example")
    text = text_of(partner)
    assert "Tout va bien\u202f: vous n’avez rien à faire." in text
    # The process titles in the group's language, not the config's English.
    assert "Création des clients, Transmission des commandes, Punchout B2B" in text
    [maintainers] = server.inbox.for_address("dev@agency.example")
    assert "when a monitor or erpwatch itself breaks" in text_of(maintainers)


def test_test_mail_says_what_to_change_and_fails_when_the_login_is_refused(
    tmp_path: Path,
) -> None:
    settings_for(tmp_path)
    server = start_smtp(tmp_path, "starttls", auth=True)
    try:
        result = run_test_mail(
            tmp_path,
            "--group",
            "client",
            **{**server.env, "SMTP_PASSWORD": "wrong", "MAIL_FROM": "monitoring@agency.example"},
        )
    finally:
        server.stop()
    assert result.returncode == 1
    assert result.stdout == (
        f"client: FAILED to owner@webshop.example: the mail server 127.0.0.1:{server.port} "
        "refused the login of SMTP_USERNAME (535): check SMTP_USERNAME and SMTP_PASSWORD\n"
    )
    assert server.inbox.messages == []


def test_test_mail_without_a_mail_server_says_to_set_smtp_host(tmp_path: Path) -> None:
    settings_for(tmp_path)
    result = run_test_mail(tmp_path, "--group", "maintainers")
    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    assert line.startswith("maintainers: NOT SENT (no mail server): written to ")
    assert result.stderr.startswith(
        "erpwatch test-mail: no mail server is configured: set SMTP_HOST"
    )


def test_test_mail_names_the_groups_when_one_is_unknown(tmp_path: Path) -> None:
    settings_for(tmp_path)
    result = run_test_mail(tmp_path, "--group", "clients")
    assert result.returncode == 2
    assert result.stderr == (
        "erpwatch test-mail: no group clients in erpwatch.toml; "
        "groups: client, erp_partner, maintainers\n"
    )


# -- a dry run ------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, sandbox: RunningSandbox) -> Iterator[Project]:
    smtp = start_smtp(tmp_path, "none")
    yield Project(tmp_path, sandbox, smtp)
    smtp.stop()


def test_a_dry_run_says_so_and_leaves_the_dashboard_as_the_last_real_run_drew_it(
    project: Project,
) -> None:
    passed = project.run(fault=None)
    assert passed.returncode == 0, passed.stdout
    page = (project.reports / "index.html").read_bytes()

    dry = project.run(at=T0 + timedelta(hours=1), ERPWATCH_DRY_RUN="1")  # orders refused
    assert dry.returncode == 1, dry.stdout
    [line] = [line for line in dry.stdout.splitlines() if line.startswith("mail: ")]
    assert line.startswith("mail: a dry run sends nothing; 1 digest for client written to ")
    assert "no SMTP server configured" not in dry.stdout  # SMTP_HOST is set
    assert project.smtp.inbox.messages == []
    # Redrawn, it would say "updated now" over the passing run's status.
    assert (project.reports / "index.html").read_bytes() == page
    assert "dashboard: " not in dry.stdout

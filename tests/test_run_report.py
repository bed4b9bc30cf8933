"""The run reports a person opens: report.html (pytest-html's, with erpwatch's
title, facts, local times and a folded traceback) and erpwatch's own report per
language, the one a group's mail attaches. Real monitors against a real sandbox,
rendered in headless Chromium; mail through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from erpwatch._vocabulary import Outcome
from erpwatch.capture import Exchange
from erpwatch.config import load_settings
from erpwatch.diagnosis import Category, Diagnosis
from erpwatch.redact import Redactor
from erpwatch.report import render_run_report
from erpwatch.result import MonitorResult, RunResult
from erpwatch.sandbox import RunningSandbox, parse_fault

from .report_pages import CHROMIUM, DESKTOP, PHONE, Run, run_monitors, shoot, write_config
from .smtp_server import start_smtp
from .support import clean_environment, run_pytest

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One run in which the ERP refuses orders; the others pass, two are skipped."""
    run = run_monitors(tmp_path_factory.mktemp("failed"), "vat_required:salesOrders")
    assert run.returncode == 1, run.output
    return run


def failed_monitor(run: Run) -> dict[str, Any]:
    return next(m for m in run.summary["monitors"] if m["status"] == "failed")


def local_clock(started_at: str) -> str:
    return datetime.fromisoformat(started_at).astimezone(BRUSSELS).strftime("%H:%M:%S.%f")[:-3]


@needs_chromium
def test_report_html_is_titled_erpwatch_names_the_run_and_shows_local_times(
    failed_run: Run, tmp_path: Path
) -> None:
    dom, _ = shoot(failed_run.report_html, DESKTOP, None, tmp_path)
    run_id = failed_run.summary["run_id"]
    assert re.search(rf"<title[^>]*>erpwatch report · sandbox · run {run_id}</title>", dom)
    assert re.search(rf"<h1[^>]*>erpwatch report · sandbox · run {run_id}</h1>", dom)
    # The environment table: erpwatch's facts, the ERP without credentials.
    for key, value in (
        ("Run", run_id),
        ("Environment", "sandbox"),
        ("ERP", failed_run.summary["erp"]["base_url"]),
        ("ERP type", "Business Central API v2.0"),
        ("Time zone", "Europe/Brussels"),
    ):
        assert re.search(
            rf"<td>{re.escape(key)}</td>\s*<td>(<div>)?{re.escape(value)}(</div>)?</td>", dom
        ), key
    # Every call's time on the configured clock, and the zone named; never UTC.
    assert "Time (UTC)" not in dom
    assert "Time (Europe/Brussels)" in dom
    first_call = failed_monitor(failed_run)["exchanges"][0]
    assert local_clock(first_call["started_at"]) in dom
    started = datetime.fromisoformat(failed_run.summary["started_at"]).astimezone(BRUSSELS)
    assert f"Run started: {started:%a} {started.day} {started:%b %Y %H:%M}" in dom
    assert "(Europe/Brussels)" in dom


@needs_chromium
def test_report_html_folds_the_traceback_below_the_diagnosis_and_says_why_a_monitor_was_skipped(
    failed_run: Run, tmp_path: Path
) -> None:
    dom, _ = shoot(failed_run.report_html, DESKTOP, None, tmp_path)
    diagnosis = dom.index('class="erpwatch-diagnosis"')
    calls = dom.index('class="erpwatch-exchanges"', diagnosis)
    folded = re.search(r"<details([^>]*)class=\"erpwatch-traceback\"([^>]*)>", dom)
    assert folded, "the traceback is not folded"
    assert "open" not in folded.group(1) + folded.group(2), "the traceback is folded open"
    assert diagnosis < calls < folded.start()
    assert "Technical detail, for the developer</summary>" in dom
    assert "ErpCallFailed" in dom[folded.start() :]  # still there for the developer
    # A skipped monitor: a sentence, not pytest's (path, line, reason) tuple.
    assert "This monitor did not run: Tryton is not configured: set TRYTON_URL" in dom
    assert "('/" not in dom
    assert "Skipped: Tryton" not in dom


@needs_chromium
def test_the_dutch_run_report_fits_a_phone_and_folds_the_technical_detail(
    failed_run: Run, tmp_path: Path
) -> None:
    page = failed_run.run_report("nl")
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text
    assert "<link" not in text
    dom, width = shoot(page, PHONE, None, tmp_path)
    assert width <= PHONE
    assert '<html lang="nl">' in dom
    assert re.search(r"<title>erpwatch-rapport · sandbox · controle [\w-]+</title>", dom)
    assert "Geweigerd door het ERP" in dom  # the diagnosis, in Dutch
    assert "werkt niet" in dom
    assert "Processen" in dom
    assert "Tijd (Europe/Brussels)" in dom
    assert local_clock(failed_monitor(failed_run)["exchanges"][0]["started_at"]) in dom
    assert "Deze monitor is niet uitgevoerd: Tryton is not configured" in dom
    technical = re.search(r'<details class="technical"><summary>([^<]+)</summary>', dom)
    assert technical
    assert technical.group(1) == "Technische details, voor de ontwikkelaar"
    for english in ("Processes", "broken", "Refused by the ERP", "Time (", "did not run"):
        assert english not in dom, english


def test_what_the_erp_said_stays_text_in_every_language(tmp_path: Path) -> None:
    """An ERP (or a monitor) that answers with markup: the run report shows it, never runs it."""
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    exchange = Exchange(
        method="POST",
        url=f"https://erp.example/api/v2.0/salesOrders?q={hostile}",
        request_headers={"Authorization": "[redacted]"},
        request_body="{}",
        status=400,
        reason="Bad Request",
        response_headers={},
        response_body=hostile,
        duration_ms=12.0,
        started_at="2026-11-27T20:04:01.500+00:00",
    )
    monitor = MonitorResult(
        nodeid="monitors/test_order_submission.py::test_order",
        name="test_order",
        process="orders",
        critical=True,
        outcome=Outcome.FAILED,
        message=f"AssertionError: {hostile}",
        exchanges=[exchange],
        failing_exchange=0,
        diagnosis=Diagnosis(
            category=Category.REJECTED,
            reason="HTTP 400",
            call=exchange.call,
            status=400,
            erp_message=hostile,
            exchange_index=0,
        ),
    )
    run = RunResult(
        run_id="2611272004-beef",
        started_at="2026-11-27T20:04:00+00:00",
        finished_at="2026-11-27T20:04:05+00:00",
        environment="test",
        erp_base_url="https://erp.example/api/v2.0",
        erp_sandbox=False,
        monitors=[monitor],
        titles={"orders": f"Orders {hostile}"},
    )
    settings = load_settings(write_config(tmp_path), clean_environment())
    for language in ("en", "nl", "fr"):
        page = render_run_report(run, settings, language, Redactor())
        assert "<script>" not in page, language
        assert "<img" not in page, language
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "21:04:01.500" in page  # 20:04 UTC, on the Brussels clock


def test_the_report_attached_to_a_dutch_groups_mail_is_dutch(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    sandbox.app.faults.add(parse_fault("vat_required:salesOrders"))
    smtp = start_smtp(tmp_path, "starttls", auth=True)
    try:
        completed = run_pytest(
            "monitors",
            f"--erpwatch-config={write_config(tmp_path)}",
            env=clean_environment(
                **sandbox.settings(), **smtp.env, ERPWATCH_STATE=str(tmp_path / "state.json")
            ),
        )
    finally:
        smtp.stop()
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    [client] = smtp.inbox.for_address("owner@webshop.example")  # the Dutch group
    [partner] = smtp.inbox.for_address("erp-support@acme.example")  # the French group
    reports = {}
    for name, message in (("client", client), ("partner", partner)):
        [attachment] = list(message.iter_attachments())
        assert attachment.get_filename() == "erpwatch-report.html"
        assert attachment.get_content_charset() == "utf-8"
        # Bytes as attached; the page says its charset (<meta charset="utf-8">).
        payload = attachment.get_payload(decode=True)
        assert isinstance(payload, bytes)
        reports[name] = payload.decode("utf-8")
    dutch, french = reports["client"], reports["partner"]
    assert '<html lang="nl">' in dutch
    assert "Geweigerd door het ERP" in dutch
    assert "Oproep" in dutch
    for english in ("Processes", "Refused by the ERP", "broken", "Technical detail"):
        assert english not in dutch, english
    assert '<html lang="fr">' in french
    assert "Refusé par l&#39;ERP" in french  # the diagnosis, in French (escaped)
    assert "Processus" in french
    assert "en panne" in french

"""What people read, rendered in a real browser (headless Chromium): the dashboard
and an alert mail, at a phone's width, with the key facts in the rendered page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from erpwatch.config import Settings, load_settings
from erpwatch.notify import RunContext, compose, incidents_of, plan_digests
from erpwatch.report import render_dashboard

from .support import REPO, clean_environment

PHONE = 390
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)

# Test-only: the product pages have no script; this copy lays itself out at a
# phone's width (headless Chromium's window is at least 500 px wide) and reports
# how wide its content really is.
MEASURE = (
    f"<style>html {{ width: {PHONE}px; }}</style>"
    "<script>document.addEventListener('DOMContentLoaded', function () {"
    "document.body.setAttribute('data-scroll-width', document.body.scrollWidth);});</script>"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]  # fmt: skip


def render(page: str, tmp_path: Path, screenshot: Path) -> tuple[str, int]:
    """The rendered DOM and the page's scroll width, at a phone's width; a screenshot too."""
    source = tmp_path / "page.html"
    source.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    profile = tmp_path / "chromium-profile"
    common = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", f"--window-size={PHONE},2400"]
    dom = subprocess.run(
        [*common, "--virtual-time-budget=3000", "--dump-dom", source.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    subprocess.run(
        [*common, f"--screenshot={screenshot}", source.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    width = re.search(r'data-scroll-width="(\d+)"', dom)
    assert width, "the page did not report its width"
    return dom, int(width.group(1))


def keep_screenshot(made: Path, name: str) -> None:
    """ERPWATCH_UPDATE_SCREENSHOTS=1 refreshes the screenshots the README shows."""
    if os.environ.get("ERPWATCH_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(made, REPO / "docs" / name)


def settings(tmp_path: Path) -> Settings:
    return load_settings(
        REPO / "erpwatch.toml", clean_environment(ERPWATCH_REPORTS=str(tmp_path / "reports"))
    )


def history() -> list[dict[str, Any]]:
    """A day of runs: orders refused by the ERP for two hours, payments slow once."""
    start = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    records = []
    for index in range(48):
        at = start + timedelta(minutes=15 * index)
        failing = 20 <= index < 28 or index >= 45
        monitors = [
            {"nodeid": "monitors/test_customer_creation.py::test_c", "process": "customers", "status": "passed",
             "category": None, "call": None, "ms": [120, 95, 80]},
            {"nodeid": "monitors/test_order_submission.py::test_o", "process": "orders",
             "status": "failed" if failing else "passed", "category": "rejected" if failing else None,
             "call": "POST /companies(…)/salesOrders → 400 Application_FieldValidationException: "
                     "VAT Registration No. must have a value in Customer: No.=C10001." if failing else None,
             "ms": [150, 310, 90]},
            {"nodeid": "monitors/test_payment_sync.py::test_p", "process": "payments",
             "status": "degraded" if index == 30 else "passed", "category": "slow" if index == 30 else None,
             "call": None, "ms": [6200 if index == 30 else 800, 200]},
        ]  # fmt: skip
        mails = (
            [
                {
                    "group": "client",
                    "status": "sent",
                    "subject": "[erpwatch] Bestellingen bereiken het ERP niet",
                }
            ]
            if index in (20, 45)
            else []
        )
        records.append(
            {
                "run_id": str(index),
                "at": at.isoformat(),
                "url": None,
                "monitors": monitors,
                "mails": mails,
            }
        )
    return records


def test_the_dashboard_renders_the_state_of_each_process_within_a_phone_width(
    tmp_path: Path,
) -> None:
    page = render_dashboard(
        history(), settings(tmp_path), datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    )
    assert "<script" not in page
    dom, width = render(page, tmp_path, tmp_path / "dashboard.png")
    assert width <= PHONE
    for title in ("Customer creation", "Order submission", "Payment status sync"):
        assert title in dom
    assert re.search(
        r'id="process-orders">.*?<span class="badge failed">failing</span>', dom, re.DOTALL
    )
    assert "ongoing since Fri 27 Nov 20:15" in dom
    assert "POST /companies(…)/salesOrders → 400 Application_FieldValidationException" in dom
    assert "<dt>last 24 h</dt><dd><b>77.1&nbsp;%</b>" in dom
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    # The dashboard's screenshots are tests/test_dashboard_browser.py's.


def test_an_alert_mail_renders_with_the_failing_call_within_a_phone_width(tmp_path: Path) -> None:
    from erpwatch._preview import example_run

    config = settings(tmp_path)
    run = example_run(config)
    now = datetime(2026, 11, 27, 20, 4, tzinfo=UTC)
    [client, _] = plan_digests(incidents_of(run, now), config.mail)
    message = compose(
        client,
        config,
        RunContext(run.run_id, "https://github.com/agency/monitors/actions/runs/1", None, now),
    )
    html_part = message.get_body(("html",))
    assert html_part is not None
    page = str(html_part.get_content())
    assert "<script" not in page
    dom, width = render(page, tmp_path, tmp_path / "mail.png")
    assert width <= PHONE
    assert "Bestellingen bereiken het ERP niet" in dom
    assert "POST /companies(…)/salesOrders" in dom
    assert "400 Application_FieldValidationException" in dom
    assert "VAT Registration No. must have a value" in dom
    keep_screenshot(tmp_path / "mail.png", "alert-mail.png")

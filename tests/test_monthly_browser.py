"""The monthly report mail as people read it: in headless Chromium at a
phone's width, a month of runs every 15 minutes (the dashboard's ninety days,
with the failing call, the ERP's words and the slowest call that runs now
record, a Sunday maintenance window and a flapping spell).
``ERPWATCH_UPDATE_SCREENSHOTS=1`` refreshes docs/monthly-report-390.png."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from erpwatch.monthly import month_report, render_month

from .dashboard_history import LATEST, ninety_days, settings
from .test_dashboard_browser import CHROMIUM, FLAGS, PHONE, keep_screenshot, text_of

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)

# Test-only, added to a copy: lay the mail out at the phone's width and write
# into the DOM how far its content reaches.
MEASURE = """<style>html { width: %dpx; }</style><script>
document.addEventListener('DOMContentLoaded', function () {
  var widest = document.body.scrollWidth;
  document.querySelectorAll('body *').forEach(function (el) {
    widest = Math.max(widest, el.getBoundingClientRect().right);
  });
  var smallest = 99;
  document.querySelectorAll('body *').forEach(function (el) {
    if (el.childNodes.length && el.textContent.trim() && el.children.length === 0) {
      smallest = Math.min(smallest, parseFloat(getComputedStyle(el).fontSize));
    }
  });
  document.body.setAttribute('data-measure', JSON.stringify({width: widest, font: smallest}));
});
</script>"""


def november() -> list[dict[str, Any]]:
    """The dashboard's ninety days, as runs record them now."""
    records = ninety_days()
    for record in records:
        at = datetime.fromisoformat(record["at"])
        for monitor in record["monitors"]:
            calls = {"customers": "POST /companies(…)/customers", "orders": "POST /companies(…)/salesOrders",
                     "payments": "GET /v2/payments/tr_…", "punchout": "POST /punchout/setup"}  # fmt: skip
            monitor["slowest"] = [calls[monitor["process"]], max(monitor["ms"])]
            if monitor["status"] == "failed":
                monitor["failed_call"] = calls["orders"]
                monitor["answer"] = "400 Application_FieldValidationException"
                monitor["erp"] = (
                    "<b>VAT Registration No.</b> must have a value in Customer: No.=C10020."
                )
        for mail in record["mails"]:
            mail["about"] = [["orders", "alert", "failing"]]
        # The ERP's backup, Sundays 03:00-03:45 in Brussels.
        local = at + timedelta(hours=1)
        if local.weekday() == 6 and local.hour == 3 and local.minute < 45:
            record["silenced"] = "maintenance"
    # Payments flapped for an afternoon.
    for index, record in enumerate(records[-700:-690]):
        payments = record["monitors"][2]
        payments["status"] = "failed" if index % 2 else "passed"
        if index % 2:
            payments["failed_call"] = "GET /v2/payments/tr_…"
            payments["answer"] = "502"
            payments["erp"] = "Bad Gateway"
        record["unstable"] = {"payments": "PFPFPFPFPF"[: index + 1]}
    return records


def test_the_monthly_report_reads_on_a_phone_with_the_numbers_first(tmp_path: Path) -> None:
    config = settings(tmp_path)
    group = config.mail.groups["client"]
    thresholds = {
        name: p.latency_threshold * 1000 if p.latency_threshold else None
        for name, p in config.processes.items()
    }
    report = month_report(
        november(), "2026-11", "Europe/Brussels", list(config.processes), thresholds,
        LATEST + timedelta(minutes=2),
    )  # fmt: skip
    html = render_month(report, group, config).html
    page = tmp_path / "measure.html"
    page.write_text(html.replace("</body>", MEASURE % PHONE + "</body>"), encoding="utf-8")
    common = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    dom = subprocess.run(
        [*common, f"--window-size={PHONE},2400", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    found = re.search(r'data-measure="([^"]*)"', dom)
    assert found is not None
    measured = json.loads(found[1].replace("&quot;", '"'))
    assert measured["width"] <= PHONE, "the mail is wider than a phone"
    assert measured["font"] >= 12, "text too small to read on a phone"
    text = text_of(dom)
    assert "Servicerapport november 2026" in text
    assert re.search(r"Bestellingen doorsturen \d\d,\d\d %", text)
    assert "Traagste aanroepen" in text
    assert "Onstabiel" in text
    assert "tijdens gepland onderhoud" in text
    # The ERP's words are text, never markup.
    assert "&lt;b&gt;VAT Registration No.&lt;/b&gt;" in dom
    shot = tmp_path / "monthly.png"
    plain = tmp_path / "plain.html"
    plain.write_text(html, encoding="utf-8")
    subprocess.run(
        [*common, f"--window-size={PHONE},2600", f"--screenshot={shot}", plain.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert shot.stat().st_size > 10_000
    keep_screenshot(shot, "monthly-report-390.png")

"""The dashboard as people see it, in headless Chromium at a phone's width (390 px)
and a desktop's (1280 px), after the first run and after ninety days of runs.

The history is written to history.jsonl as the finishing step writes it and read
back through ``History``, so the page is drawn from what a real run leaves.
``ERPWATCH_UPDATE_SCREENSHOTS=1`` refreshes the screenshots under docs/ that the
README shows (docs/dashboard-{one-run,90-days}-{390,1280}.png)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from erpwatch.report import History, render_dashboard

from .dashboard_history import LATEST, ninety_days, one_run, settings
from .support import REPO

PHONE, DESKTOP = 390, 1280
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]  # fmt: skip

# Test-only: the product page has no script. This one, added to a copy, lays the
# page out at the given width (headless Chromium's window may be wider than a
# phone) and writes what the browser measured into the DOM: how wide the page
# is, what sticks out of its card, where each chart's line, dots and limit are.
MEASURE = """<style>html { width: %dpx; }</style><script>
document.addEventListener('DOMContentLoaded', function () {
  function box(el) { var r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height}; }
  // The window may be wider than the laid-out page: its width is what its
  // content reaches, the body's scroll width or any element's right edge.
  var widest = document.body.scrollWidth;
  document.querySelectorAll('body *').forEach(function (el) {
    widest = Math.max(widest, el.getBoundingClientRect().right);
  });
  var out = {width: widest, sticking_out: [], cards: {}};
  document.querySelectorAll('.card').forEach(function (card) {
    var c = card.getBoundingClientRect();
    card.querySelectorAll('*').forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (r.width > 0 && (r.right > c.right + 0.5 || r.left < c.left - 0.5)) {
        out.sticking_out.push(card.id + ' ' + el.tagName + '.' + (el.getAttribute('class') || ''));
      }
    });
    var plot = card.querySelector('.plot'), badge = card.querySelector('.head .badge');
    var seen = {badge: getComputedStyle(badge).backgroundColor, dots: []};
    if (plot) {
      seen.plot = box(plot);
      seen.line = box(card.querySelector('.chart-line'));
      var limit = card.querySelector('.threshold');
      if (limit) { seen.limit = box(limit); }
      card.querySelectorAll('.dot').forEach(function (dot) {
        var r = dot.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
        // Painted where it is: the browser finds the dot itself at its centre.
        seen.dots.push({x: x, y: y, painted: document.elementFromPoint(x, y) === dot});
      });
    }
    var mails = card.querySelector('.incidents details > summary');
    if (mails) { seen.mails = box(mails); }
    out.cards[card.id] = seen;
  });
  document.body.setAttribute('data-measure', JSON.stringify(out));
});
</script>"""


def stored(records: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    """The records as history.jsonl holds them, read back as the dashboard step does."""
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[:-1]))
    history = History(path)
    history.append(records[-1])  # the finishing step's append: the 90-day window applies
    loaded = history.load()
    assert not history.warnings
    return loaded


def render(page: str, width: int, tmp_path: Path, screenshot: Path) -> tuple[str, dict[str, Any]]:
    """The rendered DOM and what the browser measured, at a width; a screenshot too."""
    source = tmp_path / f"page-{width}.html"
    source.write_text(page.replace("</body>", MEASURE % width + "</body>"), encoding="utf-8")
    common = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    dom = subprocess.run(
        [*common, f"--window-size={width},2400", "--virtual-time-budget=3000", "--dump-dom", source.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    # The screenshot is of the page itself, without the measuring copy's fixed width.
    plain = tmp_path / f"plain-{width}.html"
    plain.write_text(page, encoding="utf-8")
    subprocess.run(
        [*common, f"--window-size={width},{1250 if width == DESKTOP else 1700}",
         f"--screenshot={screenshot}", plain.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    found = re.search(r"data-measure=\"([^\"]*)\"", dom)
    assert found, "the page did not report its measurements"
    measured: dict[str, Any] = json.loads(
        found.group(1).replace("&quot;", '"').replace("&amp;", "&")
    )
    return dom, measured


def keep_screenshot(made: Path, name: str) -> None:
    if os.environ.get("ERPWATCH_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(made, REPO / "docs" / name)


def text_of(dom: str) -> str:
    """The page's words as a reader sees them (no tags; no-break spaces as spaces)."""
    text = re.sub(r"<style>.*?</style>|<script>.*?</script>", "", dom, flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", text).replace("&nbsp;", " ").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text)


RED = "rgb(197, 48, 48)"
GREEN = "rgb(47, 133, 90)"


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_after_one_run_each_chart_shows_its_point_and_the_page_says_1_run(
    width: int, tmp_path: Path
) -> None:
    page = render_dashboard(stored(one_run(), tmp_path), settings(tmp_path), LATEST)
    assert "<script" not in page
    dom, measured = render(page, width, tmp_path, tmp_path / "shot.png")

    assert measured["width"] <= width, "the page is wider than the window"
    assert measured["sticking_out"] == []
    text = text_of(dom)
    assert "1 run in the history" in text
    assert not re.search(r"\b1 (runs|mails|incidents)\b", text)
    # Brussels time, one hour ahead of UTC in November.
    assert "latest run Fri 27 Nov 20:00" in text
    assert "Latest run" in text
    assert "of 1 run" in text
    for process in ("customers", "orders", "payments", "punchout"):
        card = measured["cards"][f"process-{process}"]
        assert card["badge"] == GREEN
        [dot] = card["dots"]
        plot = card["plot"]
        assert dot["painted"], f"{process}: the one run's point is not visible"
        assert plot["left"] < dot["x"] < plot["right"]
        # Milliseconds are not flat on the axis: the point is well above the
        # bottom, and well below the limit line, which is inside the chart.
        assert plot["top"] < card["limit"]["top"] < dot["y"] - 20
        assert dot["y"] < plot["bottom"] - 10
    assert "Slowest call of each run" in text
    assert "logarithmic scale" in text
    assert "none over the 3 s limit (dashed line)" in text
    assert "10 ms" in text
    assert "1 s" in text
    assert "No incidents since Fri 27 Nov 20:00." in text
    assert "top:" not in text
    assert (tmp_path / "shot.png").stat().st_size > 10_000
    keep_screenshot(tmp_path / "shot.png", f"dashboard-one-run-{width}.png")


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_after_ninety_days_the_dashboard_fits_the_window_and_tells_the_incidents_compactly(
    width: int, tmp_path: Path
) -> None:
    now = LATEST + timedelta(minutes=2)
    page = render_dashboard(stored(ninety_days(), tmp_path), settings(tmp_path), now)
    dom, measured = render(page, width, tmp_path, tmp_path / "shot.png")

    assert measured["width"] <= width, "the page is wider than the window"
    assert measured["sticking_out"] == []
    text = text_of(dom)
    assert "8640 runs in the history (since Sat 29 Aug 21:15)" in text
    assert "Something is failing" in text
    # The status in a word and a colour.
    orders = measured["cards"]["process-orders"]
    assert orders["badge"] == RED
    assert re.search(r'id="process-orders">.*?<span class="badge failed">failing</span>', dom, re.S)
    assert "since Fri 27 Nov 18:00 (2 h 2 min)" in text
    assert "ongoing since Fri 27 Nov 18:00 (2 h 2 min) · Refused by the ERP" in text
    # ERP text is text, never markup.
    assert "&lt;b&gt;VAT Registration No.&lt;/b&gt;" in dom
    assert "<b>VAT" not in dom
    # A grouped chart says what a point is; small calls read above the axis and
    # below the limit; a trend from 20 to 400 ms is visible, not a flat line.
    assert "Slowest call per 12 hours" in text
    for process in ("customers", "orders", "punchout"):
        card = measured["cards"][f"process-{process}"]
        line, plot, limit = card["line"], card["plot"], card["limit"]
        assert plot["top"] <= limit["top"] < line["top"], f"{process}: limit line not above calls"
        assert line["bottom"] < plot["bottom"] - 5, f"{process}: calls flat on the axis"
        assert line["height"] > 0.3 * plot["height"], f"{process}: the trend does not show"
    payments = measured["cards"]["process-payments"]
    assert payments["dots"]
    assert all(dot["painted"] for dot in payments["dots"])
    assert "runs over the 5 s limit" in text
    # Uptime over windows the history covers, with the runs it counts.
    assert "last 30 days 98.9 % of 2880 runs" in text
    # An incident's mails: one line (a count and the groups), the list folded.
    assert "4 mails to Brasserie De Gouden Leeuw, Acme ERP Partners · 1 not delivered" in text
    if width == DESKTOP:
        assert orders["mails"]["height"] < 25, "the mail summary wraps on a desktop"
    assert "and 11 earlier incidents" in text
    assert (tmp_path / "shot.png").stat().st_size > 10_000
    keep_screenshot(tmp_path / "shot.png", f"dashboard-90-days-{width}.png")


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_longer_dutch_and_french_words_fit_a_phone_too(language: str, tmp_path: Path) -> None:
    now = LATEST + timedelta(minutes=2)
    page = render_dashboard(ninety_days(), settings(tmp_path, language), now)
    _, measured = render(page, PHONE, tmp_path, tmp_path / "shot.png")
    assert measured["width"] <= PHONE, "the page is wider than the window"
    assert measured["sticking_out"] == []

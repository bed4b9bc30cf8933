"""Test support for the run reports: run the real monitors against a sandbox (with
faults, or none) into a folder, and render a page in headless Chromium at a given
width. ``python -m tests.report_pages`` regenerates the report screenshots in docs/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erpwatch.sandbox import SandboxApp, parse_fault, start

from .support import REPO, clean_environment, read_summary, run_pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE, DESKTOP = 390, 1280
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]  # fmt: skip

# Two groups, so the run writes its report in Dutch and in French as well as in
# the report language (English); times in Europe/Brussels.
CONFIG = """
[erpwatch]
monitors = "{monitors}"
reports = "{reports}"
timezone = "Europe/Brussels"
report_language = "en"

[mail]
from = "erpwatch <monitoring@agency.example>"

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

[groups.client]
name = "Brasserie Zoë"
language = "nl"
addresses = ["owner@webshop.example"]

[groups.erp_partner]
name = "Partenaire ERP Liège"
language = "fr"
addresses = ["erp-support@acme.example"]

[routing]
customers = ["client", "erp_partner"]
orders = ["client", "erp_partner"]
punchout = ["client", "erp_partner"]
payments = ["client", "erp_partner"]
"""


@dataclass(frozen=True)
class Run:
    reports: Path
    summary: dict[str, Any]
    output: str
    returncode: int

    @property
    def report_html(self) -> Path:
        return self.reports / "report.html"

    def run_report(self, language: str) -> Path:
        return self.reports / f"report.{language}.html"


def write_config(folder: Path) -> Path:
    config = folder / "erpwatch.toml"
    config.write_text(
        CONFIG.format(monitors=REPO / "monitors", reports=folder / "reports"), encoding="utf-8"
    )
    return config


def run_monitors(folder: Path, *faults: str, **env: str) -> Run:
    """The real monitors, in their own process, against a fresh sandbox with ``faults``."""
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        sandbox = stack.enter_context(start(SandboxApp()))
        for fault in faults:
            sandbox.app.faults.add(parse_fault(fault))
        completed = run_pytest(
            "monitors",
            f"--erpwatch-config={write_config(folder)}",
            env=clean_environment(
                **sandbox.settings(), ERPWATCH_STATE=str(folder / "state.json"), **env
            ),
        )
    reports = folder / "reports"
    return Run(
        reports,
        read_summary(reports / "summary.json"),
        completed.stdout + completed.stderr,
        completed.returncode,
    )


def shoot(page: Path, width: int, screenshot: Path | None, folder: Path) -> tuple[str, int]:
    """The page as Chromium rendered it (scripts run) and how wide its content is;
    a screenshot of it too when ``screenshot`` is given."""
    assert CHROMIUM is not None
    # Headless Chromium lays a page out at least 500 px wide when it dumps the DOM:
    # the measured copy is made as narrow as a phone itself.
    narrow = f"<style>html {{ width: {width}px; }}</style>" if width < 500 else ""
    measure = (
        narrow + "<script>window.addEventListener('load', function () {"
        "document.body.setAttribute('data-scroll-width', document.body.scrollWidth);});</script>"
    )
    copy = folder / f"shown-{width}-{page.name}"
    copy.write_text(
        page.read_text(encoding="utf-8").replace("</body>", measure + "</body>"), encoding="utf-8"
    )
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={folder / 'chromium-profile'}",
              "--virtual-time-budget=5000"]  # fmt: skip
    dom = subprocess.run(
        [*common, f"--window-size={width},1600", "--dump-dom", copy.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    if screenshot is not None:
        # The page as published, without the measuring script.
        height = 1800 if width == PHONE else 1400
        subprocess.run(
            [*common, f"--window-size={width},{height}", f"--screenshot={screenshot}", page.as_uri()],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
    found = re.search(r'data-scroll-width="(\d+)"', dom)
    assert found, "the page did not report its width"
    return dom, int(found.group(1))


SHOTS = {
    # (run, page): the file name in docs/
    ("passed", "report.html"): "report",
    ("failed", "report.html"): "report-failed",
    ("passed", "report.nl.html"): "report-nl",
    ("failed", "report.nl.html"): "report-nl-failed",
}


def regenerate(folder: Path, docs: Path = REPO / "docs") -> list[Path]:
    """A passing run and a run with failures; every report page at both widths."""
    runs = {
        "passed": run_monitors(folder / "passed"),
        "failed": run_monitors(folder / "failed", "vat_required:salesOrders"),
    }
    made = []
    for (outcome, page), name in SHOTS.items():
        for width in (PHONE, DESKTOP):
            target = docs / f"{name}-{width}.png"
            shoot(runs[outcome].reports / page, width, target, folder)
            made.append(target)
    return made


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for path in regenerate(Path(tmp)):
            print(path.relative_to(REPO))
    sys.exit(0)

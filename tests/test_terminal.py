"""What a developer and the CI log see when the monitors run: a failure points at
its cause first, library frames come on request, and each process says since
when it fails and who was told. Run as a user runs them, in a subprocess."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from erpwatch.sandbox import RunningSandbox, parse_fault

from .smtp_server import RunningSmtp
from .support import REPO, clean_environment, run_pytest
from .test_fault_matrix import write_config

SCREENFUL = 40
FRAME = re.compile(r"^\S+\.py:\d+: ")


def closed_port_settings(sandbox: RunningSandbox) -> dict[str, str]:
    """The sandbox's payment provider and punchout shop, and an ERP on a closed port:
    every monitor fails through the ERP's token call."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {
        **sandbox.settings(),
        "ERP_BASE_URL": f"http://127.0.0.1:{port}/api/v2.0",
        "ERP_TOKEN_URL": f"http://127.0.0.1:{port}/oauth2/v2.0/token",
    }


def run(tmp_path: Path, settings: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_pytest(
        "monitors",
        f"--erpwatch-config={write_config(tmp_path)}",
        *args,
        env=clean_environment(**settings),
    )


def failures(stdout: str) -> dict[str, list[str]]:
    """Each failed monitor's block of the FAILURES section, by test name."""
    lines = stdout.split(" FAILURES ", 1)[1].splitlines()[1:]
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines:
        if line.startswith("=" * 10):
            break
        heading = re.fullmatch(r"_+ (\S+) _+", line)
        if heading:
            current = blocks.setdefault(heading.group(1), [])
        else:
            current.append(line)
    return blocks


def test_a_closed_port_erp_prints_a_screenful_per_failed_monitor_with_the_diagnosis_first(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    completed = run(tmp_path, closed_port_settings(sandbox))
    assert completed.returncode == 1
    blocks = failures(completed.stdout)
    assert len(blocks) >= 4, completed.stdout  # customers, orders, payments, punchout
    for name, block in blocks.items():
        assert len(block) <= SCREENFUL, "\n".join(block)
        text = "\n".join(block)
        diagnosis = next(i for i, line in enumerate(block) if line.startswith("erpwatch: ["))
        first_frame = next(i for i, line in enumerate(block) if FRAME.match(line))
        assert diagnosis < first_frame, text
        assert "[ERP unreachable] POST /oauth2/v2.0/token → no answer" in block[diagnosis]
        # The monitor's own line, with its source, and the exception it got.
        assert re.match(r"monitors/test_\w+\.py:\d+: in ", block[first_frame]), text
        assert re.match(r"    \S.*\(", block[first_frame + 1]), text  # the call it made
        assert any(line.startswith("E   erpwatch.erp.ErpAuthFailed") for line in block), text
        frames = [line for line in block if FRAME.match(line)]
        assert all(line.startswith("monitors/") for line in frames), text
        assert "The above exception" not in text, text
        assert "site-packages" not in text, text
        assert "--tb=long shows them" in block[-1], name
    # The report keeps the full traceback for the developer.
    report = (tmp_path / "reports" / "report.html").read_text(encoding="utf-8")
    assert "MaxRetryError" in report
    assert "urllib3" in report


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("long", ["urllib3/connection.py", "requests/adapters.py", "direct cause"]),
        ("short", ["urllib3/connection.py", "requests/adapters.py"]),
        ("native", ["Traceback (most recent call last)", "urllib3/connection.py"]),
        ("line", ["ErpAuthFailed: POST /oauth2/v2.0/token"]),
        ("no", []),
    ],
)
def test_a_traceback_style_the_user_asks_for_is_pytests_own(
    tmp_path: Path, sandbox: RunningSandbox, style: str, expected: list[str]
) -> None:
    completed = run(tmp_path, closed_port_settings(sandbox), f"--tb={style}")
    assert completed.returncode == 1
    assert "--tb=long shows them" not in completed.stdout
    assert not re.search(r"^erpwatch: \[", completed.stdout, re.MULTILINE)
    for text in expected:
        assert text in completed.stdout, text
    if style == "no":
        assert " FAILURES " not in completed.stdout


def test_under_xdist_the_controller_prints_the_same_short_view(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    completed = run(tmp_path, closed_port_settings(sandbox), "-n", "2")
    blocks = failures(completed.stdout)
    assert len(blocks) >= 4, completed.stdout
    for block in blocks.values():
        assert len(block) <= SCREENFUL
        assert any(line.startswith("erpwatch: [ERP unreachable]") for line in block)
        assert "--tb=long shows them" in block[-1]


ASSERTING_MONITOR = """
import pytest

pytestmark = pytest.mark.process("customers")

def test_customer_city(erp, synthetic):
    created = synthetic.create(erp, "customers", {"displayName": f"Test {synthetic.tag}"})
    city = erp.read("customers", created["id"]).get("city", "")
    assert city == "Gent", "the customer's city did not come back"
"""


def test_a_monitors_own_assert_shows_its_line_and_pytests_comparison(tmp_path: Path) -> None:
    (tmp_path / "test_city.py").write_text(ASSERTING_MONITOR)
    (tmp_path / "erpwatch.toml").write_text(
        '[erpwatch]\nmonitors = "."\n\n[processes.customers]\ntitle = "Customer creation"\n'
    )
    completed = run_pytest(str(tmp_path), cwd=tmp_path)
    block = failures(completed.stdout)["test_customer_city"]
    text = "\n".join(block)
    assert block[0].startswith("erpwatch: ["), text
    assert any(line.startswith("test_city.py:9: in test_customer_city") for line in block), text
    assert '    assert city == "Gent"' in text
    assert "E   AssertionError: the customer's city did not come back" in text
    assert "E   assert '' == 'Gent'" in text
    assert len(block) <= SCREENFUL


# -- since when, and who was told -------------------------------------------------


MAILED_CONFIG = """
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


def standing_of(stdout: str, title: str) -> str:
    """The line under a process's line in the erpwatch summary."""
    section = stdout.split(" erpwatch ", 1)[1].splitlines()
    at = next(i for i, line in enumerate(section) if re.match(rf"\w+ +{re.escape(title)} \(", line))
    return section[at + 1].strip()


def order_standing(tmp_path: Path, env: dict[str, str]) -> Callable[[str], str]:
    """Runs the monitors at a given moment (ERPWATCH_NOW) against one state file,
    with mail configured; each run gives the line under Order submission."""
    config = write_config(tmp_path)
    config.write_text(
        config.read_text().replace("[erpwatch]", '[erpwatch]\ntimezone = "Europe/Brussels"')
        + MAILED_CONFIG
    )

    def at(moment: str) -> str:
        completed = run_pytest(
            "monitors",
            f"--erpwatch-config={config}",
            env=clean_environment(**env, ERPWATCH_NOW=moment),
        )
        return standing_of(completed.stdout, "Order submission")

    return at


def test_each_run_says_since_when_a_process_fails_and_who_was_told(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp
) -> None:
    sandbox.app.faults.add(parse_fault("vat_required:salesOrders"))
    at = order_standing(tmp_path, {**sandbox.settings(), **smtp.env})

    # Saturday 28 November, Brussels time (UTC+1).
    assert at("2026-11-28T21:27:00+01:00") == (
        "failing since Sat 21:27; alerted now (client, erp_partner); next reminder 01:27"
    )
    assert len(smtp.inbox.messages) == 2
    assert at("2026-11-28T21:49:00+01:00") == (
        "failing since Sat 21:27; already alerted Sat 21:27 (client, erp_partner); "
        "next reminder 01:27"
    )
    assert len(smtp.inbox.messages) == 2  # nothing new to say
    assert at("2026-11-29T01:30:00+01:00") == (
        "failing since Sat 21:27; reminded now (client, erp_partner); next reminder 05:30"
    )
    sandbox.app.faults.clear()
    assert at("2026-11-29T01:45:00+01:00") == (
        "recovering: ok again since Sun 01:45 after failing since Sat 21:27; "
        "resolved after 1 more good run(s)"
    )
    assert at("2026-11-29T02:00:00+01:00") == (
        "resolved: failing since Sat 21:27, ok again since Sun 01:45; "
        "resolved mail (client, erp_partner)"
    )


def test_without_a_mail_server_the_second_run_says_the_alert_waits_in_the_outbox(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    sandbox.app.faults.add(parse_fault("vat_required:salesOrders"))
    at = order_standing(tmp_path, sandbox.settings())  # no SMTP_HOST

    assert at("2026-11-28T21:27:00+01:00").startswith(
        "failing since Sat 21:27; alerted now (client [outbox], erp_partner [outbox])"
    )
    # Nobody has read an alert that never left the outbox: the line does not say "alerted".
    assert at("2026-11-28T21:49:00+01:00") == (
        "failing since Sat 21:27; alert in the outbox since Sat 21:27 (client, erp_partner); "
        "no SMTP_HOST; next reminder 01:27"
    )


def test_a_failure_nobody_is_routed_to_says_so(tmp_path: Path, sandbox: RunningSandbox) -> None:
    sandbox.app.faults.add(parse_fault("vat_required:salesOrders"))
    completed = run(tmp_path, sandbox.settings())
    line = standing_of(completed.stdout, "Order submission")
    assert re.fullmatch(
        r"failing since \w{3} \d\d:\d\d; nobody is mailed: no \[groups\] configured", line
    ), line


def test_the_readme_shows_the_alert_line_and_where_the_library_frames_went() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "--tb=long" in readme
    assert "already alerted" in readme
    assert "next reminder" in readme
    assert "(left out:" in readme

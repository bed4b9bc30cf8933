"""The erpwatch command, run as a user runs it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

from erpwatch.sandbox import FAULT_KINDS

from .support import REPO, clean_environment


def erpwatch(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", *args],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def test_without_a_command_it_shows_the_commands() -> None:
    result = erpwatch()
    assert result.returncode == 2
    assert "sandbox" in result.stderr


def test_the_sandbox_refuses_an_unknown_fault_naming_the_known_ones() -> None:
    result = erpwatch("sandbox", "--port", "0", "--fault", "gremlins")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "erpwatch sandbox: fault kind 'gremlins' is unknown; known kinds: " + ", ".join(FAULT_KINDS)
    )


def test_the_sandbox_refuses_a_mistyped_fault_target_in_one_line() -> None:
    result = erpwatch("sandbox", "--port", "0", "--fault", "vat_required:salesOrder")
    assert result.returncode == 2
    assert result.stderr == (
        "erpwatch sandbox: fault 'vat_required': unknown target 'salesOrder'; "
        "targets: *, customers, salesOrders, salesInvoices\n"
    )


def test_sandbox_help_lists_every_fault_kind_with_its_options() -> None:
    result = erpwatch("sandbox", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for kind in FAULT_KINDS:
        assert f" {kind} " in text
    assert (
        "slow the right answer, after `delay` seconds (default 3). Options: target, method, times, delay"
        in text
    )
    assert "webhook_lost the payment provider sends no webhooks. Options: times" in text
    assert (
        "TARGET is one of *, token, companies, customers, items, salesOrders, salesInvoices" in text
    )


def test_help_describes_every_command_in_a_line() -> None:
    result = erpwatch("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for command in (
        "sandbox run the built-in sandbox",
        "preview render the mails",
        "test-mail send one short test mail",
    ):
        assert command in text
    assert "pytest --erpwatch-dry-run" in text


def test_the_sandbox_says_clearly_when_its_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = erpwatch("sandbox", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.startswith(f"erpwatch sandbox: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in result.stderr


def test_the_sandbox_stops_when_its_parent_closes_stdin() -> None:
    result = erpwatch("sandbox", "--port", "0", "--json", "--exit-with-stdin")
    assert result.returncode == 0
    assert result.stdout.startswith('{"ERP_BASE_URL": "http://127.0.0.1:')


def preview_project(tmp_path: Path) -> Path:
    (tmp_path / "erpwatch.toml").write_text((REPO / "erpwatch.toml").read_text())
    return tmp_path


def test_preview_renders_an_example_alert_per_group_without_sending(tmp_path: Path) -> None:
    project = preview_project(tmp_path)
    result = erpwatch("preview", "--example", "--show", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "client (nl) → owner@webshop.example" in result.stdout
    assert "Subject: [erpwatch] Bestellingen bereiken het ERP niet\n" in result.stdout
    assert "erp_partner (en) → erp-support@acme.example" in result.stdout
    assert re.search(r"\nFailing call +POST /companies\(…\)/salesOrders", result.stdout)
    written = sorted(p.name for p in (project / "reports" / "preview").iterdir())
    assert written == [
        f"example-alert-{g}.{ext}"
        for g in ("client", "erp_partner")
        for ext in ("eml", "html", "txt")
    ]


def test_preview_of_the_last_run_says_where_to_start_when_there_is_none(tmp_path: Path) -> None:
    result = erpwatch("preview", cwd=preview_project(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"erpwatch preview: no run result at {tmp_path / 'reports' / 'summary.json'}: "
        "run the monitors first, or use --example"
    )


def test_preview_names_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "erpwatch.toml").write_text('[groups.client]\naddresses = ["nobody"]\n')
    result = erpwatch("preview", "--example", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "erpwatch preview: groups.client.addresses ("
        + str(tmp_path / "erpwatch.toml")
        + "): 'nobody' is not a valid"
    )

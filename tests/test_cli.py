"""The erpwatch command, run as a user runs it."""

from __future__ import annotations

import socket
import subprocess
import sys


def erpwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", *args],
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
        "erpwatch sandbox: fault kind 'gremlins' is unknown; known kinds: timeout, reset, slow, "
        "expired_token, throttle, unavailable, maintenance_page, vat_required, renamed_on_read, "
        "unknown_on_write, duplicate, not_persisted, cryptic_500, wrong_content_type"
    )


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

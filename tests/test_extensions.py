"""A partner's package extends erpwatch without editing it: the example package in
tests/data/erpwatch_example_plugin adds an "Acme ERP" error dialect, a channel
that writes each notice as JSON, and a fixture with an Acme ERP client. It is
installed as pip would leave it to importlib.metadata (the package beside a
dist-info whose entry points are read from its own pyproject.toml), and real
runs use all three against a loopback Acme ERP."""

from __future__ import annotations

import json
import shutil
import socket
import tomllib
from pathlib import Path
from typing import Any

from .hostile_http import Request, answer, hostile_http
from .support import clean_environment, read_summary, run_pytest

EXAMPLE = Path(__file__).parent / "data" / "erpwatch_example_plugin"

MONITOR = """
import pytest

pytestmark = pytest.mark.process("orders", critical=True)


def test_an_order_reaches_acme_erp(acme):
    acme.create_order({"customer": "C-1", "lines": [{"item": "1896-S", "quantity": 1}]})
"""

CONFIG = """
[erpwatch]
monitors = "monitors"
reports = "reports"

[erp]
timeout = 5
connect_timeout = 2

[processes.orders]
title = "Order submission"
critical = true

[mail]
from = "erpwatch <monitoring@agency.example>"
maintainers = "maintainers"

[groups.client]
name = "Client"
language = "en"
addresses = ["owner@webshop.example"]

[groups.maintainers]
name = "Maintainers"
language = "en"
addresses = ["ops@agency.example"]

[routing]
orders = ["client"]
"""

ACME_FAULT: dict[str, object] = {
    "acme": {"fault": "ACME-042", "text": "Customer C-1 is blocked", "field": "customer"}
}


def install_example(site: Path, *, entry_points: dict[str, dict[str, str]] | None = None) -> Path:
    """The example package in ``site`` as an installed distribution: its code and a
    dist-info whose entry points are those of its pyproject.toml (or ``entry_points``)."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text("utf-8"))["project"]
    shutil.copytree(EXAMPLE / "erpwatch_example_plugin", site / "erpwatch_example_plugin")
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    groups = entry_points if entry_points is not None else project["entry-points"]
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in names.items()) + "\n"
            for group, names in groups.items()
        )
    )
    return site


def acme_erp(request: Request, conn: socket.socket) -> None:
    if request.path == "/token":  # the Business Central settings point here too
        answer(conn, 200, {"access_token": "t0k3n-for-the-test", "expires_in": 3600})
    elif request.method == "POST" and request.path == "/acme/orders":
        answer(conn, 422, ACME_FAULT)
    else:
        answer(conn, 404, b"no such page")


def project_in(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "monitors").mkdir(parents=True)
    (project / "monitors" / "test_acme_orders.py").write_text(MONITOR)
    (project / "erpwatch.toml").write_text(CONFIG)
    (project / "pytest.ini").write_text("[pytest]\n")
    return project


def environment(url: str, site: Path, **extra: str) -> dict[str, str]:
    return clean_environment(
        PYTHONPATH=str(site),
        ERP_BASE_URL=f"{url}/api/v2.0",
        ERP_TOKEN_URL=f"{url}/token",
        ERP_CLIENT_ID="erpwatch",
        ERP_CLIENT_SECRET="s3cret-for-the-test",
        ERP_COMPANY_ID="c0ffee00-0000-0000-0000-000000000001",
        ACME_URL=f"{url}/acme",
        **extra,
    )


def test_a_partners_dialect_channel_and_client_fixture_work_in_a_real_run(
    tmp_path: Path,
) -> None:
    site = install_example(tmp_path / "site")
    notices = tmp_path / "notices"
    notices.mkdir()
    project = project_in(tmp_path)
    with hostile_http(acme_erp) as server:
        env = environment(server.url, site, ACME_NOTICE_DIR=str(notices))
        completed = run_pytest("monitors", cwd=project, env=env)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]

    # The client fixture came from the package, and fails as erpwatch's own clients do,
    # quoting Acme ERP as the package's dialect reads it.
    assert "POST /orders → 422 ACME-042: Customer C-1 is blocked" in output
    summary = read_summary(project / "reports" / "summary.json")
    diagnosis: dict[str, Any] = summary["monitors"][0]["diagnosis"]
    assert (diagnosis["erp_dialect"], diagnosis["erp_code"], diagnosis["erp_message"]) == (
        "Acme ERP",
        "ACME-042",
        "Customer C-1 is blocked",
    )

    # The channel got the alert the mail got, and the run says so beside the mail.
    written = sorted(notices.glob("*.json"))
    assert [path.name.rsplit("-", 1)[-1] for path in written] == ["client.json"], written
    notice = json.loads(written[0].read_text())
    assert (notice["group"], notice["kind"], notice["recipients"]) == (
        "client",
        "alert",
        ["owner@webshop.example"],
    )
    assert notice["subject"].startswith("[erpwatch] Orders are not reaching the ERP")
    assert notice["incidents"][0]["diagnosis"]["erp_code"] == "ACME-042"
    assert "ACME-042" in notice["text"]
    assert "json-file: sent 1 digest to client" in output
    deliveries = {(m["channel"], m["group"], m["status"]) for m in summary["mails"]}
    assert deliveries == {("mail", "client", "outbox"), ("json-file", "client", "sent")}


def test_a_channel_that_fails_is_reported_and_the_mail_still_goes_to_the_outbox(
    tmp_path: Path,
) -> None:
    site = install_example(tmp_path / "site")
    project = project_in(tmp_path)
    with hostile_http(acme_erp) as server:
        env = environment(server.url, site, ACME_NOTICE_DIR=str(tmp_path / "missing"))
        completed = run_pytest("monitors", cwd=project, env=env)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert f"json-file: NOT SENT to client: {tmp_path / 'missing'} is not a folder" in output
    summary = read_summary(project / "reports" / "summary.json")
    deliveries = {(m["channel"], m["status"]) for m in summary["mails"]}
    assert deliveries == {("mail", "outbox"), ("json-file", "failed")}
    assert list((project / "reports" / "outbox").glob("*.eml"))


def test_a_broken_partner_package_stops_the_run_in_one_line_naming_it(tmp_path: Path) -> None:
    site = install_example(
        tmp_path / "site",
        entry_points={"erpwatch.dialects": {"acme": "erpwatch_example_plugin:no_such_decoder"}},
    )
    project = project_in(tmp_path)
    completed = run_pytest("monitors", cwd=project, env=environment("http://127.0.0.1:9", site))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 4, output[-3000:]
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if "erpwatch:" in line]
    assert errors == [
        "ERROR: erpwatch: the erpwatch.dialects entry point 'acme' of package "
        "erpwatch-example-plugin 0.1.0 (erpwatch_example_plugin:no_such_decoder) cannot be "
        "loaded: AttributeError: module 'erpwatch_example_plugin' has no attribute "
        "'no_such_decoder'; fix or uninstall that package"
    ], output[-3000:]

"""The agency overview, put together from the clients' entries as the shards of a
sharded fleet leave them: reports/fleet.json against its published schema, and
reports/index.html as people see it, in headless Chromium at a phone's width."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from erpwatch._vocabulary import ClientEnd, Status
from erpwatch.fleet import ClientEntry, ProcessLine
from erpwatch.fleet._model import write_entry

from .report_pages import CHROMIUM, PHONE, shoot
from .support import REPO, clean_environment

HOSTILE = '<script>alert("erp")</script>\x1b[31m'


def entry(client: str, end: ClientEnd, *lines: ProcessLine, problem: str = "") -> ClientEntry:
    return ClientEntry(
        client=client, title=client.replace("-", " ").title(), end=end, exit_code=end.exit_code,
        started_at="2026-11-28T20:49:07+00:00", seconds=7.4, problem=problem,
        run_id="2611282049-ABCD", processes=lines, dashboard=f"{client}/index.html",
        report=f"{client}/report.html",
    )  # fmt: skip


def shards(reports: Path) -> None:
    """What two shards' report artifacts hold once downloaded into one folder."""
    failing = ProcessLine("orders", "Order submission", Status.FAILED,
                          "2026-11-28T18:02:00+00:00", "2026-11-28T18:17:00+00:00")  # fmt: skip
    passing = ProcessLine("customers", "Customer creation", Status.PASSED)
    for one in (
        entry("bakkerij-peeters", ClientEnd.FAILED, passing, failing, problem="Order submission"),
        entry("librairie-du-parc", ClientEnd.PASSED, passing),
        entry("wrong-config", ClientEnd.CONFIG_ERROR, problem=f"wrong-config: {HOSTILE}"),
    ):
        write_entry(reports / one.client, one)
    (reports / "torn-shard").mkdir()
    (reports / "torn-shard" / "fleet-entry.json").write_text('{"client": "torn-sh', "utf-8")


def overview_only(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "fleet", "--overview-only"],
        cwd=project, env=clean_environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_overview_of_several_shards_is_one_fleet_json_with_the_worst_exit_status(
    tmp_path: Path,
) -> None:
    shards(tmp_path / "reports")

    done = overview_only(tmp_path)

    assert done.returncode == 4, done.stderr  # a configuration to fix is the worst here
    data = json.loads((tmp_path / "reports" / "fleet.json").read_text(encoding="utf-8"))
    schema = json.loads(
        resources.files("erpwatch").joinpath("schemas/fleet.v1.json").read_text(encoding="utf-8")
    )
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())
    assert [c["client"] for c in data["clients"]] == [
        "wrong-config", "bakkerij-peeters", "librairie-du-parc"  # the worst first
    ]  # fmt: skip
    assert data["exit_code"] == 4
    assert len(data["set_aside"]) == 1
    assert data["set_aside"][0].startswith("torn-shard/")


def test_an_empty_reports_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()

    done = overview_only(tmp_path)

    assert done.returncode == 4
    assert done.stderr.strip().count("\n") == 0
    assert "fleet-entry.json" in done.stderr


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_the_overview_reads_on_a_phone_with_every_client_and_erp_text_kept_as_text(
    tmp_path: Path,
) -> None:
    shards(tmp_path / "reports")
    assert overview_only(tmp_path).returncode == 4
    page = tmp_path / "reports" / "index.html"
    screenshot = tmp_path / "fleet-overview-390.png"

    dom, width = shoot(page, PHONE, screenshot, tmp_path)

    assert width <= PHONE
    for shown in ("Bakkerij Peeters", "Librairie Du Parc", "Wrong Config", "✗ failing",
                  "configuration error", "Sat 28 Nov 19:02", "could not be read, left out"):  # fmt: skip
        assert shown in dom, shown
    assert "<script>alert" not in dom
    assert "&lt;script&gt;alert" in dom
    assert "\x1b" not in page.read_text(encoding="utf-8")
    assert 'href="bakkerij-peeters/index.html"' in dom
    if os.environ.get("ERPWATCH_UPDATE_SCREENSHOTS"):
        shutil.copy(screenshot, REPO / "docs" / "fleet-overview-390.png")


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (("--timezone", "Mars/Olympus"), "--timezone: unknown time zone 'Mars/Olympus'"),
        (("--plan", "0"), "--plan: give the number of clients per job, at least 1"),
        (("--jobs", "0"), "--jobs: at least 1"),
    ],
)
def test_a_wrong_option_is_one_line_naming_it(
    tmp_path: Path, option: tuple[str, ...], problem: str
) -> None:
    shutil.copytree(REPO / "clients", tmp_path / "clients")

    done = subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "fleet", *option],
        cwd=tmp_path, env=clean_environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert done.returncode == 4
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"erpwatch fleet: {problem}")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"dashboard": "/etc/passwd"}, "'dashboard' is not"),
        ({"report": "javascript:alert(document.cookie)"}, "'report' is not"),
        ({"client": "someone-else", "dashboard": "someone-else/index.html",
          "report": "someone-else/report.html"}, "it names the client 'someone-else'"),
        ({"started_at": "not a date"}, "'started_at'"),
        ({"seconds": 1e300}, "'seconds' is"),
        ({"processes": [{"name": "x", "title": "X", "status": "failed",
                         "failing_since": "yesterday", "last_mail": None}]}, "failing_since"),
    ],
)  # fmt: skip
def test_an_entry_from_another_machine_that_points_elsewhere_is_set_aside_not_followed(
    tmp_path: Path, change: dict[str, object], why: str
) -> None:
    reports = tmp_path / "reports"
    shards(reports)
    path = reports / "librairie-du-parc" / "fleet-entry.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, **change}), encoding="utf-8")

    done = overview_only(tmp_path)

    assert "Traceback" not in done.stderr
    fleet = json.loads((reports / "fleet.json").read_text(encoding="utf-8"))
    assert "librairie-du-parc" not in [c["client"] for c in fleet["clients"]]
    (aside,) = [line for line in fleet["set_aside"] if line.startswith("librairie-du-parc/")]
    assert why in aside
    page = (reports / "index.html").read_text(encoding="utf-8")
    assert "/etc/passwd" not in page
    assert "javascript:" not in page


@pytest.mark.parametrize(
    "change",
    [
        {"processes": [{"name": "x", "title": "X", "status": "failed", "last_mail": None,
                        "failing_since": "9999-12-31T23:59:59-12:00"}]},
        {"started_at": "0001-01-01T00:00:00+14:00"},
    ],
)  # fmt: skip
def test_a_time_no_zone_can_show_is_set_aside_said_and_no_pass(
    tmp_path: Path, change: dict[str, object]
) -> None:
    reports = tmp_path / "reports"
    shards(reports)
    path = reports / "librairie-du-parc" / "fleet-entry.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}), encoding="utf-8")

    done = overview_only(tmp_path)

    assert "Traceback" not in done.stderr
    assert "left out of the overview: librairie-du-parc/fleet-entry.json" in done.stderr
    assert (reports / "index.html").is_file()
    assert done.returncode == 4  # the worst client (config error); at least 3 for one unread


def test_an_entry_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    shards(reports)
    path = reports / "librairie-du-parc" / "fleet-entry.json"
    target = tmp_path / "elsewhere.json"
    target.write_text(path.read_text(), encoding="utf-8")
    path.unlink()
    path.symlink_to(target)

    done = overview_only(tmp_path)

    assert "librairie-du-parc/fleet-entry.json: not a regular file" in done.stderr

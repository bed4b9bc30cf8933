"""``erpwatch report --month 2026-11``: the monthly service report of each
client (or of this project), per group in its language and time zone, written
to reports/…/monthly/<month>/ and, with ``--mail``, mailed to each group."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from .._command import NoProject, add_config_option, settings_here
from .._files import write_atomically
from .._vocabulary import DeliveryStatus
from ..config import ConfigError, Group, Settings
from ..notify import outbox_of
from ..notify._transport import send_each, write_eml
from ..redact import Redactor
from ..report import History
from ..report._history import KEEP_MONTHS, shift_month
from ._compute import month_report
from ._render import MonthlyMessage, render_month, zone_of

# As the alert mails: a long subject is not folded at 78 (some clients show the fold).
_POLICY = policy.SMTP.clone(max_line_length=998)
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def build_parser(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument(
        "--month", default="last", metavar="YYYY-MM",
        help="the month to report, e.g. 2026-11 (default: last, the month before this one)",
    )  # fmt: skip
    parser.add_argument(
        "--mail", action="store_true",
        help="mail each group its report (the groups of [erpwatch] monthly_report)",
    )  # fmt: skip
    parser.add_argument(
        "--state", metavar="DIR",
        help="a fleet's state folder (as erpwatch fleet --state): DIR/<client>/",
    )  # fmt: skip
    parser.add_argument(
        "--out", metavar="DIR",
        help="the reports folder (as erpwatch fleet --reports): the report goes to "
        "DIR/<client>/monthly/<month>/ (default: each config's reports folder)",
    )  # fmt: skip


@dataclass(frozen=True)
class Target:
    name: str  # the client, "" for the project itself
    settings: Settings | None  # None: its configuration is wrong (``problem``)
    secrets: tuple[str, ...] = ()  # values that must never be quoted
    problem: str = ""


@dataclass(frozen=True)
class Line:
    """One line of the command's output, and whether it tells of a failure."""

    text: str
    failed: bool = False


def previous_month(now: datetime) -> str:
    """The month before this one in UTC: on the 1st at 12:00 UTC (the workflow's
    schedule) it has ended in every time zone from UTC-12 to UTC+14."""
    return shift_month(now.astimezone(UTC).strftime("%Y-%m"), -1)


def _records(history: History, month: str) -> list[dict[str, Any]]:
    """The runs around ``month``; and, while the earliest of them shows a process
    failing, the month before, so an outage's start (and when it was mailed)
    is its own, not the edge of what was read."""
    months = _utc_months(month)
    records = history.months(months)
    for _ in range(KEEP_MONTHS):
        if not records or not any(m["status"] == "failed" for m in records[0]["monitors"]):
            break
        months.insert(0, shift_month(months[0], -1))
        earlier = history.months(months[:1])
        if not earlier:
            break
        records = earlier + records
    return records


def _told_with(settings: Settings, group: Group) -> set[str]:
    """The groups told about the same processes as ``group`` (itself included):
    whose mails its report lists, and whose people it names."""
    mine = settings.mail.processes_of(group.key)
    if not mine:  # a group routed no process (the maintainers) hears about all
        return set(settings.mail.groups)
    return {g for p in mine for g in settings.mail.routing.get(p, ())} | {group.key}


def _utc_months(month: str) -> list[str]:
    """The UTC archive months a local month can touch, and those around it for
    outages that cross its edges."""
    return [shift_month(month, by) for by in (-1, 0, 1)]


def _targets(args: argparse.Namespace) -> list[Target]:
    state = Path(args.state).resolve() if args.state else None
    out = Path(args.out).resolve() if args.out else None
    if args.config:
        _, settings = settings_here(args.config)
        if out is not None:
            settings = replace(settings, reports_dir=out)
        return [Target("", settings, ())]
    return _fleet_targets(args.client, state, out)


def _fleet_targets(name: str | None, state: Path | None, out: Path | None) -> list[Target]:
    from ..fleet import FleetError, client_settings, discover, select

    root = Path.cwd()
    try:
        clients = select(discover(root), name)
    except FleetError as error:
        raise NoProject(str(error).replace("--clients", "--client")) from None
    targets = []
    for client in clients:
        reports = out or root / "reports"
        try:
            _, settings, masked = client_settings(client, root, os.environ, reports, state)
        except ConfigError as error:  # this client's, one line; the others are reported
            targets.append(Target(client.name, None, problem=str(error)))
        else:
            targets.append(Target(client.name, settings, masked))
    return targets


def _processes(settings: Settings, group: Group, records: Sequence[dict[str, Any]]) -> list[str]:
    """The processes ``group`` hears about; every process for a group routed none."""
    routed = settings.mail.processes_of(group.key)
    if routed:
        return [p for p in settings.processes if p in routed] + [
            p for p in routed if p not in settings.processes
        ]
    seen = dict.fromkeys(m["process"] for r in records for m in r["monitors"])
    return list(settings.processes) + [p for p in seen if p not in settings.processes]


def compose(message: MonthlyMessage, group: Group, settings: Settings, month: str) -> EmailMessage:
    mail = settings.mail
    email = EmailMessage(policy=_POLICY)
    email["Subject"] = message.subject
    email["From"] = mail.sender
    email["To"] = ", ".join(group.addresses)
    if mail.reply_to:
        email["Reply-To"] = mail.reply_to
    email["Date"] = format_datetime(datetime.now(UTC))
    domain = mail.sender.rpartition("@")[2].strip(">") or "erpwatch.invalid"
    email["Message-ID"] = make_msgid(
        idstring=f"erpwatch.monthly.{month}.{group.key}", domain=domain
    )
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    email["X-Erpwatch-Kind"] = "monthly"
    email["Content-Language"] = group.language
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    if message.csv.count("\n") > 1:  # a header and at least one outage
        email.add_attachment(
            message.csv.encode("utf-8"),
            maintype="text",
            subtype="csv",
            filename=f"outages-{month}.csv",
            params={"charset": "utf-8"},
        )
    return email


def report_target(
    settings: Settings, secrets: Sequence[str], month: str, now: datetime, send_mail: bool
) -> list[Line]:
    """Write (and, with ``send_mail``, mail) one client's reports: a line per group."""
    history = History(settings.alerts.state_file.with_name("history.jsonl"))
    records = _records(history, month)
    masked = Redactor((*settings.secrets, *secrets))
    lines = [Line(f"warning: {masked.text(w)}") for w in history.warnings]
    folder = settings.reports_dir / "monthly" / month
    folder.mkdir(parents=True, exist_ok=True)
    thresholds = {
        name: p.latency_threshold * 1000 if p.latency_threshold else None
        for name, p in settings.processes.items()
    }
    groups = [settings.mail.groups[key] for key in settings.monthly_groups]
    if not groups:
        return [*lines, Line("no group gets the monthly report ([erpwatch] monthly_report)")]
    composed: list[tuple[Group, EmailMessage, Path]] = []
    for group in groups:
        report = month_report(
            records,
            month,
            zone_of(group, settings),
            _processes(settings, group, records),
            thresholds,
            now,
            _told_with(settings, group),
        )
        message = render_month(report, group, settings, secrets)
        write_atomically(folder / f"{group.key}.html", message.html)
        write_atomically(folder / f"{group.key}.txt", message.text)
        write_atomically(folder / f"outages-{group.key}.csv", message.csv)
        email = compose(message, group, settings, month)
        eml = write_eml(email, outbox_of(settings), f"monthly-{month}-{group.key}")
        composed.append((group, email, eml))
    if not send_mail:
        return [*lines, Line(f"written to {folder}")]
    return lines + _send(settings, composed, secrets)


def _send(
    settings: Settings, composed: list[tuple[Group, EmailMessage, Path]], secrets: Sequence[str]
) -> list[Line]:
    smtp = settings.mail.smtp
    if smtp is None:
        # As the alert mails: without a mail server the outbox is the delivery.
        why = "a dry run" if settings.dry_run else "no mail server: set SMTP_HOST to send"
        return [Line(f"{g.key}: not sent ({why}): written to {eml}") for g, _, eml in composed]
    masked = Redactor((*settings.secrets, *secrets))
    outcome = send_each(smtp, [(group.key, email) for group, email, _ in composed])
    lines: list[Line] = []
    for group, _, _ in composed:
        error = outcome[group.key]
        if error is None:
            lines.append(
                Line(f"{group.key}: {DeliveryStatus.SENT} to {', '.join(group.addresses)}")
            )
        else:
            lines.append(Line(f"{group.key}: FAILED: {masked.text(str(error))}", True))
    return lines


def run(args: argparse.Namespace) -> int:
    try:
        targets = _targets(args)
        first = next((t.settings for t in targets if t.settings is not None), None)
        now = (first.alerts.fixed_now if first else None) or datetime.now(UTC)
        month = args.month
        if month == "last":
            month = previous_month(now)
        if not _MONTH.fullmatch(month) or not "2000-01" <= month <= f"{now.year + 1:04d}-12":
            raise NoProject(
                f"--month: give a month as YYYY-MM (e.g. 2026-11) or last, not {month!r}"
            )
        if month > now.astimezone(UTC).strftime("%Y-%m"):
            raise NoProject(f"--month: {month} has not begun yet")
    except (ConfigError, NoProject) as error:
        print(f"erpwatch report: {error}", file=sys.stderr)
        return 2
    worst = 0
    for target in targets:
        name = f"{target.name}: " if target.name else ""
        lines = _report_safely(target, month, now, args.mail)
        for line in lines:
            print(f"{name}{line.text}", file=sys.stderr if line.failed else sys.stdout)
        if target.settings is None:
            worst = 2
        elif any(line.failed for line in lines):
            worst = max(worst, 1)
    return worst


def _report_safely(target: Target, month: str, now: datetime, send_mail: bool) -> list[Line]:
    """One client's report; what goes wrong with it is that client's one line."""
    if target.settings is None:
        return [Line(f"configuration: {target.problem}", True)]
    try:
        return report_target(target.settings, target.secrets, month, now, send_mail)
    except OSError as error:  # a folder that cannot be written
        return [Line(f"FAILED: {error.strerror or error} ({error.filename})", True)]
    except Exception as error:  # erpwatch itself broke: say so, masked, and go on
        masked = Redactor((*target.settings.secrets, *target.secrets))
        return [
            Line(
                f"FAILED: erpwatch broke: {type(error).__name__}: {masked.text(str(error))[:300]}",
                True,
            )
        ]

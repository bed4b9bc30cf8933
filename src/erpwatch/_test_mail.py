"""``erpwatch test-mail``: one short mail to each recipient group before going
live, and one short post to each group's webhook (Slack, Teams, JSON).

It goes through the mail server the way the real mails do (notify's transport:
the same session, TLS, login, deadline and error lines), and to the webhook the
way the real posts do (notify's post: no redirect, bounded in time), so what
arrives here proves the real ones will, and a failure says which setting to change.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from ._command import NoProject, add_config_option, settings_here
from ._vocabulary import DeliveryStatus
from ._words import words_of, words_table
from .config import ConfigError, Group, Settings
from .notify import outbox_of
from .notify._deliver import post_chat
from .notify._transport import send_each, write_eml
from .notify._webhook import channel_name, test_message
from .redact import Redactor


def build_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    add_config_option(parser)
    parser.add_argument(
        "--group",
        metavar="NAME",
        action="append",
        default=[],
        help="only this recipient group (repeat for more; default: every group); "
        "a group with a webhook also gets a test post",
    )
    return parser


@dataclass(frozen=True)
class GroupResult:
    """What became of one group's test mail."""

    group: str
    addresses: tuple[str, ...]
    status: DeliveryStatus
    eml: Path
    error: str | None = None
    channel: str = "mail"  # or the webhook's, e.g. "webhook-slack"
    host: str = ""  # where a webhook post went: the host, never the address

    @property
    def line(self) -> str:
        to = ", ".join(self.addresses)
        if self.channel != "mail":
            if self.status is DeliveryStatus.SENT:
                return f"{self.group}: {self.channel}: posted to {self.host}"
            if self.status is DeliveryStatus.OUTBOX:
                return f"{self.group}: {self.channel}: NOT POSTED: a dry run posts nothing"
            return f"{self.group}: {self.channel}: FAILED: {self.error}"
        if self.status is DeliveryStatus.SENT:
            return f"{self.group}: sent to {to}"
        if self.status is DeliveryStatus.OUTBOX:
            return f"{self.group}: NOT SENT (no mail server): written to {self.eml}"
        return f"{self.group}: FAILED to {to}: {self.error}"


def words(code: str) -> Mapping[str, str]:
    """The [test_mail] texts of a language (checked against English by words_of)."""
    return words_table(code, "test_mail")


def compose_test(settings: Settings, group: Group, now: datetime) -> EmailMessage:
    """A short plain-text mail in the group's language: what this group will hear about."""
    mail = settings.mail
    texts = words(group.language)
    language = words_of(group.language)
    titles = _titles(settings, group)
    body = [texts["intro"].format(addresses=", ".join(group.addresses)), ""]
    if titles:
        listed = (
            f"{', '.join(titles[:-1])} {language.and_} {titles[-1]}"
            if len(titles) > 1
            else titles[0]
        )
        body.append(texts["watches"].format(processes=listed))
    if group.key == mail.maintainers:
        body.append(texts["maintainers"])
    body += ["", texts["nothing"]]
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = texts["subject"].format(group=group.name)
    message["From"] = mail.sender
    message["To"] = ", ".join(group.addresses)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="erpwatch")
    message["Content-Language"] = group.language
    message.set_content("\n".join(body) + "\n")
    return message


def send_tests(settings: Settings, groups: Sequence[Group], now: datetime) -> list[GroupResult]:
    """Every group's test mail into the outbox, then through one SMTP session."""
    outbox = outbox_of(settings)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    composed = [
        (group, message, write_eml(message, outbox, f"test-mail-{stamp}-{group.key}"))
        for group in groups
        for message in (compose_test(settings, group, now),)
    ]
    smtp = settings.mail.smtp
    if smtp is None:
        return [GroupResult(g.key, g.addresses, DeliveryStatus.OUTBOX, p) for g, _, p in composed]
    outcome = send_each(smtp, [(g.key, message) for g, message, _ in composed])
    results = [
        GroupResult(g.key, g.addresses, DeliveryStatus.SENT, p)
        if outcome[g.key] is None
        else GroupResult(g.key, g.addresses, DeliveryStatus.FAILED, p, str(outcome[g.key]))
        for g, _, p in composed
    ]
    return results


def post_tests(settings: Settings, groups: Sequence[Group], now: datetime) -> list[GroupResult]:
    """One short post to the webhook of each group that has one, one call each
    (bounded like the real posts: notify's WEBHOOK_TIMEOUT); not in a dry run."""
    results: list[GroupResult] = []
    masked = Redactor(settings.secrets)
    outbox = outbox_of(settings)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    for group in groups:
        hook = group.webhook
        if hook is None:
            continue
        channel = channel_name(hook)
        path = outbox / f"test-mail-{stamp}-{group.key}.eml"
        if settings.dry_run:
            results.append(
                GroupResult(group.key, (), DeliveryStatus.OUTBOX, path, None, channel, hook.host)
            )
            continue
        processes = _titles(settings, group)
        message = test_message(
            group, processes, group.key == settings.mail.maintainers, f"test-mail-{stamp}"
        )
        # Through the same delivery as the real posts: bounded, masked, one line.
        delivery = post_chat(message, path)
        error = masked.text(delivery.error) if delivery.error else None
        results.append(GroupResult(group.key, (), delivery.status, path, error, channel, hook.host))
    return results


def _titles(settings: Settings, group: Group) -> list[str]:
    """The processes routed to ``group``, by their titles in its language."""
    processes = settings.mail.processes_of(group.key)
    titles = [
        p.title_in(group.language)
        for name in processes
        if (p := settings.process(name)) is not None
    ]
    return titles + [name for name in processes if settings.process(name) is None]


def _fail(message: str) -> int:
    print(f"erpwatch test-mail: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    try:
        config_path, settings = settings_here(args.config, args.client)
    except (ConfigError, NoProject) as error:
        return _fail(str(error))
    mail = settings.mail
    if not mail.groups:
        return _fail(f"{config_path.name} has no recipient groups ([groups.NAME]): nobody to mail")
    unknown = [name for name in args.group if name not in mail.groups]
    if unknown:
        return _fail(
            f"no group {', '.join(unknown)} in {config_path.name}; groups: {', '.join(mail.groups)}"
        )
    groups = [mail.groups[name] for name in (args.group or mail.groups)]
    now = settings.alerts.fixed_now or datetime.now(UTC)
    # A chat-only group (a webhook, no addresses) gets the post only.
    mailed = [g for g in groups if g.mailed]
    results = send_tests(settings, mailed, now) if mailed else []
    results += post_tests(settings, groups, now)
    order = {g.key: index for index, g in enumerate(groups)}
    results.sort(key=lambda r: order[r.group])  # each group's mail, then its post
    for result in results:
        print(result.line)
    if mail.smtp is None and mailed:
        why = (
            "ERPWATCH_DRY_RUN is set, and a dry run sends nothing"
            if settings.dry_run
            else "no mail server is configured: set SMTP_HOST (and SMTP_PORT, SMTP_SECURITY, "
            "SMTP_USERNAME, SMTP_PASSWORD, MAIL_FROM) to send"
        )
        print(f"erpwatch test-mail: {why}", file=sys.stderr)
        return 1
    return 1 if any(r.status is not DeliveryStatus.SENT for r in results) else 0

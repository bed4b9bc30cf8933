"""The mail that says erpwatch itself is broken: to the maintainers only, plain
text, in English (the maintainers read the code), with the masked tracebacks."""

from __future__ import annotations

from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from .._vocabulary import DeliveryStatus
from ..config import Settings
from ..redact import Redactor
from ._deliver import outbox_of, post_chat
from ._model import Delivery, RunContext
from ._transport import MailDeliveryFailed, send, smtp_connection, write_eml
from ._webhook import harness_message

MAX_DETAIL_CHARS = 20_000


class NoMaintainers(Exception):
    """No maintainers group with an address: nobody to tell."""


def tell_maintainers(
    settings: Settings, run: RunContext, problems: Sequence[tuple[str, str]]
) -> Delivery:
    """Mail ``problems`` ((one line, detail) per broken step) to the maintainers
    group: through SMTP when configured, always into the outbox."""
    mail = settings.mail
    group = mail.groups.get(mail.maintainers) if mail.maintainers else None
    if group is not None and not group.mailed:
        # A chat-only maintainers group: tell_maintainers_in_chat tells its webhook.
        raise NoMaintainers(
            f"the maintainers group {group.key} has no addresses: it is told on its webhook only"
        )
    if group is None:
        raise NoMaintainers(
            "no maintainers group with an address to tell: set [mail] maintainers "
            "and that group's addresses (e.g. MAINTAINER_EMAILS)"
        )
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = _subject(run, problems)
    message["From"] = mail.sender
    message["To"] = ", ".join(group.addresses)
    message["Date"] = format_datetime(run.finished_at)
    message["Message-ID"] = make_msgid(domain="erpwatch")
    body = [
        f"Run {run.run_id} finished, but some of erpwatch's own finishing steps broke.",
        "The other steps still ran; the monitors' own results are in the run's summary.",
        "",
        *(line for line, _ in problems),
    ]
    if run.run_url:
        body += ["", f"The run: {run.run_url}"]
    for line, detail in problems:
        body += ["", "-" * 72, line, "", detail[-MAX_DETAIL_CHARS:]]
    message.set_content("\n".join(body) + "\n")
    name = f"{run.run_id}-harness-{group.key}"
    try:
        path = write_eml(message, outbox_of(settings), name)
    except OSError:
        # The outbox may be what broke: sending matters more than the copy.
        path = outbox_of(settings) / f"{name}.eml"
        if mail.smtp is None:
            raise
    subject = str(message["Subject"])
    if mail.smtp is None:
        return Delivery(group.key, group.addresses, subject, path, DeliveryStatus.OUTBOX)
    try:
        with smtp_connection(mail.smtp) as client:
            send(client, message)
    except MailDeliveryFailed as error:
        return Delivery(
            group.key, group.addresses, subject, path, DeliveryStatus.FAILED, str(error)
        )
    return Delivery(group.key, group.addresses, subject, path, DeliveryStatus.SENT)


def tell_maintainers_in_chat(
    settings: Settings, run: RunContext, problems: Sequence[tuple[str, str]]
) -> Delivery | None:
    """The same news on the maintainers' webhook, when they have one: their mail
    may be what is broken. None when there is no webhook or in a dry run."""
    mail = settings.mail
    group = mail.groups.get(mail.maintainers) if mail.maintainers else None
    if group is None or group.webhook is None or settings.dry_run:
        return None
    subject = _subject(run, problems)
    masked = Redactor(settings.secrets)  # in the fleet's parent too, which has no recorder's
    chat = harness_message(group, subject, [masked.text(line) for line, _ in problems], run)
    return post_chat(chat, outbox_of(settings) / f"{run.run_id}-harness-{group.key}.eml")


def _subject(run: RunContext, problems: Sequence[tuple[str, str]]) -> str:
    """``[erpwatch] erpwatch itself failed in run 42: dashboard, history``: the
    steps named as their lines name them (``erpwatch: dashboard failed: …``)."""
    names = ", ".join(
        line.split(" failed:", 1)[0].removeprefix("erpwatch: ") for line, _ in problems
    )
    return f"[erpwatch] erpwatch itself failed in run {run.run_id}: {names}"

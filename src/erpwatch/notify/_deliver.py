"""One run's mails: compose every digest, keep each in the outbox, send when SMTP
is set; then hand each digest to every installed channel (erpwatch.extensions)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path

from .._vocabulary import DeliveryStatus
from .._words import counted
from ..capture import RECORDER
from ..config import Settings, SmtpSettings
from ..extensions import Channel, ChannelFailed, Notice, installed_channels
from ._compose import compose
from ._model import Delivery, Digest, RunContext
from ._plan import PLAN_FILE, save_plan
from ._refusal import Refusal
from ._transport import MailDeliveryFailed, send, smtp_connection, write_eml
from ._webhook import (
    ChatMessage,
    WebhookFailed,
    channel_name,
    digest_message,
    failures_of,
    mail_failed_message,
    post,
)

# What a run keeps of an installed channel's failure: a reason, not a dump.
CHANNEL_ERROR_LIMIT = 500


def outbox_of(settings: Settings) -> Path:
    return settings.reports_dir / "outbox"


def deliver(
    digests: Sequence[Digest],
    settings: Settings,
    run: RunContext,
    outbox: Path,
    held: Mapping[str, Refusal] | None = None,
) -> list[Delivery]:
    """Write every mail to the outbox first, so nothing is lost, then send them.
    A group in ``held`` was refused for good under these same settings: its mail
    is kept, not sent, and the delivery says why."""
    mail = settings.mail
    # What `erpwatch preview` shows for this run: these very digests, none included.
    # Only a convenience: a folder that cannot take it must not cost the mail.
    with contextlib.suppress(OSError):
        save_plan(settings.reports_dir / PLAN_FILE, run.run_id, digests)
    if not digests:
        return []
    composed: list[tuple[Digest, EmailMessage, Path]] = []
    for digest in digests:
        message = compose(digest, settings, run)
        name = f"{run.run_id}-{digest.kind}-{digest.group.key}"
        composed.append((digest, message, write_eml(message, outbox, name)))

    if mail.smtp is None:
        deliveries = [_record(d, m, p, DeliveryStatus.OUTBOX, None) for d, m, p in composed]
    else:
        refused = held or {}
        deliveries = [
            _record(d, m, p, DeliveryStatus.FAILED, _held_line(refused[d.group.key]), held=True)
            for d, m, p in composed
            if d.group.key in refused
        ]
        deliveries += _send_mail(
            [item for item in composed if item[0].group.key not in refused], mail.smtp
        )
        order = {path: index for index, (_, _, path) in enumerate(composed)}
        deliveries.sort(key=lambda d: order[d.eml])  # the groups in the order they were planned
    for name, channel in installed_channels(settings):
        deliveries += [
            _hand_over(name, channel, digest, message, path, run)
            for digest, message, path in composed
        ]
    if not settings.dry_run:  # a dry run talks to nobody
        deliveries += _chat(composed, deliveries, settings, run)
    return deliveries


def _chat(
    composed: Sequence[tuple[Digest, EmailMessage, Path]],
    deliveries: Sequence[Delivery],
    settings: Settings,
    run: RunContext,
) -> list[Delivery]:
    """Each digest to its group's webhook; then, when a mail was not delivered,
    a word to the maintainers' webhook. Whatever a webhook does, the mail stands."""
    done: list[Delivery] = []
    for digest, message, path in composed:
        if digest.group.webhook is not None:
            chat = digest_message(digest, str(message["Subject"]), settings, run)
            done.append(_post(chat, path))
    mail = settings.mail
    maintainers = mail.groups.get(mail.maintainers) if mail.maintainers else None
    failures = failures_of(deliveries, mail.groups)
    if failures and maintainers is not None and maintainers.webhook is not None:
        first_failed = next(d.eml for d in deliveries if d.channel == "mail" and not d.delivered)
        done.append(_post(mail_failed_message(maintainers, failures, run), first_failed))
    return done


def post_chat(chat: ChatMessage, path: Path) -> Delivery:
    """``chat`` to its group's webhook, as a delivery: sent, or failed saying why."""
    return _post(chat, path)


def _post(chat: ChatMessage, path: Path) -> Delivery:
    hook = chat.group.webhook
    assert hook is not None  # only groups with a webhook get a chat message
    group = chat.group
    try:
        post(hook, chat)
    except WebhookFailed as failure:
        shown = RECORDER.redactor.text(str(failure))[:CHANNEL_ERROR_LIMIT]
        return Delivery(
            group.key,
            group.addresses,
            chat.subject,
            path,
            DeliveryStatus.FAILED,
            shown,
            channel_name(hook),
        )
    return Delivery(
        group.key,
        group.addresses,
        chat.subject,
        path,
        DeliveryStatus.SENT,
        None,
        channel_name(hook),
    )


def _held_line(refusal: Refusal) -> str:
    return f"not tried: refused for good since {refusal.since[:16].replace('T', ' ')} UTC: {refusal.error}"


def _record(
    digest: Digest,
    message: EmailMessage,
    path: Path,
    status: DeliveryStatus,
    error: str | None,
    *,
    permanent: bool = False,
    held: bool = False,
) -> Delivery:
    # A mail server's reply can echo what it was sent (the password in AUTH):
    # masked before it is stored or shown.
    shown = RECORDER.redactor.text(error) if error is not None else None
    return Delivery(
        digest.group.key,
        digest.group.addresses,
        str(message["Subject"]),
        path,
        status,
        shown,
        permanent=permanent or held,
        held=held,
    )


def _send_mail(
    composed: Sequence[tuple[Digest, EmailMessage, Path]], smtp: SmtpSettings
) -> list[Delivery]:
    deliveries: list[Delivery] = []
    if not composed:
        return deliveries
    try:
        with smtp_connection(smtp, messages=len(composed)) as client:
            for digest, message, path in composed:
                try:
                    send(client, message, digest.group.key)
                except MailDeliveryFailed as error:
                    deliveries.append(
                        _record(
                            digest,
                            message,
                            path,
                            DeliveryStatus.FAILED,
                            str(error),
                            permanent=error.permanent,
                        )
                    )
                else:
                    deliveries.append(_record(digest, message, path, DeliveryStatus.SENT, None))
    except MailDeliveryFailed as error:
        done = {d.eml for d in deliveries}
        deliveries += [
            _record(d, m, p, DeliveryStatus.FAILED, str(error), permanent=error.permanent)
            for d, m, p in composed
            if p not in done
        ]
    return deliveries


def _hand_over(
    name: str,
    channel: Channel,
    digest: Digest,
    message: EmailMessage,
    path: Path,
    run: RunContext,
) -> Delivery:
    """One digest to one installed channel. Whatever the channel raises is its
    failure, reported like a mail's; the mail and the other channels go on."""
    body = message.get_body(("plain",))
    notice = Notice(
        channel=name,
        group=digest.group.key,
        recipients=digest.group.addresses,
        kind=digest.kind,
        subject=str(message["Subject"]),
        text=body.get_content() if isinstance(body, EmailMessage) else "",
        incidents=tuple(incident.to_dict() for incident in digest.incidents),
        run_id=run.run_id,
        run_url=run.run_url,
    )
    try:
        channel.send(notice)
    except Exception as failure:  # a partner's channel must not take the run down
        reason = (
            str(failure)
            if isinstance(failure, ChannelFailed)
            else f"{type(failure).__name__}: {failure}"
        )
        # Masked and cut like a mail server's reply: it may echo what it was given.
        shown = RECORDER.redactor.text(reason)[:CHANNEL_ERROR_LIMIT]
        return Delivery(
            notice.group,
            notice.recipients,
            notice.subject,
            path,
            DeliveryStatus.FAILED,
            shown,
            name,
        )
    return Delivery(
        notice.group, notice.recipients, notice.subject, path, DeliveryStatus.SENT, None, name
    )


def summary_lines(deliveries: Sequence[Delivery], settings: Settings) -> list[str]:
    """What the terminal says about this run's mails."""
    if not deliveries:
        return []
    lines = []
    in_outbox = [d.group for d in deliveries if d.status is DeliveryStatus.OUTBOX]
    if in_outbox:
        # A dry run never talks to the mail server, whether or not SMTP_HOST is set.
        why = (
            "a dry run sends nothing"
            if settings.dry_run
            else "no SMTP server configured (SMTP_HOST)"
        )
        lines.append(
            f"mail: {why}; {counted(len(in_outbox), 'digest')} for "
            f"{', '.join(in_outbox)} written to {outbox_of(settings)}"
        )
    sent = [d.group for d in deliveries if d.status is DeliveryStatus.SENT and d.channel == "mail"]
    smtp = settings.mail.smtp
    if sent and smtp is not None:
        lines.append(
            f"mail: sent {counted(len(sent), 'digest')} via {smtp.host}:{smtp.port} to {', '.join(sent)}"
        )
    for channel in dict.fromkeys(d.channel for d in deliveries if d.channel != "mail"):
        done = [
            d.group for d in deliveries if d.channel == channel and d.status is DeliveryStatus.SENT
        ]
        if done:
            lines.append(f"{channel}: sent {counted(len(done), 'digest')} to {', '.join(done)}")
    for delivery in deliveries:
        if delivery.status is DeliveryStatus.FAILED and delivery.channel != "mail":
            lines.append(f"{delivery.channel}: NOT SENT to {delivery.group}: {delivery.error}")
        elif delivery.status is DeliveryStatus.FAILED:
            then = (
                "not tried again until a setting named above changes (or for a day)"
                if delivery.permanent
                else "and the next run sends it again"
            )
            lines.append(
                f"mail: NOT SENT to {delivery.group}: {delivery.error}; kept in {delivery.eml}, "
                + then
            )
    return lines

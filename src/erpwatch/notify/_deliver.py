"""One run's mails: compose every digest, keep each in the outbox, send when SMTP
is set; then hand each digest to every installed channel (erpwatch.extensions)
and post it to its group's webhook, with the posts earlier runs could not make.
A chat-only group (a webhook, no addresses) gets no mail: its digest's copy in
the outbox is the record of what was posted."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from .._vocabulary import DeliveryStatus
from .._words import counted
from ..capture import RECORDER
from ..config import Settings, SmtpSettings
from ..extensions import Channel, ChannelFailed, Notice, installed_channels
from ._compose import compose
from ._model import Delivery, Digest, Incident, RunContext
from ._plan import PLAN_FILE, save_plan
from ._refusal import Refusal
from ._transport import send_each, write_eml
from ._webhook import (
    ChatMessage,
    WebhookFailed,
    _masked,
    channel_name,
    digest_message,
    failures_fingerprint,
    failures_of,
    mail_failed_message,
    post,
)

# What a run keeps of an installed channel's failure: a reason, not a dump.
CHANNEL_ERROR_LIMIT = 500
# A chat post the webhook did not take is kept for the next runs: at most this
# many per group and for at most this long, since a chat down for days must not
# grow the state without end, and a day-old alert tells of a state long changed.
CHAT_PENDING_MAX = 20
CHAT_PENDING_AGE = timedelta(hours=24)


def chat_key(process: str, aspect: str, kind: str) -> str:
    """An incident as the chat knows it was posted: a mail given back to pending
    after it failed brings its incidents back, and the chat must not post them again."""
    return f"{process}|{aspect}|{kind}"


def key_of(incident: Incident) -> str:
    return chat_key(incident.process, incident.aspect.value, incident.kind.value)


@dataclass(frozen=True)
class Told:
    """The maintainers' last "mail was not delivered" post: which failures, when."""

    fingerprint: str
    at: datetime


def outbox_of(settings: Settings) -> Path:
    return settings.reports_dir / "outbox"


def deliver(
    digests: Sequence[Digest],
    settings: Settings,
    run: RunContext,
    outbox: Path,
    held: Mapping[str, Refusal] | None = None,
    kept_posts: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    told: Told | None = None,
    remind_every_hours: float = 0.0,
    posted: Mapping[str, Collection[str]] | None = None,
) -> list[Delivery]:
    """Write every mail to the outbox first, so nothing is lost, then send them.
    A group in ``held`` was refused for good under these same settings: its mail
    is kept, not sent, and the delivery says why. ``kept_posts``: per group, the
    chat posts earlier runs could not make (pending_post's records), posted
    first. ``told``: the maintainers' last word on failing mail, not repeated
    while the same mails fail for the same reasons, but every ``remind_every_hours``.
    ``posted``: per group, the incidents (chat_key) its chat already has, back
    in the digest only because the mail failed: not posted again."""
    mail = settings.mail
    # What `erpwatch preview` shows for this run: these very digests, none included.
    # Only a convenience: a folder that cannot take it must not cost the mail.
    with contextlib.suppress(OSError):
        save_plan(settings.reports_dir / PLAN_FILE, run.run_id, digests)
    if not digests and not kept_posts:
        return []
    composed: list[tuple[Digest, EmailMessage, Path]] = []
    for digest in digests:
        message = compose(digest, settings, run)
        name = f"{run.run_id}-{digest.kind}-{digest.group.key}"
        composed.append((digest, message, write_eml(message, outbox, name)))

    mailed = [item for item in composed if item[0].group.mailed]
    if mail.smtp is None:
        deliveries = [_record(d, m, p, DeliveryStatus.OUTBOX, None) for d, m, p in mailed]
    else:
        refused = held or {}
        deliveries = [
            _record(d, m, p, DeliveryStatus.FAILED, _held_line(refused[d.group.key]), held=True)
            for d, m, p in mailed
            if d.group.key in refused
        ]
        deliveries += _send_mail(
            [item for item in mailed if item[0].group.key not in refused], mail.smtp
        )
        order = {path: index for index, (_, _, path) in enumerate(composed)}
        deliveries.sort(key=lambda d: order[d.eml])  # the groups in the order they were planned
    for name, channel in installed_channels(settings):
        deliveries += [
            _hand_over(name, channel, digest, message, path, run)
            for digest, message, path in composed
        ]
    if not settings.dry_run:  # a dry run talks to nobody
        deliveries += _chat(
            composed,
            deliveries,
            settings,
            run,
            kept_posts or {},
            (told, remind_every_hours),
            posted or {},
        )
    return deliveries


def _chat(
    composed: Sequence[tuple[Digest, EmailMessage, Path]],
    deliveries: Sequence[Delivery],
    settings: Settings,
    run: RunContext,
    kept_posts: Mapping[str, Sequence[Mapping[str, Any]]],
    last_told: tuple[Told | None, float],
    posted: Mapping[str, Collection[str]],
) -> list[Delivery]:
    """The posts earlier runs could not make, oldest first; each digest to its
    group's webhook; then, when a mail was not delivered, a word to the
    maintainers' webhook. Whatever a webhook does, the mail stands; a post not
    taken carries its record (``retry``) for the alert state to keep."""
    mail = settings.mail
    todo: list[tuple[ChatMessage, Path, Mapping[str, Any] | None, str | None]] = []
    for key, posts in kept_posts.items():
        group = mail.groups.get(key)
        if group is None or group.webhook is None:
            continue  # the state hands over only groups that still have a webhook
        for kept in posts:
            try:
                chat = ChatMessage.from_dict(kept["message"], group)
            except (KeyError, TypeError, ValueError):
                continue  # the state's reader checked its shape: not reached
            todo.append((chat, Path(kept["eml"]), kept, None))
    for digest, message, path in composed:
        done_before = posted.get(digest.group.key, ())
        fresh = tuple(i for i in digest.incidents if key_of(i) not in done_before)
        if digest.group.webhook is not None and fresh:
            chat = digest_message(
                replace(digest, incidents=fresh), str(message["Subject"]), settings, run
            )
            todo.append((chat, path, None, None))
    maintainers = mail.groups.get(mail.maintainers) if mail.maintainers else None
    failures = failures_of(deliveries, mail.groups)
    if failures and maintainers is not None and maintainers.webhook is not None:
        fingerprint = failures_fingerprint(failures)
        if _due(last_told[0], fingerprint, run.finished_at, last_told[1]):
            first_failed = next(
                d.eml for d in deliveries if d.channel == "mail" and not d.delivered
            )
            notice = mail_failed_message(maintainers, failures, run)
            todo.append((notice, first_failed, None, fingerprint))
    done: list[Delivery] = []
    # A webhook that failed once in this run is not called again in it: the
    # posts after it are kept for the next run at once, so a channel that is
    # down costs one time-out per run, not one per post.
    down: dict[str, str] = {}
    for chat, path, earlier, told_of in todo:
        hook = chat.group.webhook
        assert hook is not None  # only groups with a webhook are in todo
        if hook.url in down:
            delivery = _failed_post(chat, path, f"not tried: {down[hook.url]}")
        else:
            delivery = _post(chat, path)
            if delivery.error is not None:
                down[hook.url] = f"the webhook failed earlier in this run ({hook.variable})"
        if delivery.status is DeliveryStatus.FAILED:
            delivery = replace(delivery, retry=pending_post(chat, path, earlier, run.finished_at))
        done.append(replace(delivery, told=told_of))
    return done


def _due(told: Told | None, fingerprint: str, now: datetime, remind_every_hours: float) -> bool:
    """Whether the maintainers' channel hears of failing mail in this run: when
    the failing groups or their reasons changed, and else every
    ``remind_every_hours`` (0: not again), so a mail held after a final refusal
    does not post the same words every run."""
    if told is None or told.fingerprint != fingerprint:
        return True
    return remind_every_hours > 0 and now - told.at >= timedelta(hours=remind_every_hours)


def pending_post(
    chat: ChatMessage, path: Path, kept: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """A post not taken, as the alert state keeps it: its words masked (the
    recorder's secrets and the webhook's own key), the group by its key, never
    the address; when it was first tried, so it is dropped after CHAT_PENDING_AGE."""
    hook = chat.group.webhook
    assert hook is not None
    return {
        "id": str(kept["id"]) if kept else uuid.uuid4().hex,
        "queued_at": str(kept["queued_at"]) if kept else now.isoformat(timespec="seconds"),
        "tries": int(kept["tries"]) + 1 if kept else 1,
        "eml": str(path),
        "message": chat.to_dict(lambda text: _masked(text, hook)),
    }


def post_chat(chat: ChatMessage, path: Path) -> Delivery:
    """``chat`` to its group's webhook, as a delivery: sent, or failed saying why."""
    return _post(chat, path)


def _failed_post(chat: ChatMessage, path: Path, error: str) -> Delivery:
    hook = chat.group.webhook
    assert hook is not None
    shown = RECORDER.redactor.text(error)[:CHANNEL_ERROR_LIMIT]
    return Delivery(
        chat.group.key,
        chat.group.addresses,
        chat.subject,
        path,
        DeliveryStatus.FAILED,
        shown,
        channel_name(hook),
    )


def _post(chat: ChatMessage, path: Path) -> Delivery:
    hook = chat.group.webhook
    assert hook is not None  # only groups with a webhook get a chat message
    group = chat.group
    try:
        post(hook, chat)
    except WebhookFailed as failure:
        return _failed_post(chat, path, str(failure))
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
    if not composed:
        return []
    outcome = send_each(smtp, [(digest.group.key, message) for digest, message, _ in composed])
    deliveries: list[Delivery] = []
    for digest, message, path in composed:
        error = outcome[digest.group.key]
        if error is None:
            deliveries.append(_record(digest, message, path, DeliveryStatus.SENT, None))
        else:
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
            then = "; kept, and the next run posts it again" if delivery.retry else ""
            lines.append(
                f"{delivery.channel}: NOT SENT to {delivery.group}: {delivery.error}" + then
            )
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

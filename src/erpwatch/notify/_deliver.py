"""One run's mails: compose every digest, keep each in the outbox, send when SMTP is set."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from .._vocabulary import DeliveryStatus
from ..capture import RECORDER
from ..config import Settings
from ._compose import compose
from ._model import Delivery, Digest, RunContext
from ._transport import MailDeliveryFailed, send, smtp_connection, write_eml


def outbox_of(settings: Settings) -> Path:
    return settings.reports_dir / "outbox"


def deliver(
    digests: Sequence[Digest], settings: Settings, run: RunContext, outbox: Path
) -> list[Delivery]:
    """Write every mail to the outbox first, so nothing is lost, then send them."""
    mail = settings.mail
    if mail is None or not digests:
        return []
    composed: list[tuple[Digest, EmailMessage, Path]] = []
    for digest in digests:
        message = compose(digest, settings, run)
        name = f"{run.run_id}-{digest.kind}-{digest.group.key}"
        composed.append((digest, message, write_eml(message, outbox, name)))

    def record(
        digest: Digest, message: EmailMessage, path: Path, status: DeliveryStatus, error: str | None
    ) -> Delivery:
        # A mail server's reply can echo what it was sent (the password in AUTH):
        # masked before it is stored or shown.
        shown = RECORDER.redactor.text(error) if error is not None else None
        return Delivery(
            digest.group.key, digest.group.addresses, str(message["Subject"]), path, status, shown
        )

    if mail.smtp is None:
        return [record(d, m, p, DeliveryStatus.OUTBOX, None) for d, m, p in composed]
    deliveries: list[Delivery] = []
    try:
        with smtp_connection(mail.smtp, messages=len(composed)) as client:
            for digest, message, path in composed:
                try:
                    send(client, message)
                except MailDeliveryFailed as error:
                    deliveries.append(
                        record(digest, message, path, DeliveryStatus.FAILED, str(error))
                    )
                else:
                    deliveries.append(record(digest, message, path, DeliveryStatus.SENT, None))
    except MailDeliveryFailed as error:
        done = {d.eml for d in deliveries}
        deliveries += [
            record(d, m, p, DeliveryStatus.FAILED, str(error))
            for d, m, p in composed
            if p not in done
        ]
    return deliveries


def summary_lines(deliveries: Sequence[Delivery], settings: Settings) -> list[str]:
    """What the terminal says about this run's mails."""
    if not deliveries:
        return []
    lines = []
    in_outbox = [d.group for d in deliveries if d.status is DeliveryStatus.OUTBOX]
    if in_outbox:
        lines.append(
            f"mail: no SMTP server configured (SMTP_HOST); {len(in_outbox)} digest(s) for "
            f"{', '.join(in_outbox)} written to {outbox_of(settings)}"
        )
    sent = [d.group for d in deliveries if d.status is DeliveryStatus.SENT]
    smtp = settings.mail.smtp if settings.mail else None
    if sent and smtp is not None:
        lines.append(
            f"mail: sent {len(sent)} digest(s) via {smtp.host}:{smtp.port} to {', '.join(sent)}"
        )
    for delivery in deliveries:
        if delivery.status is DeliveryStatus.FAILED:
            lines.append(
                f"mail: NOT SENT to {delivery.group}: {delivery.error}; kept in {delivery.eml}, "
                "and the next run sends it again"
            )
    return lines

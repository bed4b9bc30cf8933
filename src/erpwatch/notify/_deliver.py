"""One run's mails: compose every digest, keep each in the outbox, send when SMTP is set."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from ..config import Settings
from ..result import RunResult
from ._compose import compose
from ._model import Delivery, Digest, RunContext
from ._plan import incidents_of, plan_digests
from ._transport import MailDeliveryFailed, send, smtp_connection, write_eml


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
        digest: Digest, message: EmailMessage, path: Path, delivered: bool, error: str | None
    ) -> Delivery:
        return Delivery(
            group=digest.group.key,
            recipients=digest.group.addresses,
            subject=str(message["Subject"]),
            eml=path,
            delivered=delivered,
            error=error,
        )

    if mail.smtp is None:
        return [record(d, m, p, False, None) for d, m, p in composed]
    deliveries: list[Delivery] = []
    try:
        with smtp_connection(mail.smtp) as client:
            for digest, message, path in composed:
                try:
                    send(client, message)
                except MailDeliveryFailed as error:
                    deliveries.append(record(digest, message, path, False, str(error)))
                else:
                    deliveries.append(record(digest, message, path, True, None))
    except MailDeliveryFailed as error:
        sent = {d.eml for d in deliveries}
        deliveries += [record(d, m, p, False, str(error)) for d, m, p in composed if p not in sent]
    return deliveries


def notify_run(
    run: RunResult, settings: Settings, report_path: Path | None, now: datetime
) -> list[Delivery]:
    """Mail the right groups about this run's failures; the outbox keeps every mail."""
    mail = settings.mail
    if mail is None or not mail.groups:
        return []
    digests = plan_digests(incidents_of(run, now), mail)
    context = RunContext(
        run_id=run.run_id, run_url=run.run_url, report_path=report_path, finished_at=now
    )
    return deliver(digests, settings, context, outbox_of(settings))


def outbox_of(settings: Settings) -> Path:
    return settings.reports_dir / "outbox"


def summary_lines(deliveries: Sequence[Delivery], settings: Settings) -> list[str]:
    """What the terminal says about this run's mails."""
    if not deliveries:
        return []
    groups = ", ".join(d.group for d in deliveries)
    outbox = outbox_of(settings)
    smtp = settings.mail.smtp if settings.mail else None
    if smtp is None:
        return [
            f"mail: no SMTP server configured (SMTP_HOST); {len(deliveries)} digest(s) for {groups} "
            f"written to {outbox}"
        ]
    failed = [d for d in deliveries if not d.delivered]
    lines = []
    sent = [d.group for d in deliveries if d.delivered]
    if sent:
        lines.append(
            f"mail: sent {len(sent)} digest(s) via {smtp.host}:{smtp.port} to {', '.join(sent)}"
        )
    for delivery in failed:
        lines.append(
            f"mail: NOT SENT to {delivery.group}: {delivery.error}; kept in {delivery.eml} "
            "and marked undelivered in the run result"
        )
    return lines

"""Getting mail out: the outbox (always) and SMTP (when configured)."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from .._http import deadline_passed, register_socket, watched
from ..config import SmtpSettings


class MailDeliveryFailed(Exception):
    """SMTP did not take the mail; the message says why in one line. Whatever the
    cause, the alert lifecycle keeps a digest that was not taken and the next run
    sends it again."""


def write_eml(message: EmailMessage, outbox: Path, name: str) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{name}.eml"
    path.write_bytes(message.as_bytes())
    return path


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.ca_file:
        context.load_verify_locations(cafile=settings.ca_file)
    return context


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH PLAIN in UTF-8 (RFC 4616) when the server offers it: smtplib's own
    login encodes credentials as ASCII and fails on a password like 'pässword'."""
    mechanisms = client.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in mechanisms:
        try:
            client.login(username, password)
        except UnicodeEncodeError:
            raise MailDeliveryFailed(
                "SMTP_USERNAME or SMTP_PASSWORD has non-ASCII characters and the mail server "
                "does not offer AUTH PLAIN, the only login that carries them"
            ) from None
        return
    token = base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode()).decode("ascii")
    code, answer = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


class _WatchedSMTP(smtplib.SMTP):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        register_socket(sock)  # the session's deadline covers it, TLS included
        return sock


class _WatchedSMTPSSL(smtplib.SMTP_SSL, _WatchedSMTP):
    """SMTP_SSL wraps the socket _WatchedSMTP registered: the handshake is bounded too."""


def session_deadline(settings: SmtpSettings, messages: int) -> float:
    """How long one SMTP session may take in all: SMTP_TIMEOUT to connect and log
    in, and SMTP_TIMEOUT more for each mail."""
    return settings.timeout * (1 + max(1, messages))


@contextmanager
def smtp_connection(settings: SmtpSettings, *, messages: int = 1) -> Iterator[smtplib.SMTP]:
    """A logged-in SMTP session that ends by `session_deadline` whatever the server
    does (a server answering a byte a second never trips a per-answer time-out);
    every failure becomes a MailDeliveryFailed that says why."""
    where = f"{settings.host}:{settings.port}"
    limit = session_deadline(settings, messages)
    late = MailDeliveryFailed(
        f"the mail server {where} did not finish the session within {limit:g} s "
        f"(SMTP_TIMEOUT {settings.timeout:g} s to log in and per mail); it was ended"
    )
    with watched(limit) as watch:
        try:
            with _session(settings, where) as client:
                yield client
        except MailDeliveryFailed:
            if watch.fired:
                raise late from None
            raise
        if watch.fired:
            raise late


@contextmanager
def _session(settings: SmtpSettings, where: str) -> Iterator[smtplib.SMTP]:
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = _WatchedSMTPSSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=_tls_context(settings),
            )
        else:
            client = _WatchedSMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=_tls_context(settings))
                client.ehlo()
            if settings.username and settings.password:
                _login(client, settings.username, settings.password)
            yield client
    except smtplib.SMTPAuthenticationError as error:
        raise MailDeliveryFailed(
            f"the mail server {where} refused the login of SMTP_USERNAME ({error.smtp_code})"
        ) from None
    except smtplib.SMTPNotSupportedError as error:
        raise MailDeliveryFailed(
            f"the mail server {where} does not support this: {error}"
        ) from None
    except ssl.SSLError as error:
        raise MailDeliveryFailed(
            f"TLS with the mail server {where} failed: {error.reason or error} (check SMTP_SECURITY and SMTP_CA_FILE)"
        ) from None
    except TimeoutError:
        raise MailDeliveryFailed(
            f"the mail server {where} did not answer in {settings.timeout:g} s"
        ) from None
    except (ConnectionError, OSError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise MailDeliveryFailed(f"cannot reach the mail server {where}: {reason}") from None
    except smtplib.SMTPException as error:
        raise MailDeliveryFailed(f"the mail server {where} failed: {error}") from None


def send(client: smtplib.SMTP, message: EmailMessage) -> None:
    try:
        refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        addresses = ", ".join(error.recipients)
        raise MailDeliveryFailed(f"the mail server refused every recipient: {addresses}") from None
    except smtplib.SMTPException as error:
        if deadline_passed():
            raise MailDeliveryFailed(
                "the mail server did not take the mail before the session's deadline "
                "(SMTP_TIMEOUT per mail); the session was ended"
            ) from None
        raise MailDeliveryFailed(f"the mail server did not take the mail: {error}") from None
    if refused:
        raise MailDeliveryFailed(f"the mail server refused some recipients: {', '.join(refused)}")

"""Getting mail out: the outbox (always) and SMTP (when configured)."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from .._http import deadline_passed, register_socket, watched
from ..config import SmtpSettings


class MailDeliveryFailed(Exception):
    """SMTP did not take the mail; the message says why and what to change, in one
    line. The alert lifecycle keeps a digest that was not taken; a transient failure
    (no answer, connection refused) is tried again by the next run, a ``permanent``
    one (a refused login, a TLS set-up that cannot work, refused recipients) only
    once the settings it names have changed."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


SECURITY_HINT = "SMTP_SECURITY is starttls (port 587), tls (port 465) or none (port 25)"


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
        try:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=_tls_context(settings))
                client.ehlo()
            if settings.username and settings.password:
                _login(client, settings.username, settings.password)
            yield client
        except BaseException:
            # Cut short (an error, a signal, the deadline): hang up without QUIT.
            # smtplib's own exit says QUIT and waits SMTP_TIMEOUT for the answer of
            # a server that may have stopped answering, holding the run that long.
            client.close()
            raise
        _goodbye(client)
    except smtplib.SMTPAuthenticationError as error:
        raise MailDeliveryFailed(
            f"the mail server {where} refused the login of SMTP_USERNAME ({error.smtp_code}): "
            "check SMTP_USERNAME and SMTP_PASSWORD",
            # 5xx is final by SMTP's rules; 454 is the server's own trouble.
            permanent=error.smtp_code >= 500,
        ) from None
    except smtplib.SMTPNotSupportedError as error:
        raise MailDeliveryFailed(_unsupported(str(error), where), permanent=True) from None
    except ssl.SSLCertVerificationError as error:
        raise MailDeliveryFailed(
            f"the certificate of the mail server {where} is not trusted "
            f"({error.verify_message or error.reason}): set SMTP_CA_FILE to the CA that "
            "signed it, or SMTP_HOST to the name on it",
            permanent=True,
        ) from None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as error:
        # The connection ended during the handshake: the network's doing, not a setting.
        raise MailDeliveryFailed(
            f"the mail server {where} closed the connection during TLS ({error.reason or error})"
        ) from None
    except ssl.SSLError as error:
        raise MailDeliveryFailed(
            f"TLS with the mail server {where} failed ({error.reason or error}): "
            f"check SMTP_SECURITY and SMTP_PORT ({SECURITY_HINT})",
            permanent=True,
        ) from None
    except TimeoutError:
        raise MailDeliveryFailed(
            f"the mail server {where} did not answer in {settings.timeout:g} s: "
            "check SMTP_HOST and SMTP_PORT, or raise SMTP_TIMEOUT"
        ) from None
    except socket.gaierror as error:
        # Not permanent: a name server can be down for a while too.
        raise MailDeliveryFailed(
            f"the mail server name {settings.host!r} is not known ({error.strerror}): "
            "check SMTP_HOST"
        ) from None
    except (ConnectionError, OSError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise MailDeliveryFailed(
            f"cannot reach the mail server {where}: {reason}: check SMTP_HOST and SMTP_PORT"
        ) from None
    except smtplib.SMTPException as error:
        raise MailDeliveryFailed(f"the mail server {where} failed: {error}") from None


def _goodbye(client: smtplib.SMTP) -> None:
    """QUIT after the mails went: a server that hangs up first changes nothing."""
    try:
        client.quit()
    except smtplib.SMTPServerDisconnected:
        pass
    finally:
        client.close()


def _unsupported(what: str, where: str) -> str:
    """What to change when the server lacks an extension the settings need."""
    if "STARTTLS" in what.upper():
        return (
            f"the mail server {where} does not offer STARTTLS: set SMTP_SECURITY=tls if it "
            "expects TLS from the first byte, or none for a relay on a trusted network "
            f"({SECURITY_HINT})"
        )
    if "AUTH" in what.upper():
        return (
            f"the mail server {where} offers no login on this connection: use "
            "SMTP_SECURITY=starttls or tls (many servers offer login only over TLS), or "
            "unset SMTP_USERNAME and SMTP_PASSWORD for a relay that needs none"
        )
    return f"the mail server {where} does not support this: {what}"


def _refusals(refused: dict[str, tuple[int, bytes]]) -> tuple[str, bool]:
    """The refused addresses with the server's code, and whether every refusal is final."""
    shown = ", ".join(
        f"{address} ({code} {answer.decode('utf-8', 'replace').strip()})"
        for address, (code, answer) in refused.items()
    )
    return shown, all(code >= 500 for code, _ in refused.values())


def send(client: smtplib.SMTP, message: EmailMessage, group: str | None = None) -> None:
    """One mail on an open session; ``group`` names whose addresses a refusal is about."""
    addresses = f"the addresses of group {group} in erpwatch.toml" if group else "the addresses"
    try:
        refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        shown, final = _refusals(error.recipients)
        raise MailDeliveryFailed(
            f"the mail server refused every recipient: {shown}: check {addresses}",
            permanent=final,
        ) from None
    except smtplib.SMTPSenderRefused as error:
        raise MailDeliveryFailed(
            f"the mail server refused the sender {error.sender} ({error.smtp_code}): "
            "check MAIL_FROM (the server may only take its own domain or SMTP_USERNAME)",
            permanent=error.smtp_code >= 500,
        ) from None
    except smtplib.SMTPException as error:
        if deadline_passed():
            raise MailDeliveryFailed(
                "the mail server did not take the mail before the session's deadline "
                "(SMTP_TIMEOUT per mail); the session was ended"
            ) from None
        raise MailDeliveryFailed(f"the mail server did not take the mail: {error}") from None
    if refused:
        shown, final = _refusals(refused)
        raise MailDeliveryFailed(
            f"the mail server refused some recipients: {shown}: check {addresses}",
            permanent=final,
        )


def send_each(
    settings: SmtpSettings, messages: Sequence[tuple[str, EmailMessage]]
) -> dict[str, MailDeliveryFailed | None]:
    """Each ``(group, message)`` through one session: group → None when sent, or
    why not (a session that could not start, or broke, fails the ones left)."""
    outcome: dict[str, MailDeliveryFailed | None] = {}
    try:
        with smtp_connection(settings, messages=len(messages)) as client:
            for group, message in messages:
                try:
                    send(client, message, group)
                except MailDeliveryFailed as error:
                    outcome[group] = error
                else:
                    outcome[group] = None
    except MailDeliveryFailed as error:
        for group, _ in messages:
            outcome.setdefault(group, error)
    return outcome

"""A real SMTP server on loopback (aiosmtpd), with optional STARTTLS, TLS and AUTH,
that keeps what it receives, parsed back into messages."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USERNAME = "erpwatch"
PASSWORD = "smtp-pässword-42"


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = BytesParser(policy=policy.default).parsebytes(content)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def for_address(self, address: str) -> list[EmailMessage]:
        return [
            m for m, rcpts in zip(self.messages, self.recipients, strict=True) if address in rcpts
        ]


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    # handled=False: let the server answer 535 itself on a refused login.
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningSmtp:
    controller: Controller
    inbox: Inbox
    port: int
    env: dict[str, str]

    def stop(self) -> None:
        self.controller.stop()


def start_smtp(tmp_path: Path, security: str = "none", auth: bool = False) -> RunningSmtp:
    """security: none, starttls (required) or tls (implicit)."""
    inbox = Inbox()
    port = free_port()
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": security}
    kwargs: dict[str, Any] = {}
    if security != "none":
        ca = trustme.CA()
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
        ca_file = tmp_path / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        env["SMTP_CA_FILE"] = str(ca_file)
        if security == "starttls":
            kwargs.update(tls_context=server_context, require_starttls=True)
        else:
            kwargs.update(ssl_context=server_context)
    if auth:
        # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS is TLS all along.
        kwargs.update(
            authenticator=_authenticate, auth_required=True, auth_require_tls=security == "starttls"
        )
        env.update(SMTP_USERNAME=USERNAME, SMTP_PASSWORD=PASSWORD)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return RunningSmtp(controller, inbox, port, env)


def text_of(message: EmailMessage) -> str:
    """The plain-text part of a received mail."""
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def html_of(message: EmailMessage) -> str:
    """The HTML part of a received mail."""
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())

"""A hostile ERP, payment provider and mail server on loopback that echo back
every secret they were sent, in every form other programs write it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from werkzeug.wrappers import Request, Response

from .loopback import Loopback, serve
from .smtp_server import free_port


def echoed_forms(secret: str, user: str) -> list[str]:
    """How other programs quote a value back: raw, JSON-escaped (Python, PHP),
    URL-encoded both ways, Python repr, base64 of ``user:secret`` (Basic auth)
    and of ``\\0user\\0secret`` (SMTP AUTH PLAIN)."""
    return [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        quote(secret, safe=""),
        quote_plus(secret),
        repr(secret),
        base64.b64encode(f"{user}:{secret}".encode()).decode(),
        base64.b64encode(f"\0{user}\0{secret}".encode()).decode(),
    ]


def _php_json(document: Any) -> str:
    """JSON as PHP's json_encode writes it: non-ASCII as \\u00e4, / as \\/."""
    return json.dumps(document).replace("/", "\\/")


@dataclass
class HostileParty:
    """What the hostile servers know: the secrets they echo and the token they hand out."""

    client_id: str
    client_secret: str
    access_token: str
    token_answer: str = "json"  # json | form-as-text | truncated-json
    extra: list[str] = field(default_factory=list)  # further secrets to echo (the PSP key)

    def echo(self, request: Request) -> list[str]:
        heard = [self.client_secret, *self.extra]
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            heard.append(authorization.removeprefix("Bearer "))
        return [form for secret in heard for form in echoed_forms(secret, self.client_id)]

    def answer(self, request: Request) -> Response:
        if request.path == "/token":
            return self._token()
        forms = self.echo(request)
        if "/items" in request.path and request.method in ("POST", "GET"):
            # A record that can be made and read, then not removed: a LEFTOVER.
            item = {"id": "0b5e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "@odata.etag": 'W/"1"'}
            return Response(json.dumps(item), status=201 if request.method == "POST" else 200,
                            content_type="application/json")  # fmt: skip
        if request.method == "POST":  # an OData error, as PHP would escape it
            odata = {"error": {"code": "BadRequest", "message": "refused: " + " | ".join(forms)}}
            return Response(_php_json(odata), status=400, content_type="application/json")
        if request.path.startswith("/v2/"):  # a Mollie problem JSON, as Python escapes it
            problem = {"status": 422, "title": "Unprocessable Entity", "detail": " | ".join(forms)}
            return Response(json.dumps(problem), status=422, content_type="application/hal+json")
        # Plain text, forms as they are, control characters and all.
        return Response("failure: " + " | ".join(forms), status=500, content_type="text/plain")

    def _token(self) -> Response:
        if self.token_answer == "form-as-text":
            body = f"access_token={quote_plus(self.access_token)}&expires_in=3599"
            return Response(body, content_type="text/plain")
        document = json.dumps({"access_token": self.access_token, "expires_in": 3599})
        if self.token_answer == "truncated-json":
            return Response(document[:-8], content_type="application/json")
        return Response(document, content_type="application/json")


@contextmanager
def hostile_erp(party: HostileParty) -> Iterator[Loopback]:
    with serve(party.answer) as server:
        yield server


class _EchoingInbox:
    """Takes any login, then refuses every mail quoting the password back."""

    def __init__(self, username: str, password: str) -> None:
        self.reply = " | ".join(
            form
            for form in echoed_forms(password, username)
            if "\n" not in form and "\r" not in form
        )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return f"451 4.3.0 temporarily refused for {self.reply}"


def _any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    return AuthResult(success=True)


@dataclass
class HostileSmtp:
    controller: Controller
    env: dict[str, str]


@contextmanager
def hostile_smtp(username: str, password: str) -> Iterator[HostileSmtp]:
    port = free_port()
    controller = Controller(
        _EchoingInbox(username, password),
        hostname="127.0.0.1",
        port=port,
        authenticator=_any_login,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "SMTP_USERNAME": username,
        "SMTP_PASSWORD": password,
    }
    try:
        yield HostileSmtp(controller, env)
    finally:
        controller.stop()

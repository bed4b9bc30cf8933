"""Tryton JSON-RPC: every answer is HTTP 200, errors included, as
``{"id": …, "error": ["UserError", ["message", "description", domain]]}``;
a crash is ``[str(exception), traceback]``. Only a missing or ended session
(401, ``WWW-Authenticate: Basic realm="Tryton"``) and a method Tryton does not
expose over RPC (403) change the status.

Access errors are UserErrors too; their messages (Tryton's ``ir.msg_*_error``
catalogue, in English because erpwatch asks for English) tell them apart.
"""

from __future__ import annotations

import re
from typing import Any

from ..._vocabulary import ErpErrorKind
from . import generic
from ._base import Answer, ErpError, text_or_none

# Tryton's exception classes that come back as ["Name", [args…]].
EXCEPTIONS = frozenset(
    {
        "UserError",
        "UserWarning",
        "LoginException",
        "ConcurrencyException",
        "RateLimitException",
        "TimeOutException",
        "MissingDependenciesException",
    }
)
_KIND_OF_CLASS: dict[str, ErpErrorKind | None] = {
    "UserError": ErpErrorKind.VALIDATION,
    "UserWarning": ErpErrorKind.VALIDATION,
    "LoginException": ErpErrorKind.SESSION,
    "ConcurrencyException": ErpErrorKind.CONFLICT,
    "RateLimitException": ErpErrorKind.RATE_LIMITED,
    "TimeOutException": ErpErrorKind.SERVER,
    "MissingDependenciesException": ErpErrorKind.SERVER,
}
_ACCESS_MESSAGE = re.compile(r"^(You are not allowed to|Calling button\b)")
# A record that is gone: read back after a create, that is a silent failure.
MISSING_MESSAGE = re.compile(r"^You are trying to \w+( to)? records .* that don't exist")
_RPC_METHOD = re.compile(r"^(common|model|wizard|report)\.[\w.]+$")


def error_text(error: Any) -> tuple[str | None, str | None, str | None]:
    """Tryton's exception class, message and description from an answer's ``error``."""
    if not isinstance(error, list) or not error or not isinstance(error[0], str):
        return None, None, None
    name = error[0]
    args = error[1] if len(error) > 1 else None
    if name not in EXCEPTIONS:
        # A crash on the server: [str(exception), traceback]. The traceback's last line
        # names the exception ("KeyError: 'country'"); the rest stays on the server.
        last_line = args.strip().splitlines()[-1] if isinstance(args, str) and args.strip() else ""
        return "server error", text_or_none(last_line) or text_or_none(name), None
    texts: list[Any] = list(args) if isinstance(args, list) else [args]
    if name == "UserWarning":
        texts = texts[1:]  # the first is the warning's key, not for people
    strings = [text_or_none(text) for text in texts if isinstance(text, str)]
    message = strings[0] if strings else None
    detail = strings[1] if len(strings) > 1 else None
    return name, message, detail


def decode(answer: Answer) -> ErpError | None:
    body = answer.json
    if isinstance(body, dict) and "error" in body and isinstance(body["error"], list):
        name, message, detail = error_text(body["error"])
        if name is None:
            return None
        kind = _KIND_OF_CLASS.get(name, ErpErrorKind.SERVER)
        if name == "UserError" and message and _ACCESS_MESSAGE.match(message):
            kind = ErpErrorKind.ACCESS
        elif name == "UserError" and message and MISSING_MESSAGE.match(message):
            kind = ErpErrorKind.MISSING_RECORD
        return ErpError(
            dialect="Tryton",
            code=name,
            message=message or name,
            detail=detail,
            inside_success=answer.ok,
            kind=kind,
        )
    return _refused(answer)


def _refused(answer: Answer) -> ErpError | None:
    """A 401 or 403 from Tryton's RPC address, which has no JSON body."""
    exchange = answer.exchange
    challenge = answer.header("WWW-Authenticate")
    rpc_call = exchange.url.rstrip("/").endswith("/rpc") and bool(
        _RPC_METHOD.match(exchange.name or "")
    )
    if not (rpc_call or 'realm="tryton"' in challenge.lower()):
        return None
    if answer.status == 401:
        login = exchange.name == "common.db.login"
        return ErpError(
            dialect="Tryton",
            code="401",
            message=_page_text(answer)
            or (f"HTTP 401 with WWW-Authenticate: {challenge}" if challenge else "HTTP 401"),
            kind=ErpErrorKind.LOGIN if login else ErpErrorKind.SESSION,
        )
    if answer.status == 403 and rpc_call:
        return ErpError(
            dialect="Tryton", code="403", message=_page_text(answer), kind=ErpErrorKind.UNKNOWN_CALL
        )
    return None


def _page_text(answer: Answer) -> str | None:
    page = generic.decode_html(answer)
    return page.message if page is not None else text_or_none(answer.text)

"""How each fault kind changes an answer. One function per kind, chosen by name."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from .bc_schema import ENTITY_SETS
from .business_central import BcError
from .faults import Fault, FaultKind

if TYPE_CHECKING:
    from .app import SandboxApp

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Hit:
    """A request a fault hits, with what the behaviours need to know about it."""

    app: SandboxApp
    request: Request
    fault: Fault
    handler: Handler
    target: str
    company_id: str | None

    def answer(self) -> Response:
        return self.handler(self.request)

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.get_data(as_text=True) or "{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}


def _drop_connection(hit: Hit) -> Response:
    # Linger 0 turns the close into a reset; shutting the socket down ends
    # Werkzeug's keep-alive loop, and it takes the ConnectionError from the
    # app as a dropped connection, so it answers nothing.
    connection = hit.request.environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError("sandbox fault: connection reset")


def timeout(hit: Hit) -> Response:
    hit.app.stopping.wait(hit.fault.delay)
    return _drop_connection(hit)


def reset(hit: Hit) -> Response:
    return _drop_connection(hit)


def slow(hit: Hit) -> Response:
    hit.app.stopping.wait(hit.fault.delay)
    return hit.answer()


def expired_token(hit: Hit) -> Response:
    if hit.target == "token":
        return hit.answer()
    raise BcError(
        401, "Authentication_InvalidCredentials", "The server has rejected the client credentials."
    )


def throttle(hit: Hit) -> Response:
    response = hit.app.error(
        429,
        "Application_TooManyRequests",
        "The request was throttled because too many requests were received. "
        "Please wait before sending another request.",
    )
    response.headers["Retry-After"] = str(hit.fault.retry_after)
    return response


def unavailable(hit: Hit) -> Response:
    raise BcError(
        503,
        "Application_ServiceUnavailable",
        "The service is temporarily unavailable. Please try again later.",
    )


MAINTENANCE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Scheduled maintenance</title></head>
<body><h1>Business Central is being updated</h1>
<p>The service will be back shortly. We apologise for the inconvenience.</p></body></html>
"""


def maintenance_page(hit: Hit) -> Response:
    return Response(MAINTENANCE_PAGE, status=200, content_type="text/html; charset=utf-8")


def vat_required(hit: Hit) -> Response:
    if hit.request.method == "POST" and hit.company_id is not None:
        number = hit.app.erp.customer_without_vat(hit.company_id, hit.target, hit.json_body())
        if number is not None:
            raise BcError(
                400,
                "Application_FieldValidationException",
                f"VAT Registration No. must have a value in Customer: No.={number}. It cannot be zero or empty.",
            )
    return hit.answer()


def _rename(payload: Any, old: str, new: str | None) -> Any:
    """Rename (or, with ``new`` None, drop) a property in entities and collections."""
    if isinstance(payload, list):
        return [_rename(item, old, new) for item in payload]
    if not isinstance(payload, dict):
        return payload
    renamed = {}
    for key, value in payload.items():
        if key == old:
            if new is not None:
                renamed[new] = value
            continue
        renamed[key] = _rename(value, old, new)
    return renamed


def _rewrite_json(response: Response, change: Callable[[Any], Any]) -> Response:
    if not (response.content_type or "").startswith("application/json"):
        return response
    response.set_data(
        json.dumps(change(json.loads(response.get_data(as_text=True))), ensure_ascii=False)
    )
    return response


def renamed_on_read(hit: Hit) -> Response:
    fault = hit.fault
    return _rewrite_json(
        hit.answer(), lambda payload: _rename(payload, fault.field, fault.renamed_to)
    )


def unknown_on_write(hit: Hit) -> Response:
    fault = hit.fault
    if hit.request.method in ("POST", "PATCH") and fault.field in hit.json_body():
        type_name = ENTITY_SETS[hit.target].type_name if hit.target in ENTITY_SETS else "entity"
        raise BcError(
            400,
            "BadRequest",
            f"The property '{fault.field}' does not exist on type 'Microsoft.NAV.{type_name}'. "
            "Make sure to only use property names that are defined by the type.",
        )
    return _rewrite_json(hit.answer(), lambda payload: _rename(payload, fault.field, None))


_TABLES = {"customers": "Customer", "salesOrders": "Sales Header", "salesInvoices": "Sales Header"}


def duplicate(hit: Hit) -> Response:
    if hit.request.method != "POST":
        return hit.answer()
    table = _TABLES.get(hit.target, hit.target)
    raise BcError(
        409,
        "Internal_EntityWithSameKeyExists",
        f"The record in table {table} already exists. Identification fields and values: No.='{hit.target.upper()[:4]}1001'",
    )


def not_persisted(hit: Hit) -> Response:
    response = hit.answer()
    if hit.request.method == "POST" and response.status_code == 201 and hit.company_id is not None:
        created = json.loads(response.get_data(as_text=True))
        hit.app.erp.forget(hit.company_id, hit.target, created["id"])
    return response


def cryptic_500(hit: Hit) -> Response:
    return Response(
        "Internal error 0x8007000E (E_OUTOFMEMORY) in NavServiceTier. Contact your system administrator.",
        status=500,
        content_type="text/plain; charset=utf-8",
    )


def _xml(value: Any, name: str) -> str:
    tag = "".join(c if c.isalnum() else "_" for c in name) or "item"
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_xml(v, k) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, list):
        return f"<{tag}>" + "".join(_xml(v, "element") for v in value) + f"</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def wrong_content_type(hit: Hit) -> Response:
    response = hit.answer()
    if not (response.content_type or "").startswith("application/json"):
        return response
    payload = json.loads(response.get_data(as_text=True))
    body = '<?xml version="1.0" encoding="utf-8"?>' + _xml(payload, "entry")
    return Response(
        body, status=response.status_code, content_type="application/xml; charset=utf-8"
    )


BEHAVIOURS: dict[FaultKind, Callable[[Hit], Response]] = {
    FaultKind.TIMEOUT: timeout,
    FaultKind.RESET: reset,
    FaultKind.SLOW: slow,
    FaultKind.EXPIRED_TOKEN: expired_token,
    FaultKind.THROTTLE: throttle,
    FaultKind.UNAVAILABLE: unavailable,
    FaultKind.MAINTENANCE_PAGE: maintenance_page,
    FaultKind.VAT_REQUIRED: vat_required,
    FaultKind.RENAMED_ON_READ: renamed_on_read,
    FaultKind.UNKNOWN_ON_WRITE: unknown_on_write,
    FaultKind.DUPLICATE: duplicate,
    FaultKind.NOT_PERSISTED: not_persisted,
    FaultKind.CRYPTIC_500: cryptic_500,
    FaultKind.WRONG_CONTENT_TYPE: wrong_content_type,
}

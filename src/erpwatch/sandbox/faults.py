"""Faults the sandbox can be told to inject, so anyone can see what an alert looks like.

A fault names a kind, the endpoint it hits (an entity set such as
``salesOrders``, ``token`` for the token endpoint, or ``*``), optionally an
HTTP method, how many requests it affects (all, until cleared, by default),
and options of its kind (``delay``, ``retry_after``, ``field``, ``renamed_to``).
"""

from __future__ import annotations

import itertools
import textwrap
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from .bc_schema import ENTITY_SETS


class FaultKind(StrEnum):
    """What a fault does; the words of the command line and of ``/_sandbox/faults``."""

    TIMEOUT = "timeout"
    RESET = "reset"
    SLOW = "slow"
    EXPIRED_TOKEN = "expired_token"
    THROTTLE = "throttle"
    UNAVAILABLE = "unavailable"
    MAINTENANCE_PAGE = "maintenance_page"
    VAT_REQUIRED = "vat_required"
    RENAMED_ON_READ = "renamed_on_read"
    UNKNOWN_ON_WRITE = "unknown_on_write"
    DUPLICATE = "duplicate"
    NOT_PERSISTED = "not_persisted"
    CRYPTIC_500 = "cryptic_500"
    WRONG_CONTENT_TYPE = "wrong_content_type"
    WEBHOOK_LOST = "webhook_lost"
    WEBHOOK_LATE = "webhook_late"
    PAYMENT_UPDATE_REJECTED = "payment_update_rejected"
    PAID_BUT_FAILED = "paid_but_failed"
    CHARGED_BACK = "charged_back"
    WEBHOOK_BROKEN = "webhook_broken"
    SHARED_SECRET_REJECTED = "shared_secret_rejected"
    NO_BUYER_COOKIE = "no_buyer_cookie"
    NO_START_PAGE = "no_start_page"
    START_PAGE_EXPIRED = "start_page_expired"
    START_PAGE_ERROR = "start_page_error"
    MALFORMED_CXML = "malformed_cxml"
    ORDER_NOT_IN_ERP = "order_not_in_erp"
    OCI_DECIMAL_COMMA = "oci_decimal_comma"
    OCI_UNIT_NOT_ISO = "oci_unit_not_iso"
    OCI_NO_CURRENCY = "oci_no_currency"


# kind -> what it does; the app module implements each one.
KINDS: dict[FaultKind, str] = {
    FaultKind.TIMEOUT: "no answer: the request is held for `delay` seconds (default 120), then the connection drops",
    FaultKind.RESET: "the connection is reset without an answer",
    FaultKind.SLOW: "the right answer, after `delay` seconds (default 3)",
    FaultKind.EXPIRED_TOKEN: "401 Authentication_InvalidCredentials although the token is valid",
    FaultKind.THROTTLE: "429 Application_TooManyRequests with Retry-After (`retry_after`, default 5)",
    FaultKind.UNAVAILABLE: "503 Application_ServiceUnavailable",
    FaultKind.MAINTENANCE_PAGE: "200 with an HTML maintenance page instead of JSON",
    FaultKind.VAT_REQUIRED: "a stricter rule: customers without a VAT number (and their orders) are refused",
    FaultKind.RENAMED_ON_READ: "schema drift: `field` is called `renamed_to` in answers",
    FaultKind.UNKNOWN_ON_WRITE: "schema drift: `field` no longer exists, writes that send it are refused",
    FaultKind.DUPLICATE: "409 Internal_EntityWithSameKeyExists on create",
    FaultKind.NOT_PERSISTED: "a create is answered 201 but nothing is stored",
    FaultKind.CRYPTIC_500: "500 with a cryptic plain-text body",
    FaultKind.WRONG_CONTENT_TYPE: "the answer comes as XML (Content-Type application/xml) instead of JSON",
    # The payment provider and the shop's payment integration.
    FaultKind.WEBHOOK_LOST: "the payment provider sends no webhooks",
    FaultKind.WEBHOOK_LATE: "webhooks arrive `delay` seconds late (default 10)",
    FaultKind.PAYMENT_UPDATE_REJECTED: "the ERP refuses the shop's payment update: invoices stay open",
    FaultKind.PAID_BUT_FAILED: "seeds invoices marked paid whose payment failed or expired",
    FaultKind.CHARGED_BACK: "seeds invoices marked paid whose payment was charged back (one chargeback reversed)",
    FaultKind.WEBHOOK_BROKEN: "the shop's webhook endpoint answers 500 to every notification",
    # The punchout shop (cXML and OCI).
    FaultKind.SHARED_SECRET_REJECTED: "cXML Status 401 inside HTTP 200: the SharedSecret is refused",
    FaultKind.NO_BUYER_COOKIE: "cXML Status 400: the shop says the BuyerCookie is missing",
    FaultKind.NO_START_PAGE: "the PunchOutSetupResponse has no StartPage",
    FaultKind.START_PAGE_EXPIRED: "the StartPage answers 410: session expired",
    FaultKind.START_PAGE_ERROR: "the StartPage answers 500",
    FaultKind.MALFORMED_CXML: "the setup answer is not well-formed XML",
    FaultKind.ORDER_NOT_IN_ERP: "an OrderRequest is answered 200 OK but no ERP order is made",
    FaultKind.OCI_DECIMAL_COMMA: "the OCI price comes with a decimal comma (1.000,80)",
    FaultKind.OCI_UNIT_NOT_ISO: "the OCI unit is not an ISO code (Stück)",
    FaultKind.OCI_NO_CURRENCY: "the OCI transfer has no currency",
}
# Kinds that change how the shop behaves, asked for by name; every other kind
# changes the ERP's answer to a request that matches its target and method.
SHOP_KINDS = frozenset(
    {
        FaultKind.WEBHOOK_LOST,
        FaultKind.WEBHOOK_LATE,
        FaultKind.PAYMENT_UPDATE_REJECTED,
        FaultKind.PAID_BUT_FAILED,
    }
    | {FaultKind.CHARGED_BACK, FaultKind.WEBHOOK_BROKEN}
    | {
        FaultKind.SHARED_SECRET_REJECTED,
        FaultKind.NO_BUYER_COOKIE,
        FaultKind.NO_START_PAGE,
        FaultKind.START_PAGE_EXPIRED,
    }
    | {FaultKind.START_PAGE_ERROR, FaultKind.MALFORMED_CXML, FaultKind.ORDER_NOT_IN_ERP}
    | {FaultKind.OCI_DECIMAL_COMMA, FaultKind.OCI_UNIT_NOT_ISO, FaultKind.OCI_NO_CURRENCY}
)
REQUEST_KINDS = frozenset(KINDS) - SHOP_KINDS

# Drift needs a field; these are the ones the reference monitors rely on.
DEFAULT_DRIFT_FIELDS = {
    "salesOrders": "externalDocumentNumber",
    "customers": "taxRegistrationNumber",
}
DEFAULT_DELAYS = {FaultKind.TIMEOUT: 120.0, FaultKind.SLOW: 3.0, FaultKind.WEBHOOK_LATE: 10.0}
_OPTIONS = {"kind", "target", "method", "times", "retry_after", "delay", "field", "renamed_to"}

# What a request fault can hit: the names the sandbox gives a request (app.py).
# A fault on any other name would be accepted and never fire: refused instead.
TARGETS = ("*", "token", "companies", *ENTITY_SETS)
METHODS = ("*", "GET", "POST", "PATCH", "PUT", "DELETE")
# The options each kind reads besides kind, target, method and times; any other
# option would be ignored silently, so it is refused.
KIND_OPTIONS: dict[FaultKind, tuple[str, ...]] = {
    FaultKind.TIMEOUT: ("delay",),
    FaultKind.SLOW: ("delay",),
    FaultKind.WEBHOOK_LATE: ("delay",),
    FaultKind.THROTTLE: ("retry_after",),
    FaultKind.RENAMED_ON_READ: ("field", "renamed_to"),
    FaultKind.UNKNOWN_ON_WRITE: ("field",),
}
# Kinds that act only on some targets (vat_required: creates of customers and orders).
KIND_TARGETS: dict[FaultKind, tuple[str, ...]] = {
    FaultKind.VAT_REQUIRED: ("*", "customers", "salesOrders", "salesInvoices"),
}


def options_of(kind: FaultKind) -> tuple[str, ...]:
    """The options a fault of ``kind`` takes, in the order the help lists them."""
    where = () if kind in SHOP_KINDS else ("target", "method")
    return (*where, "times", *KIND_OPTIONS.get(kind, ()))


def kinds_help() -> str:
    """Every fault kind, what it does and the options it takes: for ``--help``."""
    lines = []
    for kind, what in KINDS.items():
        text = f"{what}. Options: {', '.join(options_of(kind))}"
        if kind in KIND_TARGETS:
            text += f"; targets: {', '.join(KIND_TARGETS[kind])}"
        lines += textwrap.wrap(
            text, 78, initial_indent=f"  {kind:<24} ", subsequent_indent=" " * 27
        )
    return "\n".join(lines)


class FaultSpecError(ValueError):
    """A fault description the sandbox cannot understand."""


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    target: str = "*"
    method: str = "*"
    times: int | None = None
    retry_after: int = 5
    delay: float = 0.0
    field: str = ""
    renamed_to: str = ""
    id: int = 0

    def applies_to(self, method: str, target: str) -> bool:
        return self.target in ("*", target) and self.method in ("*", method)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _from_command_line(spec: str) -> dict[str, Any]:
    """``kind[:target[:METHOD]][,option=value...]``, e.g. ``slow:salesOrders:POST,delay=2``."""
    head, *options = spec.split(",")
    parts = head.split(":")
    if len(parts) > 3:
        raise FaultSpecError(f"fault '{spec}': expected kind[:target[:METHOD]][,option=value...]")
    result: dict[str, Any] = {
        key: value for key, value in zip(("kind", "target", "method"), parts, strict=False) if value
    }
    for option in options:
        key, sep, value = option.partition("=")
        if not sep:
            raise FaultSpecError(f"fault '{spec}': option '{option}' needs a value (option=value)")
        result[key.strip()] = int(value) if value.strip().isdigit() else value.strip()
    return result


def _number(spec: Mapping[str, Any], key: str, default: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise FaultSpecError(
                f"fault '{key}' must be a number of seconds, not {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSpecError(f"fault '{key}' must be a number of seconds, not {value!r}")
    return float(value)


def parse_fault(spec: Mapping[str, Any] | str) -> Fault:
    """Build a fault from JSON (``{"kind": "throttle", "target": "salesOrders"}``)
    or from the command-line form ``kind[:target[:METHOD]][,option=value...]``."""
    if isinstance(spec, str):
        spec = _from_command_line(spec)
    unknown = set(spec) - _OPTIONS
    if unknown:
        known = ", ".join(sorted(_OPTIONS))
        raise FaultSpecError(
            f"fault: unknown option(s) {', '.join(sorted(unknown))}; known: {known}"
        )
    try:
        kind = FaultKind(str(spec.get("kind")))
    except ValueError:
        raise FaultSpecError(
            f"fault kind '{spec.get('kind')}' is unknown; known kinds: {', '.join(KINDS)}"
        ) from None
    takes = options_of(kind)
    given = {
        key for key, value in spec.items() if not (key in ("target", "method") and value == "*")
    }
    unused = sorted(given - {"kind", *takes})
    if unused:
        raise FaultSpecError(
            f"fault '{kind}' does not take {', '.join(unused)}; it takes: {', '.join(takes)}"
        )
    times = spec.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise FaultSpecError("fault 'times' must be a whole number of at least 1")
    target = str(spec.get("target", "*"))
    targets = KIND_TARGETS.get(kind, TARGETS)
    if target not in targets:
        raise FaultSpecError(
            f"fault '{kind}': unknown target '{target}'; targets: {', '.join(targets)}"
        )
    method = str(spec.get("method", "*")).upper()
    if method not in METHODS:
        raise FaultSpecError(
            f"fault '{kind}': unknown method '{spec.get('method')}'; methods: {', '.join(METHODS)}"
        )
    drift_field = str(spec.get("field") or DEFAULT_DRIFT_FIELDS.get(target, ""))
    if kind in (FaultKind.RENAMED_ON_READ, FaultKind.UNKNOWN_ON_WRITE) and not drift_field:
        raise FaultSpecError(
            f"fault '{kind}' on '{target}' needs a field, e.g. field=externalDocumentNumber"
        )
    return Fault(
        kind=kind,
        target=target,
        method=method,
        times=times,
        retry_after=int(_number(spec, "retry_after", 5)),
        delay=_number(spec, "delay", DEFAULT_DELAYS.get(kind, 0.0)),
        field=drift_field,
        renamed_to=str(spec.get("renamed_to") or (drift_field + "_v2" if drift_field else "")),
    )


@dataclass
class FaultBoard:
    """The active faults; thread-safe, because the server is threaded."""

    _faults: list[Fault] = field(default_factory=list)
    _remaining: dict[int, int | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault = replace(fault, id=next(self._ids))
            self._faults.append(fault)
            self._remaining[fault.id] = fault.times
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._remaining.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, target: str) -> Fault | None:
        """The first request fault that hits this request, counting it as used."""
        return self._take(lambda f: f.kind in REQUEST_KINDS and f.applies_to(method, target))

    def take_kind(self, kind: FaultKind) -> Fault | None:
        """The first fault of a behaviour kind, counting it as used."""
        return self._take(lambda f: f.kind == kind)

    def _take(self, wanted: Callable[[Fault], bool]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not wanted(fault):
                    continue
                remaining = self._remaining[fault.id]
                if remaining is not None:
                    if remaining <= 1:
                        self._faults.remove(fault)
                        del self._remaining[fault.id]
                    else:
                        self._remaining[fault.id] = remaining - 1
                return fault
            return None

"""Faults the sandbox can be told to inject, so anyone can see what an alert looks like.

A fault names a kind, the endpoint it hits (an entity set such as
``salesOrders``, ``token`` for the token endpoint, or ``*``), optionally an
HTTP method, how many requests it affects (all, until cleared, by default),
and options of its kind (``delay``, ``retry_after``, ``field``, ``renamed_to``).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# kind -> what it does; the app module implements each one.
KINDS: dict[str, str] = {
    "timeout": "no answer: the request is held for `delay` seconds (default 120), then the connection drops",
    "reset": "the connection is reset without an answer",
    "slow": "the right answer, after `delay` seconds (default 3)",
    "expired_token": "401 Authentication_InvalidCredentials although the token is valid",
    "throttle": "429 Application_TooManyRequests with Retry-After (`retry_after`, default 5)",
    "unavailable": "503 Application_ServiceUnavailable",
    "maintenance_page": "200 with an HTML maintenance page instead of JSON",
    "vat_required": "a stricter rule: customers without a VAT number (and their orders) are refused",
    "renamed_on_read": "schema drift: `field` is called `renamed_to` in answers",
    "unknown_on_write": "schema drift: `field` no longer exists, writes that send it are refused",
    "duplicate": "409 Internal_EntityWithSameKeyExists on create",
    "not_persisted": "a create is answered 201 but nothing is stored",
    "cryptic_500": "500 with a cryptic plain-text body",
    "wrong_content_type": "the answer comes as XML (Content-Type application/xml) instead of JSON",
    # The payment provider and the shop's payment integration.
    "webhook_lost": "the payment provider sends no webhooks",
    "webhook_late": "webhooks arrive `delay` seconds late (default 10)",
    "payment_update_rejected": "the ERP refuses the shop's payment update: invoices stay open",
    "paid_but_failed": "seeds invoices marked paid whose payment failed or expired",
    "charged_back": "seeds invoices marked paid whose payment was charged back (one chargeback reversed)",
    "webhook_broken": "the shop's webhook endpoint answers 500 to every notification",
    # The punchout shop (cXML and OCI).
    "shared_secret_rejected": "cXML Status 401 inside HTTP 200: the SharedSecret is refused",
    "no_buyer_cookie": "cXML Status 400: the shop says the BuyerCookie is missing",
    "no_start_page": "the PunchOutSetupResponse has no StartPage",
    "start_page_expired": "the StartPage answers 410: session expired",
    "start_page_error": "the StartPage answers 500",
    "malformed_cxml": "the setup answer is not well-formed XML",
    "order_not_in_erp": "an OrderRequest is answered 200 OK but no ERP order is made",
    "oci_decimal_comma": "the OCI price comes with a decimal comma (1.000,80)",
    "oci_unit_not_iso": "the OCI unit is not an ISO code (Stück)",
    "oci_no_currency": "the OCI transfer has no currency",
}
# Kinds that change how the shop behaves, asked for by name; every other kind
# changes the ERP's answer to a request that matches its target and method.
SHOP_KINDS = frozenset(
    {"webhook_lost", "webhook_late", "payment_update_rejected", "paid_but_failed"}
    | {"charged_back", "webhook_broken"}
    | {"shared_secret_rejected", "no_buyer_cookie", "no_start_page", "start_page_expired"}
    | {"start_page_error", "malformed_cxml", "order_not_in_erp"}
    | {"oci_decimal_comma", "oci_unit_not_iso", "oci_no_currency"}
)
REQUEST_KINDS = frozenset(KINDS) - SHOP_KINDS

# Drift needs a field; these are the ones the reference monitors rely on.
DEFAULT_DRIFT_FIELDS = {
    "salesOrders": "externalDocumentNumber",
    "customers": "taxRegistrationNumber",
}
DEFAULT_DELAYS = {"timeout": 120.0, "slow": 3.0, "webhook_late": 10.0}
_OPTIONS = {"kind", "target", "method", "times", "retry_after", "delay", "field", "renamed_to"}


class FaultSpecError(ValueError):
    """A fault description the sandbox cannot understand."""


@dataclass(frozen=True)
class Fault:
    kind: str
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
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"fault kind '{kind}' is unknown; known kinds: {', '.join(KINDS)}")
    times = spec.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise FaultSpecError("fault 'times' must be a whole number of at least 1")
    target = str(spec.get("target", "*"))
    drift_field = str(spec.get("field") or DEFAULT_DRIFT_FIELDS.get(target, ""))
    if kind in ("renamed_on_read", "unknown_on_write") and not drift_field:
        raise FaultSpecError(
            f"fault '{kind}' on '{target}' needs a field, e.g. field=externalDocumentNumber"
        )
    return Fault(
        kind=str(kind),
        target=target,
        method=str(spec.get("method", "*")).upper(),
        times=times,
        retry_after=int(_number(spec, "retry_after", 5)),
        delay=_number(spec, "delay", DEFAULT_DELAYS.get(str(kind), 0.0)),
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
            fault = Fault(**{**fault.as_dict(), "id": next(self._ids)})
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

    def take_kind(self, kind: str) -> Fault | None:
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

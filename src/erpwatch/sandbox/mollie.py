"""An in-memory payment provider with Mollie API v2 shapes, and the webshop's
payment integration that listens to its webhooks and updates the ERP."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from .business_central import BcError, BusinessCentral

API_KEY = "test_erpwatchSandboxKey0123456789abcd"  # a published test credential
STATUSES = ("open", "pending", "authorized", "paid", "canceled", "expired", "failed")
FINAL = frozenset({"paid", "canceled", "expired", "failed", "authorized"})
DOCUMENTATION = {"href": "https://docs.mollie.com/overview/handling-errors", "type": "text/html"}


class Problem(Exception):
    """A Mollie error answer (RFC 7807 problem JSON)."""

    TITLES: ClassVar[dict[int, str]] = {
        401: "Unauthorized Request",
        404: "Not Found",
        422: "Unprocessable Entity",
        400: "Bad Request",
    }

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status,
            "title": self.TITLES.get(self.status, "Error"),
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        body["_links"] = {"documentation": DOCUMENTATION}
        return body


def _amount(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"currency", "value"}:
        raise Problem(422, "The amount must contain a currency and a value.", field)
    currency, raw = value["currency"], value["value"]
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise Problem(422, f"The currency '{currency}' is not supported.", f"{field}.currency")
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        raise Problem(422, "The amount contains an invalid value.", f"{field}.value") from None
    if not isinstance(raw, str) or number.as_tuple().exponent != -2:
        raise Problem(
            422, "The amount value must be a string with exactly two decimals.", f"{field}.value"
        )
    if number < Decimal("0.01"):
        raise Problem(422, "The amount is lower than the minimum.", f"{field}.value")
    return {"currency": currency, "value": raw}


@dataclass
class PaymentProvider:
    """Payments by id, newest last; thread-safe."""

    now: Callable[[], datetime]
    notify: Callable[[str, str], None]  # (webhookUrl, payment id): deliver a webhook
    api_key: str = API_KEY

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self.payments: dict[str, dict[str, Any]] = {}

    def _stamp(self, moment: datetime | None = None) -> str:
        return (moment or self.now()).astimezone(UTC).isoformat(timespec="seconds")

    def authorize(self, header: str) -> None:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or key != self.api_key:
            raise Problem(401, "Missing authentication, or failed to authenticate")

    def create(
        self, body: dict[str, Any], root_url: str, created_at: datetime | None = None
    ) -> dict[str, Any]:
        amount = _amount(body.get("amount"), "amount")
        description = body.get("description")
        if not isinstance(description, str) or not description.strip():
            raise Problem(422, "The description is invalid.", "description")
        redirect = body.get("redirectUrl")
        if not isinstance(redirect, str) or not redirect.startswith(("http://", "https://")):
            raise Problem(422, "The redirect URL is invalid.", "redirectUrl")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise Problem(422, "The metadata must be an object.", "metadata")
        webhook = body.get("webhookUrl")
        payment_id = "tr_" + secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")
        created = created_at or self.now()
        payment = {
            "resource": "payment",
            "id": payment_id,
            "mode": "test" if self.api_key.startswith("test_") else "live",
            "createdAt": self._stamp(created),
            "amount": amount,
            "description": description,
            "method": body.get("method"),
            "metadata": metadata,
            "status": "open",
            "isCancelable": True,
            "expiresAt": self._stamp(created + timedelta(minutes=15)),
            "profileId": "pfl_erpwatchSbx",
            "sequenceType": "oneoff",
            "redirectUrl": redirect,
            "webhookUrl": webhook,
            "_links": {
                "self": {
                    "href": f"{root_url}/v2/payments/{payment_id}",
                    "type": "application/hal+json",
                },
                "checkout": {"href": f"{root_url}/checkout/{payment_id}", "type": "text/html"},
                "documentation": {
                    "href": "https://docs.mollie.com/reference/v2/payments-api/get-payment",
                    "type": "text/html",
                },
            },
        }
        with self._lock:
            self.payments[payment_id] = payment
        return dict(payment)

    def get(self, payment_id: str) -> dict[str, Any]:
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise Problem(404, f"No payment exists with token {payment_id}.")
            return dict(payment)

    def page(self, limit: int, start: str | None, root_url: str) -> dict[str, Any]:
        """Newest first, ``limit`` at a time, from payment ``start`` on."""
        if not 1 <= limit <= 250:
            raise Problem(400, "The limit must be between 1 and 250.", "limit")
        with self._lock:
            newest_first = list(reversed(self.payments.values()))
        ids = [p["id"] for p in newest_first]
        if start is not None and start not in ids:
            raise Problem(400, f"The 'from' payment {start} does not exist.", "from")
        offset = ids.index(start) if start else 0
        chunk = newest_first[offset : offset + limit]
        following = newest_first[offset + limit : offset + limit + 1]
        base = f"{root_url}/v2/payments"

        def link(first: str) -> dict[str, str]:
            return {"href": f"{base}?from={first}&limit={limit}", "type": "application/hal+json"}

        return {
            "count": len(chunk),
            "_embedded": {"payments": [dict(p) for p in chunk]},
            "_links": {
                "self": link(chunk[0]["id"])
                if chunk
                else {"href": base, "type": "application/hal+json"},
                "previous": link(newest_first[max(0, offset - limit)]["id"]) if offset else None,
                "next": link(following[0]["id"]) if following else None,
                "documentation": {
                    "href": "https://docs.mollie.com/reference/v2/payments-api/list-payments",
                    "type": "text/html",
                },
            },
        }

    def set_status(
        self, payment_id: str, status: str, *, refunded: bool = False, at: datetime | None = None
    ) -> dict[str, Any]:
        """What Mollie's test checkout does: move a payment to a status, then call its webhook."""
        if status not in STATUSES:
            raise Problem(
                422, f"Unknown status '{status}'; use one of {', '.join(STATUSES)}.", "status"
            )
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise Problem(404, f"No payment exists with token {payment_id}.")
            payment["status"] = status
            payment["isCancelable"] = status in ("open", "pending")
            if status == "paid":
                payment["paidAt"] = self._stamp(at)
                payment["amountRefunded"] = {
                    "currency": payment["amount"]["currency"],
                    "value": "0.00",
                }
                payment["amountRemaining"] = dict(payment["amount"])
            if refunded and status == "paid":
                payment["amountRefunded"] = dict(payment["amount"])
                payment["amountRemaining"] = {
                    "currency": payment["amount"]["currency"],
                    "value": "0.00",
                }
            webhook = payment.get("webhookUrl")
            snapshot = dict(payment)
        if webhook and status in FINAL:
            self.notify(webhook, payment_id)
        return snapshot


@dataclass
class ShopPaymentIntegration:
    """The webshop side: a webhook for a paid payment marks the ERP invoice paid."""

    erp: BusinessCentral
    psp: PaymentProvider
    rejects_updates: Callable[[], bool]  # a fault: the ERP refuses the payment update

    def handle_webhook(self, payment_id: str) -> None:
        payment = self.psp.get(payment_id)
        order_id = (payment.get("metadata") or {}).get("order_id")
        if payment["status"] != "paid" or not order_id:
            return
        if self.rejects_updates():
            raise BcError(
                400,
                "Application_DialogException",
                f"You cannot apply the payment to invoice {order_id}.",
            )
        self.erp.mark_invoice_paid(self.erp.default_company_id, str(order_id))

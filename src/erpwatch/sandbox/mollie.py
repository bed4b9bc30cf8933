"""An in-memory payment provider with Mollie API v2 shapes, and the webshop's
payment integration that listens to its webhooks and updates the ERP.

As strict as Mollie where erpwatch's monitors could be fooled: ``metadata`` is
any JSON value up to about 1 kB and comes back as given; the Orders API
(a subset) makes payments that carry ``orderId`` and no metadata; a paid
payment can be refunded or charged back and stays ``paid``; fields Mollie
omits until they apply (``paidAt``, ``amountChargedBack``…) are omitted; lists
come in pages smaller than asked for, so a client must follow ``_links.next``.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar

from .business_central import BcError, BusinessCentral

API_KEY = "test_erpwatchSandboxKey0123456789abcd"  # a published test credential
STATUSES = ("open", "pending", "authorized", "paid", "canceled", "expired", "failed")
FINAL = frozenset({"paid", "canceled", "expired", "failed", "authorized"})
# Mollie's default page is 50 and its largest 250; the sandbox gives at most 5
# per page, so that every client has to follow _links.next to see everything.
PAGE_SIZE = 5
METADATA_LIMIT = 1024  # bytes of JSON: Mollie allows "approximately 1kB"
CANCELABLE_METHODS = frozenset({"banktransfer", "directdebit"})
HAL = "application/hal+json"
DOCS = "https://docs.mollie.com/reference/v2"
DOCUMENTATION = {"href": "https://docs.mollie.com/overview/handling-errors", "type": "text/html"}
LOCALE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")


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


def _link(href: str, kind: str = HAL) -> dict[str, str]:
    return {"href": href, "type": kind}


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise Problem(422, "The amount contains an invalid value.", f"{field}.value") from None
    if not isinstance(value, str) or number.as_tuple().exponent != -2:
        raise Problem(
            422, "The amount value must be a string with exactly two decimals.", f"{field}.value"
        )
    return number


def _amount(value: Any, field: str, *, positive: bool = True) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"currency", "value"}:
        raise Problem(422, "The amount must contain a currency and a value.", field)
    currency, raw = value["currency"], value["value"]
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise Problem(422, f"The currency '{currency}' is not supported.", f"{field}.currency")
    number = _decimal(raw, field)
    if positive and number < Decimal("0.01"):
        raise Problem(422, "The amount is lower than the minimum.", f"{field}.value")
    return {"currency": currency, "value": raw}


def _money(currency: str, value: Decimal) -> dict[str, str]:
    return {"currency": currency, "value": f"{value.quantize(Decimal('0.01'))}"}


def _metadata(value: Any, field: str = "metadata") -> Any:
    """Anything JSON, as Mollie documents it ("mixed"), within its size limit."""
    if len(json.dumps(value).encode()) > METADATA_LIMIT:
        raise Problem(422, "The metadata is too large, use up to approximately 1kB.", field)
    return copy.deepcopy(value)


def _url(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise Problem(422, f"The {field} is invalid.", field)
    return value


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")


def _page(
    items: Sequence[dict[str, Any]],
    *,
    limit: int,
    start: str | None,
    base: str,
    key: str,
    documentation: str,
    page_size: int,
) -> dict[str, Any]:
    """A Mollie list page: newest first, ``from`` an id on, linked by _links.next."""
    if not 1 <= limit <= 250:
        raise Problem(400, "The limit must be between 1 and 250.", "limit")
    size = min(limit, page_size)
    ids = [item["id"] for item in items]
    if start is not None and start not in ids:
        raise Problem(400, f"The 'from' {key[:-1]} {start} does not exist.", "from")
    offset = ids.index(start) if start else 0
    chunk = items[offset : offset + size]
    following = items[offset + size : offset + size + 1]

    def link(first: str) -> dict[str, str]:
        return _link(f"{base}?from={first}&limit={limit}")

    return {
        "count": len(chunk),
        "_embedded": {key: copy.deepcopy(list(chunk))},
        "_links": {
            "self": link(chunk[0]["id"]) if chunk else _link(base),
            "previous": link(items[max(0, offset - size)]["id"]) if offset else None,
            "next": link(following[0]["id"]) if following else None,
            "documentation": _link(documentation, "text/html"),
        },
    }


@dataclass
class PaymentProvider:
    """Payments, orders and chargebacks by id, newest last; thread-safe."""

    now: Callable[[], datetime]
    notify: Callable[[str, str], None]  # (webhookUrl, payment or order id): deliver a webhook
    api_key: str = API_KEY
    page_size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self.payments: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.chargebacks: dict[str, list[dict[str, Any]]] = {}  # by payment id

    def clear(self) -> None:
        with self._lock:
            self.payments.clear()
            self.orders.clear()
            self.chargebacks.clear()

    @property
    def mode(self) -> str:
        return "test" if self.api_key.startswith("test_") else "live"

    def _stamp(self, moment: datetime | None = None) -> str:
        return (moment or self.now()).astimezone(UTC).isoformat(timespec="seconds")

    def authorize(self, header: str) -> None:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or key != self.api_key:
            raise Problem(401, "Missing authentication, or failed to authenticate")

    # -- payments ----------------------------------------------------------------------

    def create(
        self, body: dict[str, Any], root_url: str, created_at: datetime | None = None
    ) -> dict[str, Any]:
        """POST /v2/payments."""
        amount = _amount(body.get("amount"), "amount")
        description = body.get("description")
        if not isinstance(description, str) or not description.strip():
            raise Problem(422, "The description is invalid.", "description")
        if len(description) > 255:
            raise Problem(
                422, "The description is too long (255 characters at most).", "description"
            )
        redirect = _url(body.get("redirectUrl"), "redirectUrl")
        webhook = body.get("webhookUrl")
        if webhook is not None:
            _url(webhook, "webhookUrl")
        return self._new_payment(
            root_url,
            amount=amount,
            description=description,
            redirect=redirect,
            webhook=webhook,
            method=self._method(body.get("method")),
            locale=self._locale(body.get("locale"), required=False),
            metadata=_metadata(body.get("metadata")),
            created=created_at or self.now(),
        )

    @staticmethod
    def _method(value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise Problem(422, "The payment method is invalid.", "method")
        return value

    @staticmethod
    def _locale(value: Any, *, required: bool) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or not LOCALE.match(value):
            raise Problem(422, "The locale is invalid, use the xx_XX format.", "locale")
        return value

    def _new_payment(
        self,
        root_url: str,
        *,
        amount: dict[str, str],
        description: str,
        redirect: str,
        webhook: str | None,
        method: str | None,
        locale: str | None,
        metadata: Any,
        created: datetime,
        order_id: str | None = None,
    ) -> dict[str, Any]:
        payment_id = _new_id("tr_")
        links = {
            "self": _link(f"{root_url}/v2/payments/{payment_id}"),
            "checkout": _link(f"{root_url}/checkout/{payment_id}", "text/html"),
            "dashboard": _link(f"{root_url}/dashboard/payments/{payment_id}", "text/html"),
        }
        if order_id:
            links["order"] = _link(f"{root_url}/v2/orders/{order_id}")
        links["documentation"] = _link(f"{DOCS}/payments-api/get-payment", "text/html")
        payment: dict[str, Any] = {
            "resource": "payment",
            "id": payment_id,
            "mode": self.mode,
            "createdAt": self._stamp(created),
            "amount": amount,
            "description": description,
            "method": method,
            "metadata": metadata,
            "status": "open",
            "isCancelable": method in CANCELABLE_METHODS,
            "expiresAt": self._stamp(created + timedelta(minutes=15)),
        }
        if locale:
            payment["locale"] = locale
        payment.update({"profileId": "pfl_erpwatchSbx", "sequenceType": "oneoff"})
        if order_id:
            payment["orderId"] = order_id
        payment["redirectUrl"] = redirect
        if webhook:
            payment["webhookUrl"] = webhook
        payment["_links"] = links
        with self._lock:
            self.payments[payment_id] = payment
            return copy.deepcopy(payment)

    def get(self, payment_id: str) -> dict[str, Any]:
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise Problem(404, f"No payment exists with token {payment_id}.")
            return copy.deepcopy(payment)

    def page(self, limit: int, start: str | None, root_url: str) -> dict[str, Any]:
        """GET /v2/payments: newest first, from payment ``start`` on."""
        with self._lock:
            newest_first = list(reversed(self.payments.values()))
            return _page(
                newest_first,
                limit=limit,
                start=start,
                base=f"{root_url}/v2/payments",
                key="payments",
                documentation=f"{DOCS}/payments-api/list-payments",
                page_size=self.page_size,
            )

    def set_status(
        self, payment_id: str, status: str, *, refunded: bool = False, at: datetime | None = None
    ) -> dict[str, Any]:
        """What Mollie's test checkout does: move a payment to a status, then call its
        webhook (the order's, when an Orders API payment becomes paid)."""
        if status not in STATUSES:
            raise Problem(
                422, f"Unknown status '{status}'; use one of {', '.join(STATUSES)}.", "status"
            )
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise Problem(404, f"No payment exists with token {payment_id}.")
            payment["status"] = status
            if status in ("open", "pending"):
                payment["isCancelable"] = payment.get("method") in CANCELABLE_METHODS
            elif status == "authorized":
                payment["isCancelable"] = False
            else:
                payment.pop("isCancelable", None)  # omitted once final, as Mollie does
            stamp = {"paid": "paidAt", "canceled": "canceledAt"}.get(status)
            stamp = stamp or {"expired": "expiredAt", "failed": "failedAt"}.get(status)
            if stamp:
                payment[stamp] = self._stamp(at)
            currency = payment["amount"]["currency"]
            if status == "paid":
                payment["method"] = payment.get("method") or "ideal"  # chosen at the checkout
                payment["amountRefunded"] = _money(currency, Decimal(0))
                payment["amountRemaining"] = dict(payment["amount"])
            if refunded and status == "paid":
                payment["amountRefunded"] = dict(payment["amount"])
                payment["amountRemaining"] = _money(currency, Decimal(0))
                payment["_links"]["refunds"] = _link(payment["_links"]["self"]["href"] + "/refunds")
            webhook = payment.get("webhookUrl")
            order = self.orders.get(payment.get("orderId") or "")
            if order is not None and status in ("paid", "authorized"):
                order["status"] = status
                order["isCancelable"] = False
                webhook = order.get("webhookUrl")
                notified = order["id"]
            else:
                notified = payment_id
            snapshot = copy.deepcopy(payment)
        if webhook and status in FINAL:
            self.notify(webhook, notified)
        return snapshot

    # -- chargebacks ---------------------------------------------------------------------

    def charge_back(
        self,
        payment_id: str,
        value: str | None = None,
        *,
        reversed_: bool = False,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """The customer's bank takes money back from a paid payment. Its status stays
        ``paid``; ``amountChargedBack`` counts every chargeback, reversed or not (the
        chargeback's ``reversedAt`` says which gave the money back)."""
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise Problem(404, f"No payment exists with token {payment_id}.")
            if payment["status"] != "paid":
                raise Problem(422, "Only a paid payment can be charged back.", "status")
            currency, paid = payment["amount"]["currency"], Decimal(payment["amount"]["value"])
            amount = _decimal(value, "amount") if value is not None else paid
            earlier = sum(
                (Decimal(c["amount"]["value"]) for c in self.chargebacks.get(payment_id, [])),
                Decimal(0),
            )
            if amount <= 0 or earlier + amount > paid:
                raise Problem(
                    422, "The chargeback is more than what is left of the payment.", "amount"
                )
            self_href = payment["_links"]["self"]["href"]
            chargeback_id = _new_id("chb_")
            chargeback = {
                "resource": "chargeback",
                "id": chargeback_id,
                "amount": _money(currency, amount),
                "settlementAmount": _money(currency, -amount),
                "createdAt": self._stamp(at),
                "reversedAt": self._stamp(at) if reversed_ else None,
                "paymentId": payment_id,
                "_links": {
                    "self": _link(f"{self_href}/chargebacks/{chargeback_id}"),
                    "payment": _link(self_href),
                    "documentation": _link(
                        f"{DOCS}/chargebacks-api/get-payment-chargeback", "text/html"
                    ),
                },
            }
            self.chargebacks.setdefault(payment_id, []).append(chargeback)
            total = earlier + amount
            refunded = Decimal((payment.get("amountRefunded") or {}).get("value", "0"))
            payment["amountChargedBack"] = _money(currency, total)
            payment["amountRemaining"] = _money(currency, max(Decimal(0), paid - refunded - total))
            payment["_links"]["chargebacks"] = _link(f"{self_href}/chargebacks")
            webhook = payment.get("webhookUrl")
            result = copy.deepcopy(chargeback)
        if webhook:
            self.notify(webhook, payment_id)  # Mollie calls the webhook on a chargeback
        return result

    def chargeback_page(
        self, payment_id: str, limit: int, start: str | None, root_url: str
    ) -> dict[str, Any]:
        """GET /v2/payments/{id}/chargebacks."""
        with self._lock:
            if payment_id not in self.payments:
                raise Problem(404, f"No payment exists with token {payment_id}.")
            found = list(reversed(self.chargebacks.get(payment_id, [])))
            return _page(
                found,
                limit=limit,
                start=start,
                base=f"{root_url}/v2/payments/{payment_id}/chargebacks",
                key="chargebacks",
                documentation=f"{DOCS}/chargebacks-api/list-payment-chargebacks",
                page_size=self.page_size,
            )

    # -- orders (a subset of the Orders API) -------------------------------------------

    def create_order(
        self,
        body: dict[str, Any],
        root_url: str,
        created_at: datetime | None = None,
        embed: Sequence[str] = (),
    ) -> dict[str, Any]:
        """POST /v2/orders: an order and the payment it creates at once. The payment
        has ``orderId`` and no metadata; the order has ``orderNumber`` and the metadata."""
        amount = _amount(body.get("amount"), "amount")
        number = body.get("orderNumber")
        if not isinstance(number, str) or not number.strip():
            raise Problem(422, "The order number is invalid.", "orderNumber")
        lines = self._lines(body.get("lines"), amount)
        billing = body.get("billingAddress")
        if not isinstance(billing, dict):
            raise Problem(422, "The billing address is required.", "billingAddress")
        for name in ("givenName", "familyName", "email", "streetAndNumber", "city", "country"):
            if not isinstance(billing.get(name), str) or not billing[name].strip():
                raise Problem(422, f"The billing address needs a {name}.", f"billingAddress.{name}")
        redirect = _url(body.get("redirectUrl"), "redirectUrl")
        locale = self._locale(body.get("locale"), required=True)  # required for orders
        webhook = body.get("webhookUrl")
        if webhook is not None:
            _url(webhook, "webhookUrl")
        payment_options = body.get("payment") or {}
        if not isinstance(payment_options, dict):
            raise Problem(422, "The payment parameters must be an object.", "payment")
        payment_webhook = payment_options.get("webhookUrl")
        if payment_webhook is not None:
            _url(payment_webhook, "payment.webhookUrl")
        metadata = _metadata(body.get("metadata"))
        method = self._method(body.get("method"))
        created = created_at or self.now()
        order_id = _new_id("ord_")
        payment = self._new_payment(
            root_url,
            amount=amount,
            description=f"Order {number}",  # Mollie writes it; orders have no description
            redirect=redirect,
            webhook=payment_webhook,
            method=method,
            locale=locale,
            metadata=None,
            created=created,
            order_id=order_id,
        )
        order: dict[str, Any] = {
            "resource": "order",
            "id": order_id,
            "profileId": "pfl_erpwatchSbx",
            "method": method,
            "amount": amount,
            "status": "created",
            "isCancelable": True,
            "metadata": metadata,
            "createdAt": self._stamp(created),
            "expiresAt": self._stamp(created + timedelta(days=28)),
            "mode": self.mode,
            "locale": locale,
            "billingAddress": copy.deepcopy(billing),
            "orderNumber": number,
            "redirectUrl": redirect,
            "lines": [
                {"resource": "orderline", "id": _new_id("odl_"), "orderId": order_id, **line}
                for line in lines
            ],
            "_links": {
                "self": _link(f"{root_url}/v2/orders/{order_id}"),
                "checkout": payment["_links"]["checkout"],
                "dashboard": _link(f"{root_url}/dashboard/orders/{order_id}", "text/html"),
                "documentation": _link(f"{DOCS}/orders-api/get-order", "text/html"),
            },
        }
        if webhook:
            order["webhookUrl"] = webhook
        with self._lock:
            self.orders[order_id] = order
        return self.get_order(order_id, embed)

    @staticmethod
    def _lines(raw: Any, amount: dict[str, str]) -> list[dict[str, Any]]:
        if not isinstance(raw, list) or not raw:
            raise Problem(422, "The order needs at least one line.", "lines")
        currency, total = amount["currency"], Decimal(0)
        lines = []
        for index, line in enumerate(raw):
            where = f"lines.{index}"
            if not isinstance(line, dict):
                raise Problem(422, "An order line must be an object.", where)
            name, quantity = line.get("name"), line.get("quantity")
            if not isinstance(name, str) or not name.strip():
                raise Problem(422, "The order line needs a name.", f"{where}.name")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise Problem(
                    422, "The quantity must be a whole number of at least 1.", f"{where}.quantity"
                )
            checked = {
                key: _amount(line.get(key), f"{where}.{key}", positive=False)
                for key in ("unitPrice", "totalAmount", "vatAmount")
            }
            if line.get("discountAmount") is not None:
                checked["discountAmount"] = _amount(
                    line["discountAmount"], f"{where}.discountAmount", positive=False
                )
            for key, value in checked.items():
                if value["currency"] != currency:
                    raise Problem(
                        422, "All order lines must have the order's currency.", f"{where}.{key}"
                    )
            rate_text = line.get("vatRate")
            try:
                rate = Decimal(str(rate_text))
            except InvalidOperation:
                rate = Decimal(-1)
            if not isinstance(rate_text, str) or rate < 0:
                raise Problem(
                    422, 'The VAT rate must be a string such as "21.00".', f"{where}.vatRate"
                )
            unit = Decimal(checked["unitPrice"]["value"])
            discount = Decimal(checked.get("discountAmount", {"value": "0"})["value"])
            line_total = Decimal(checked["totalAmount"]["value"])
            if unit * quantity - discount != line_total:
                raise Problem(
                    422,
                    "The total amount of the line is not unitPrice × quantity − discountAmount.",
                    f"{where}.totalAmount",
                )
            vat = (line_total * rate / (100 + rate)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            if Decimal(checked["vatAmount"]["value"]) != vat:
                raise Problem(
                    422,
                    f"The VAT amount is wrong, expected {currency} {vat}.",
                    f"{where}.vatAmount",
                )
            total += line_total
            kept = {k: line[k] for k in ("type", "sku", "metadata") if k in line}
            lines.append(
                {"name": name, "quantity": quantity, "status": "created", **kept, **checked, "vatRate": rate_text}
            )  # fmt: skip
        if total != Decimal(amount["value"]):
            raise Problem(
                422, "The amount of the order does not match the total of its lines.", "amount"
            )
        return lines

    def get_order(self, order_id: str, embed: Sequence[str] = ()) -> dict[str, Any]:
        """GET /v2/orders/{id}; ``embed=payments`` includes the order's payments."""
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise Problem(404, f"No order exists with token {order_id}.")
            shown = copy.deepcopy(order)
            if "payments" in embed:
                shown["_embedded"] = {
                    "payments": [
                        copy.deepcopy(p)
                        for p in self.payments.values()
                        if p.get("orderId") == order_id
                    ]
                }
            return shown

    def order_page(self, limit: int, start: str | None, root_url: str) -> dict[str, Any]:
        """GET /v2/orders: newest first."""
        with self._lock:
            newest_first = list(reversed(self.orders.values()))
            return _page(
                newest_first,
                limit=limit,
                start=start,
                base=f"{root_url}/v2/orders",
                key="orders",
                documentation=f"{DOCS}/orders-api/list-orders",
                page_size=self.page_size,
            )


def shop_reference(metadata: Any) -> str | None:
    """The order reference the sandbox shop wrote into a payment's metadata: an
    object with order_id (or order_number), that object as JSON text, or the
    order number as plain text; this shop knows its own convention."""
    if isinstance(metadata, str):
        try:
            parsed = json.loads(metadata)
        except ValueError:
            return metadata.strip() or None
        if not isinstance(parsed, dict):
            return metadata.strip() or None
        metadata = parsed
    if isinstance(metadata, dict):
        for key in ("order_number", "order_id"):
            value = metadata.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                return str(value).strip()
    return None


@dataclass
class ShopPaymentIntegration:
    """The webshop side: a webhook for a paid payment (or a paid order) marks the
    ERP invoice paid."""

    erp: BusinessCentral
    psp: PaymentProvider
    rejects_updates: Callable[[], bool]  # a fault: the ERP refuses the payment update

    def handle_webhook(self, object_id: str) -> None:
        """What a shop does with ``id=…``: fetch the object from the provider, act
        on its status. An id the provider does not know is ignored (answered 200),
        as Mollie advises, so a stranger learns nothing from the answer."""
        try:
            if object_id.startswith("ord_"):
                order = self.psp.get_order(object_id)
                reference = order["orderNumber"] if order["status"] == "paid" else None
            else:
                payment = self.psp.get(object_id)
                if payment["status"] != "paid":
                    return
                reference = shop_reference(payment.get("metadata"))
                if reference is None and payment.get("orderId"):
                    reference = self.psp.get_order(payment["orderId"])["orderNumber"]
        except Problem:
            return
        if not reference:
            return
        if self.rejects_updates():
            raise BcError(
                400,
                "Application_DialogException",
                f"You cannot apply the payment to invoice {reference}.",
            )
        company = self.erp.default_company_id
        # Business Central holds externalDocumentNumber (a Code field) upper-case.
        if not self.erp.mark_invoice_paid(company, reference):
            self.erp.mark_invoice_paid(company, reference.upper())

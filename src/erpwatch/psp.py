"""A payment provider client for monitors (Mollie API v2): payments created,
read and listed, orders and chargebacks looked up, with failures that name the
call, like the ERP client's; and the typed records reconciliation reads.

Mollie's answers are read as Mollie documents them, not as erpwatch's sandbox
happens to send them: ``metadata`` is "mixed" (an object, text, a number or
nothing), a payment made through the Orders API has ``orderId`` and no metadata,
and money can leave a paid payment again (``amountRefunded``,
``amountChargedBack``) while its status stays ``paid``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from ._calls import CallFailed, answer_failed, bounded_session, send
from ._http import Limits
from ._origin import keep_credentials_home
from ._origin import origin as _origin
from .capture import call_label
from .config import DEFAULT_METADATA_KEYS, PaymentSettings

PAGE_LIMIT = 250  # Mollie's largest page
# A list still linking on after this many pages is broken, not long: at most
# ``most`` items are read, and every page gives at least one.
MAX_PAGES = 1000
# Reading one list may take this many per-call time-outs in all.
PAGING_TIME_FACTOR = 10
T = TypeVar("T")


class PaymentCallFailed(CallFailed):
    """A call to the payment provider (or to the shop's webhook, as the provider
    makes it) that did not give the expected answer; the provider's problem
    JSON title and detail are its code and message."""

    party = "the payment provider"


# -- records -------------------------------------------------------------------


class Unreadable(ValueError):
    """A provider answer without a field erpwatch needs, or with a malformed one."""


@dataclass(frozen=True)
class Money:
    currency: str
    value: Decimal

    def __str__(self) -> str:
        return f"{self.currency} {self.value}"

    @classmethod
    def read(cls, raw: Any, name: str) -> Money:
        if not isinstance(raw, Mapping):
            raise Unreadable(f"{name} is {_shown(raw)}, not an amount")
        currency, value = raw.get("currency"), raw.get("value")
        if not isinstance(currency, str) or not isinstance(value, str):
            raise Unreadable(f"{name} is {_shown(raw)}, not an amount")
        try:
            return cls(currency, Decimal(value))
        except InvalidOperation:
            raise Unreadable(f"{name}.value is {value!r}, not a number") from None

    @classmethod
    def optional(cls, raw: Any, name: str) -> Money | None:
        return None if raw is None else cls.read(raw, name)


@dataclass(frozen=True)
class Payment:
    """A Mollie payment, the fields reconciliation and the monitors use."""

    id: str
    status: str
    amount: Money
    created_at: datetime
    paid_at: datetime | None = None
    metadata: Any = None  # as the shop gave it: an object, text, a number, or nothing
    order_id: str | None = None  # the Orders API order it belongs to (ord_…)
    refunded: Money | None = None  # amountRefunded
    remaining: Money | None = None  # amountRemaining: what can still be refunded
    charged_back: Money | None = None  # amountChargedBack; Mollie omits it when zero
    mode: str = "test"
    links: Mapping[str, str] = field(default_factory=dict)  # rel -> href

    @classmethod
    def read(cls, raw: Any) -> Payment:
        if not isinstance(raw, Mapping):
            raise Unreadable(f"a payment is {_shown(raw)}, not an object")
        payment_id = raw.get("id")
        if not isinstance(payment_id, str) or not payment_id:
            raise Unreadable("a payment has no id")
        status = raw.get("status")
        if not isinstance(status, str):
            raise Unreadable(f"payment {payment_id} has no status")
        where = f"payment {payment_id}"
        order_id = raw.get("orderId")
        return cls(
            id=payment_id,
            status=status,
            amount=Money.read(raw.get("amount"), f"{where}: amount"),
            created_at=_moment(raw.get("createdAt"), f"{where}: createdAt"),
            paid_at=None if raw.get("paidAt") is None else _moment(raw["paidAt"], f"{where}: paidAt"),
            metadata=raw.get("metadata"),
            order_id=order_id if isinstance(order_id, str) and order_id else None,
            refunded=Money.optional(raw.get("amountRefunded"), f"{where}: amountRefunded"),
            remaining=Money.optional(raw.get("amountRemaining"), f"{where}: amountRemaining"),
            charged_back=Money.optional(raw.get("amountChargedBack"), f"{where}: amountChargedBack"),
            mode=str(raw.get("mode") or "test"),
            links=_links(raw.get("_links")),
        )  # fmt: skip

    @property
    def checkout_url(self) -> str | None:
        return self.links.get("checkout")


@dataclass(frozen=True)
class Chargeback:
    id: str
    amount: Money
    reversed_at: datetime | None  # a reversed chargeback gave the money back

    @classmethod
    def read(cls, raw: Any) -> Chargeback:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            raise Unreadable(f"a chargeback is {_shown(raw)}, not a chargeback object")
        where = f"chargeback {raw['id']}"
        reversed_at = raw.get("reversedAt")
        return cls(
            id=raw["id"],
            amount=Money.read(raw.get("amount"), f"{where}: amount"),
            reversed_at=None if reversed_at is None else _moment(reversed_at, f"{where}: reversedAt"),
        )  # fmt: skip


@dataclass(frozen=True)
class Order:
    """An Orders API order: the shop's order number lives here, not on its payments."""

    id: str
    number: str | None  # orderNumber
    metadata: Any = None

    @classmethod
    def read(cls, raw: Any) -> Order:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            raise Unreadable(f"an order is {_shown(raw)}, not an order object")
        number = raw.get("orderNumber")
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        return cls(
            id=raw["id"],
            number=number.strip() if isinstance(number, str) and number.strip() else None,
            metadata=raw.get("metadata"),
        )


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _moment(raw: Any, name: str) -> datetime:
    if not isinstance(raw, str):
        raise Unreadable(f"{name} is {_shown(raw)}, not a date-time")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Unreadable(f"{name} is {raw!r}, not an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _links(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {
        rel: link["href"]
        for rel, link in raw.items()
        if isinstance(link, Mapping) and isinstance(link.get("href"), str)
    }


# -- which shop order a payment is for -------------------------------------------


@dataclass(frozen=True)
class ReferenceRules:
    """How the shop writes its order reference into Mollie's ``metadata``."""

    metadata_keys: tuple[str, ...] = DEFAULT_METADATA_KEYS
    text_is_order: bool = False  # plain-text metadata is the order reference

    @classmethod
    def of(cls, settings: PaymentSettings) -> ReferenceRules:
        return cls(settings.metadata_keys, settings.metadata_text_is_order)


@dataclass(frozen=True)
class Reference:
    """A payment's order reference at the shop, or None; ``reason`` says where
    it was found, or why there is none."""

    order: str | None
    reason: str

    @property
    def key(self) -> str | None:
        """The reference as a Business Central Code field holds it: Code fields are
        upper-case, so the shop's ``ord-abc`` is ``ORD-ABC`` in the ERP."""
        return order_key(self.order) if self.order is not None else None


def order_key(reference: str) -> str:
    return reference.strip().upper()


def metadata_reference(metadata: Any, rules: ReferenceRules) -> Reference:
    """The order reference in a payment's (or an order's) metadata, per the rules."""
    if metadata is None:
        return Reference(None, "no metadata")
    if isinstance(metadata, Mapping):
        return _from_object(metadata, rules, "metadata")
    if isinstance(metadata, str):
        text = metadata.strip()
        if not text:
            return Reference(None, "empty metadata")
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            return _from_object(parsed, rules, "metadata (JSON text)")
        if rules.text_is_order:
            return Reference(text, "metadata text")
        # Text may be anything (a note, a cart id); taking it for an order number
        # would report every such payment as missing from the ERP.
        return Reference(
            None,
            f"metadata is the text {_shown(text)}, read as an order reference only "
            "with [payments] metadata_text_is_order = true",
        )
    return Reference(None, f"metadata is {_shown(metadata)}, neither an object nor text")


def _from_object(metadata: Mapping[str, Any], rules: ReferenceRules, where: str) -> Reference:
    for key in rules.metadata_keys:
        value = metadata.get(key)
        # WooCommerce sends its order id as a number; booleans are no reference.
        if isinstance(value, int) and not isinstance(value, bool):
            return Reference(str(value), f"{where}.{key}")
        if isinstance(value, str) and value.strip():
            return Reference(value.strip(), f"{where}.{key}")
    keys = ", ".join(rules.metadata_keys) or "(none configured)"
    return Reference(None, f"{where} has none of the keys {keys} ([payments] metadata_keys)")


# -- whether the money stayed ------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    """What happened to a payment's money.

    ``kept`` holds only when the payment is paid and the money stayed: not
    refunded in full and not charged back. Mollie leaves the status ``paid``
    after a refund or a chargeback, so the status alone says too much.

    ``backs_a_paid_invoice``: the money came in, and what went back went back
    by the shop's own refund. The ERP books a refund as a credit memo and the
    invoice stays paid, so only a payment that never came in, or a chargeback
    (taken back against the shop's will), leaves a paid invoice unbacked."""

    kept: bool
    state: str  # for people: paid, refunded, charged back, or the provider's status
    reason: str

    @property
    def backs_a_paid_invoice(self) -> bool:
        return self.kept or self.state == "refunded"


def settlement(payment: Payment, chargebacks: Sequence[Chargeback] | None = None) -> Settlement:
    """Classify a payment; ``chargebacks``, when read, tell reversed ones apart."""
    amount = payment.amount
    if payment.status != "paid":
        return Settlement(False, payment.status, f"status {payment.status}")
    charged = _charged_back(payment, chargebacks)
    if charged > 0:
        part = "in full" if charged >= amount.value else "in part"
        return Settlement(
            False,
            "charged back",
            f"{amount.currency} {charged} of {amount} charged back ({part})",
        )
    refunded = payment.refunded.value if payment.refunded else Decimal(0)
    if refunded >= amount.value:
        # Mollie allows refunding more than was paid (return shipping costs).
        return Settlement(False, "refunded", f"{payment.refunded} of {amount} refunded")
    if refunded > 0:
        # A partial refund is a credit memo in the ERP; the invoice stays paid.
        return Settlement(True, "paid", f"paid; {payment.refunded} of {amount} refunded")
    return Settlement(True, "paid", "paid")


def _charged_back(payment: Payment, chargebacks: Sequence[Chargeback] | None) -> Decimal:
    if chargebacks is not None:
        return sum((c.amount.value for c in chargebacks if c.reversed_at is None), Decimal(0))
    return payment.charged_back.value if payment.charged_back else Decimal(0)


def needs_chargebacks(payment: Payment) -> bool:
    """Whether the chargebacks list can change the verdict: a paid payment with a
    chargeback may have had it reversed, which only the chargeback says."""
    if payment.status != "paid" or "chargebacks" not in payment.links:
        return False
    return payment.charged_back is None or payment.charged_back.value > 0


def is_refunded(payment: Mapping[str, Any]) -> bool:
    """Refunded in full (a Mollie payment as JSON); kept for monitors written before
    ``settlement``, which also sees chargebacks."""
    refunded = (payment.get("amountRefunded") or {}).get("value", "0.00")
    return Decimal(str(refunded)) >= Decimal(str(payment["amount"]["value"]))


# -- the client ----------------------------------------------------------------------


class BudgetSpent(Exception):
    """The call budget ran out before a list was read to its end."""


@dataclass
class CallBudget:
    """At most ``most`` extra calls; reconciliation must stay bounded on a busy shop."""

    most: int
    spent: int = 0

    def take(self) -> bool:
        if self.spent >= self.most:
            return False
        self.spent += 1
        return True


class PaymentProviderClient:
    def __init__(self, settings: PaymentSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.limits = Limits(settings.timeout, settings.connect_timeout)
        self.session = keep_credentials_home(bounded_session(self.limits, session))
        self.session.headers.update(
            {"Authorization": f"Bearer {settings.api_key}", "Accept": "application/hal+json"}
        )

    @property
    def test_mode(self) -> bool:
        return self.settings.api_key.startswith("test_")

    def _refuse_foreign(self, url: str, call: str, status: int | None) -> None:
        """The API key goes only to the host it was configured for: a link in an
        answer (a next page, a chargebacks list) that leads elsewhere is refused."""
        if _origin(url) != _origin(self.settings.base_url):

            def where(link: str) -> str:
                parts = urlsplit(link)
                return f"{parts.scheme}://{parts.netloc}"

            raise PaymentCallFailed(
                call,
                status=status,
                problem=(
                    f"it links to {where(url)}, not to {where(self.settings.base_url)}; "
                    "erpwatch sends the API key only to PSP_BASE_URL's host, so it did not follow"
                ),
                unexpected_body=True,
            )

    def request(self, method: str, url: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                expect: tuple[int, ...] = (200, 201)) -> dict[str, Any]:  # fmt: skip
        """One call; raises PaymentCallFailed (the provider's title and detail) unless the status is expected."""
        if not url.startswith("http"):
            url = f"{self.settings.base_url}/v2/{url}"
        call = call_label(method, url)
        self._refuse_foreign(url, call, None)
        response = send(
            self.session,
            method,
            url,
            call=call,
            failure=PaymentCallFailed,
            json=json,
            params=params,
        )
        if response.status_code not in expect:
            raise answer_failed(call, response, PaymentCallFailed)
        try:
            body = response.json()
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            raise PaymentCallFailed(
                call,
                status=response.status_code,
                problem="the answer is not a JSON object",
                unexpected_body=True,
            ) from None
        return body

    def _read(self, reader: Callable[[Any], T], raw: Any, call: str) -> T:
        try:
            return reader(raw)
        except Unreadable as error:
            raise PaymentCallFailed(
                call, status=200, problem=str(error), unexpected_body=True
            ) from None

    def _pages(
        self, path: str, key: str, *, most: int, budget: CallBudget | None = None
    ) -> Iterator[dict[str, Any]]:
        """The items of a paginated list (a path under /v2/, or a link the provider
        gave), following ``_links.next``, at most ``most`` of them; with a budget,
        each page is one call of it (BudgetSpent when it runs out first). Stops
        rather than loops: a page that links back to one already read, or an empty
        page that links on, is an answer erpwatch cannot use."""
        url = path if path.startswith("http") else f"{self.settings.base_url}/v2/{path}"
        params: dict[str, Any] | None = {"limit": max(1, min(most, PAGE_LIMIT))}
        if "?" in url:
            params = None  # a link from the provider carries its own query
        read: set[str] = set()
        given = 0
        pages = 0
        limit_s = PAGING_TIME_FACTOR * self.settings.timeout
        deadline = time.monotonic() + limit_s
        while given < most:
            if budget is not None and not budget.take():
                raise BudgetSpent
            call = call_label("GET", url)
            pages += 1
            page = self.request("GET", url, params=params, expect=(200,))
            items = (page.get("_embedded") or {}).get(key)
            if not isinstance(items, list):
                raise PaymentCallFailed(
                    call, status=200, problem=f"the page has no _embedded.{key} list", unexpected_body=True
                )  # fmt: skip
            for item in items:
                if given >= most:
                    return
                given += 1
                yield item
            following = (page.get("_links") or {}).get("next")
            href = following.get("href") if isinstance(following, Mapping) else None
            if not isinstance(href, str) or given >= most:
                return
            self._refuse_foreign(href, call, 200)
            problem = None
            if not items:
                problem = "an empty page links to a next page"
            elif href in read or href == url:
                problem = "the next page link leads back to a page already read (a paging loop)"
            elif pages >= MAX_PAGES:
                problem = f"the list still links to a next page after {pages} pages"
            elif time.monotonic() > deadline:
                problem = f"the list still links to a next page after {limit_s:g} s of paging"
            if problem:
                raise PaymentCallFailed(
                    call,
                    status=200,
                    problem=f"stopped after {pages} pages and {given} items: {problem}",
                    unexpected_body=True,
                )
            read.add(url)
            url, params = href, None

    # -- payments --------------------------------------------------------------------

    def create_payment(
        self,
        amount: Decimal | float | str,
        *,
        description: str,
        order_id: str,
        redirect_url: str,
        webhook_url: str | None,
        currency: str = "EUR",
    ) -> Payment:
        value = f"{Decimal(str(amount)).quantize(Decimal('0.01'))}"
        body: dict[str, Any] = {
            "amount": {"currency": currency, "value": value},
            "description": description,
            "redirectUrl": redirect_url,
            "metadata": {"order_id": order_id},
        }
        if webhook_url:
            body["webhookUrl"] = webhook_url
        raw = self.request("POST", "payments", json=body, expect=(201,))
        return self._read(
            Payment.read, raw, call_label("POST", f"{self.settings.base_url}/v2/payments")
        )

    def payment(self, payment_id: str) -> Payment:
        url = f"{self.settings.base_url}/v2/payments/{payment_id}"
        raw = self.request("GET", url, expect=(200,))
        return self._read(Payment.read, raw, call_label("GET", url))

    def payments(self, most: int) -> Iterator[Payment]:
        """The most recent payments, newest first, following the provider's pages."""
        call = call_label("GET", f"{self.settings.base_url}/v2/payments")
        for raw in self._pages("payments", "payments", most=most):
            yield self._read(Payment.read, raw, call)

    def chargebacks(
        self, payment: Payment, *, budget: CallBudget | None = None
    ) -> list[Chargeback] | None:
        """A payment's chargebacks, from its ``_links.chargebacks``; None when the
        budget ran out before the list was complete."""
        href = payment.links.get("chargebacks")
        if href is None:
            return []
        call = call_label("GET", href)
        self._refuse_foreign(href, call_label("GET", payment.links.get("self", href)), 200)
        try:
            return [
                self._read(Chargeback.read, raw, call)
                for raw in self._pages(href, "chargebacks", most=10_000, budget=budget)
            ]
        except BudgetSpent:
            return None

    def pay_in_test_checkout(self, payment: Payment, status: str = "paid") -> bool:
        """Choose the outcome in the provider's test checkout, as a tester would.

        False when the checkout offers no form with a ``status`` choice to submit:
        only erpwatch's sandbox has one; Mollie's hosted test checkout is a page
        for people. Nothing is paid then."""
        checkout = payment.checkout_url
        if checkout is None:
            return False
        # A session of its own: the API key has no business on a checkout page.
        plain = bounded_session(self.limits)
        page = send(
            plain, "GET", checkout, call=call_label("GET", checkout), failure=PaymentCallFailed
        )
        if page.status_code != 200 or 'name="status"' not in page.text:
            return False
        call = call_label("POST", checkout)
        response = send(
            plain,
            "POST",
            checkout,
            call=call,
            failure=PaymentCallFailed,
            data={"status": status},
            allow_redirects=False,
        )
        if response.status_code >= 400:
            raise answer_failed(call, response, PaymentCallFailed)
        return True

    def notify_webhook(
        self, webhook_url: str, payment_id: str, also_ok: Collection[int] = ()
    ) -> requests.Response:
        """Call the shop's webhook as Mollie does: a form POST with only ``id``. No
        credentials: the shop must fetch the payment from Mollie itself, which is
        why a notification can never make an unpaid order paid. Mollie counts only
        a 2xx answer as delivered; ``also_ok`` are the statuses with which a shop
        refuses a payment it did not create."""
        call = call_label("POST", webhook_url)
        response = send(
            bounded_session(self.limits),
            "POST",
            webhook_url,
            call=call,
            failure=PaymentCallFailed,
            data={"id": payment_id},
            allow_redirects=False,
        )
        if not 200 <= response.status_code < 300 and response.status_code not in also_ok:
            raise answer_failed(call, response, PaymentCallFailed)
        return response

    # -- orders ------------------------------------------------------------------------

    def order(self, order_id: str) -> Order:
        url = f"{self.settings.base_url}/v2/orders/{order_id}"
        raw = self.request("GET", url, expect=(200,))
        return self._read(Order.read, raw, call_label("GET", url))

    def order_references(
        self, order_ids: Collection[str], budget: CallBudget
    ) -> dict[str, Reference]:
        """The shop's order number (``orderNumber``) of Orders API orders, within the
        budget. Orders are listed newest first like payments, so for more than a
        couple a page or two of the list is cheaper than one call per order."""
        wanted = set(order_ids)
        found: dict[str, Reference] = {}
        call = call_label("GET", f"{self.settings.base_url}/v2/orders")
        if len(wanted) > 2:
            try:
                for raw in self._pages("orders", "orders", most=1_000_000, budget=budget):
                    order = self._read(Order.read, raw, call)
                    if order.id in wanted:
                        found[order.id] = _order_reference(order)
                        if len(found) == len(wanted):
                            break
            except BudgetSpent:
                pass  # the ones not found are named below
        for order_id in sorted(wanted - set(found)):
            if budget.take():
                found[order_id] = _order_reference(self.order(order_id))
            else:
                found[order_id] = Reference(
                    None,
                    f"order {order_id} not looked up: [payments] lookup_calls ({budget.most}) used up",
                )
        return found


def _order_reference(order: Order) -> Reference:
    if order.number is None:
        return Reference(None, f"order {order.id} has no orderNumber")
    return Reference(order.number, f"orderNumber of order {order.id}")

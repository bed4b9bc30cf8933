"""A payment provider client for monitors (Mollie API v2): payments created,
read and listed, with failures that name the call, like the ERP client's."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import requests

from .capture import call_label
from .config import PaymentSettings
from .erp import ErpCallFailed, answer_failed, wire_problem


class PaymentProviderClient:
    def __init__(self, settings: PaymentSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {settings.api_key}", "Accept": "application/hal+json"}
        )

    def request(self, method: str, url: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                expect: tuple[int, ...] = (200, 201)) -> dict[str, Any]:  # fmt: skip
        """One call; raises ErpCallFailed (the provider's title and detail) unless the status is expected."""
        if not url.startswith("http"):
            url = f"{self.settings.base_url}/v2/{url}"
        call = call_label(method, url)
        try:
            response = self.session.request(method, url, json=json, params=params, timeout=(5, 30))
        except requests.RequestException as error:
            raise ErpCallFailed(call, status=None, problem=wire_problem(error)) from error
        if response.status_code not in expect:
            raise answer_failed(call, response)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise ErpCallFailed(
                call,
                status=response.status_code,
                problem="the answer is not JSON",
                unexpected_body=True,
            ) from None
        return body

    def create_payment(
        self,
        amount: Decimal | float | str,
        *,
        description: str,
        order_id: str,
        redirect_url: str,
        webhook_url: str | None,
        currency: str = "EUR",
    ) -> dict[str, Any]:
        value = f"{Decimal(str(amount)).quantize(Decimal('0.01'))}"
        body: dict[str, Any] = {
            "amount": {"currency": currency, "value": value},
            "description": description,
            "redirectUrl": redirect_url,
            "metadata": {"order_id": order_id},
        }
        if webhook_url:
            body["webhookUrl"] = webhook_url
        return self.request("POST", "payments", json=body, expect=(201,))

    def payment(self, payment_id: str) -> dict[str, Any]:
        return self.request("GET", f"payments/{payment_id}", expect=(200,))

    def payments(self, most: int) -> Iterator[dict[str, Any]]:
        """The most recent payments, newest first, following the provider's pages."""
        url: str | None = "payments"
        params: dict[str, Any] | None = {"limit": min(most, 250)}
        seen = 0
        while url and seen < most:
            page = self.request("GET", url, params=params, expect=(200,))
            for payment in page.get("_embedded", {}).get("payments", []):
                if seen >= most:
                    return
                seen += 1
                yield payment
            following = (page.get("_links") or {}).get("next")
            url, params = (following["href"], None) if following else (None, None)

    def pay_in_test_checkout(self, payment: Mapping[str, Any], status: str = "paid") -> bool:
        """Choose the outcome in the provider's test checkout, as a tester would.

        False when the checkout offers no form with a ``status`` choice to submit
        (a hosted checkout meant for people); nothing is paid then."""
        checkout = payment["_links"]["checkout"]["href"]
        # Plain requests: the API key has no business on a checkout page.
        page = requests.get(checkout, timeout=(5, 30))
        if page.status_code != 200 or 'name="status"' not in page.text:
            return False
        call = call_label("POST", checkout)
        response = requests.post(
            checkout, data={"status": status}, allow_redirects=False, timeout=(5, 30)
        )
        if response.status_code >= 400:
            raise answer_failed(call, response)
        return True


def is_refunded(payment: Mapping[str, Any]) -> bool:
    refunded = (payment.get("amountRefunded") or {}).get("value", "0.00")
    return Decimal(str(refunded)) >= Decimal(str(payment["amount"]["value"]))

"""The sandbox payment provider, over HTTP: Mollie v2 shapes, the official client,
the test checkout, webhooks, and the shop's payment integration."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from mollie.api.client import Client
from mollie.api.error import NotFoundError, UnauthorizedError, UnprocessableEntityError

from erpwatch.sandbox import RunningSandbox, parse_fault

from .conftest import Api


def payment_body(order: str = "WEB-1001", value: str = "121.00", **extra: Any) -> dict[str, Any]:
    return {
        "amount": {"currency": "EUR", "value": value},
        "description": f"Order {order}",
        "redirectUrl": "https://webshop.example/thanks",
        "metadata": {"order_id": order},
        **extra,
    }


@pytest.fixture
def mollie(sandbox: RunningSandbox) -> Client:
    """The official client, pointed at the sandbox and nothing else."""
    settings = sandbox.settings()
    client = Client(api_endpoint=settings["PSP_BASE_URL"])
    client.set_api_key(settings["PSP_API_KEY"])
    return client


def test_the_official_mollie_client_works_unchanged(mollie: Client) -> None:
    created = mollie.payments.create(payment_body())
    assert created.id.startswith("tr_")
    assert created.is_open()
    assert created.amount == {"currency": "EUR", "value": "121.00"}
    assert created.metadata == {"order_id": "WEB-1001"}
    assert created.checkout_url.endswith(f"/checkout/{created.id}")
    assert mollie.payments.get(created.id).status == "open"
    for index in range(3):
        mollie.payments.create(payment_body(f"WEB-{index}"))
    first = mollie.payments.list(limit=2)
    assert first.count == 2
    assert first.has_next()  # type: ignore[no-untyped-call]
    rest = first.get_next()  # type: ignore[no-untyped-call]
    assert [p.id for p in rest][-1] == created.id  # newest first
    assert not rest.has_next()


def test_the_official_client_raises_its_own_errors_for_the_sandboxs_problems(
    mollie: Client, sandbox: RunningSandbox
) -> None:
    with pytest.raises(UnprocessableEntityError) as invalid:
        mollie.payments.create(payment_body(value="121"))
    assert invalid.value.field == "amount.value"
    with pytest.raises(NotFoundError, match="No payment exists with token tr_missing"):
        mollie.payments.get("tr_missing")
    stranger = Client(api_endpoint=sandbox.settings()["PSP_BASE_URL"])
    stranger.set_api_key("test_notTheSandboxKey00000000000000")
    with pytest.raises(UnauthorizedError):
        stranger.payments.get("tr_x")


def test_problems_come_as_problem_json(sandbox: RunningSandbox) -> None:
    root = sandbox.settings()["PSP_BASE_URL"]
    answer = requests.get(f"{root}/v2/payments/tr_x", timeout=5)
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/hal+json"
    assert answer.json()["title"] == "Unauthorized Request"
    key = {"Authorization": f"Bearer {sandbox.settings()['PSP_API_KEY']}"}
    bad = requests.post(
        f"{root}/v2/payments", json=payment_body(description=""), headers=key, timeout=5
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "description")


def test_the_test_checkout_pays_and_the_webhook_marks_the_erp_invoice_paid(
    sandbox: RunningSandbox, api: Api
) -> None:
    buyer = api("POST", "customers", json={"displayName": "Webhook test"}).json()
    invoice = api(
        "POST",
        "salesInvoices",
        json={"externalDocumentNumber": "WEB-7", "customerId": buyer["id"],
              "salesInvoiceLines": [{"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1}]},
    ).json()  # fmt: skip
    api("POST", f"salesInvoices({invoice['id']})/Microsoft.NAV.post")
    settings = sandbox.settings()
    key = {"Authorization": f"Bearer {settings['PSP_API_KEY']}"}
    payment = requests.post(
        f"{settings['PSP_BASE_URL']}/v2/payments",
        json=payment_body("WEB-7", webhookUrl=settings["PAYMENT_WEBHOOK_URL"]),
        headers=key,
        timeout=5,
    ).json()
    page = requests.get(payment["_links"]["checkout"]["href"], timeout=5)
    assert 'name="status" value="paid"' in page.text
    paid = requests.post(
        payment["_links"]["checkout"]["href"],
        data={"status": "paid"},
        allow_redirects=False,
        timeout=5,
    )
    assert (paid.status_code, paid.headers["Location"]) == (303, "https://webshop.example/thanks")
    for _ in range(50):
        current = api("GET", f"salesInvoices({invoice['id']})").json()
        if current["status"] == "Paid":
            break
        time.sleep(0.05)
    assert (current["status"], current["remainingAmount"]) == ("Paid", 0)
    shown = requests.get(
        f"{settings['PSP_BASE_URL']}/v2/payments/{payment['id']}", headers=key, timeout=5
    ).json()
    assert shown["status"] == "paid"
    assert shown["paidAt"]


def test_a_lost_webhook_leaves_the_invoice_open(sandbox: RunningSandbox, api: Api) -> None:
    sandbox.app.add_fault(parse_fault("webhook_lost"), sandbox.root_url)
    settings = sandbox.settings()
    key = {"Authorization": f"Bearer {settings['PSP_API_KEY']}"}
    payment = requests.post(
        f"{settings['PSP_BASE_URL']}/v2/payments",
        json=payment_body("WEB-8", webhookUrl=settings["PAYMENT_WEBHOOK_URL"]),
        headers=key,
        timeout=5,
    ).json()
    requests.post(
        f"{sandbox.root_url}/_sandbox/payments/{payment['id']}", json={"status": "paid"}, timeout=5
    )
    time.sleep(0.3)
    assert sandbox.app.erp.mark_invoice_paid(sandbox.app.erp.default_company_id, "WEB-8") == 0


def test_seeded_mismatches_show_in_both_systems(sandbox: RunningSandbox, api: Api) -> None:
    requests.post(
        f"{sandbox.root_url}/_sandbox/faults", json={"kind": "paid_but_failed"}, timeout=5
    )
    paid = api("GET", "salesInvoices", params={"$filter": "status eq 'Paid'"}).json()["value"]
    assert sorted(i["externalDocumentNumber"] for i in paid) == ["WEB-90001", "WEB-90002"]
    statuses = {p["metadata"]["order_id"]: p["status"] for p in sandbox.app.psp.payments.values()}
    assert statuses == {"WEB-90001": "failed", "WEB-90002": "expired"}


def order_body(number: str = "web-2001", **extra: Any) -> dict[str, Any]:
    """An Orders API order as a shop plugin sends it: lines that add up, VAT per line."""
    return {
        "amount": {"currency": "EUR", "value": "1027.99"},
        "orderNumber": number,
        "lines": [
            {
                "name": "LEGO 42083 Bugatti Chiron",
                "quantity": 2,
                "unitPrice": {"currency": "EUR", "value": "399.00"},
                "discountAmount": {"currency": "EUR", "value": "100.00"},
                "totalAmount": {"currency": "EUR", "value": "698.00"},
                "vatRate": "21.00",
                "vatAmount": {"currency": "EUR", "value": "121.14"},
            },
            {
                "name": "LEGO 42056 Porsche 911 GT3 RS",
                "quantity": 1,
                "unitPrice": {"currency": "EUR", "value": "329.99"},
                "totalAmount": {"currency": "EUR", "value": "329.99"},
                "vatRate": "21.00",
                "vatAmount": {"currency": "EUR", "value": "57.27"},
            },
        ],
        "billingAddress": {
            "givenName": "Piet",
            "familyName": "Mondriaan",
            "email": "piet@mondriaan.example",
            "streetAndNumber": "Keizersgracht 313",
            "postalCode": "1016 EE",
            "city": "Amsterdam",
            "country": "NL",
        },
        "redirectUrl": "https://webshop.example/thanks",
        "locale": "nl_NL",
        **extra,
    }


@pytest.mark.parametrize(
    "metadata",
    ["WEB-1001", '{"order_id": "WEB-1001"}', 1001, None, ["WEB-1001"], {"order_id": "WEB-1001"}],
    ids=["text", "json-text", "number", "none", "list", "object"],
)
def test_metadata_of_any_json_kind_comes_back_as_given(mollie: Client, metadata: Any) -> None:
    created = mollie.payments.create(payment_body(metadata=metadata))
    assert mollie.payments.get(created.id).metadata == metadata


def test_metadata_over_mollies_size_limit_is_refused(mollie: Client) -> None:
    with pytest.raises(UnprocessableEntityError) as refused:
        mollie.payments.create(payment_body(metadata="x" * 1100))
    assert refused.value.field == "metadata"


def test_a_payment_has_mollies_fields_and_omits_those_that_do_not_apply_yet(
    sandbox: RunningSandbox,
) -> None:
    settings = sandbox.settings()
    key = {"Authorization": f"Bearer {settings['PSP_API_KEY']}"}
    root = settings["PSP_BASE_URL"]
    created = requests.post(
        f"{root}/v2/payments", json=payment_body(locale="nl_BE"), headers=key, timeout=5
    ).json()
    assert set(created) == {
        "resource", "id", "mode", "createdAt", "amount", "description", "method", "metadata",
        "status", "isCancelable", "expiresAt", "locale", "profileId", "sequenceType",
        "redirectUrl", "_links",
    }  # fmt: skip
    assert set(created["_links"]) == {"self", "checkout", "dashboard", "documentation"}
    requests.post(
        f"{sandbox.root_url}/_sandbox/payments/{created['id']}", json={"status": "paid"}, timeout=5
    )
    shown = requests.get(f"{root}/v2/payments/{created['id']}", headers=key, timeout=5).json()
    assert "isCancelable" not in shown  # Mollie omits it once the payment is final
    assert shown["amountRefunded"] == {"currency": "EUR", "value": "0.00"}
    assert shown["amountRemaining"] == shown["amount"]
    assert shown["paidAt"]
    assert shown["method"] == "ideal"
    assert "amountChargedBack" not in shown  # only when something was charged back


def test_lists_come_in_small_pages_that_the_official_client_follows(mollie: Client) -> None:
    made = [mollie.payments.create(payment_body(f"WEB-{n}")).id for n in range(7)]
    first = mollie.payments.list()  # Mollie's default is 50; the sandbox gives 5
    assert first.count == 5
    rest = first.get_next()  # type: ignore[no-untyped-call]
    assert [p.id for p in [*first, *rest]] == made[::-1]
    assert not rest.has_next()


def test_an_order_makes_a_payment_with_an_order_id_and_no_metadata(mollie: Client) -> None:
    order = mollie.orders.create(order_body(metadata={"order_id": "17"}), embed="payments")
    assert (order.order_number, order.status, order.metadata) == (
        "web-2001",
        "created",
        {"order_id": "17"},
    )
    [payment] = list(order.payments.list())
    assert (payment.order_id, payment.metadata) == (order.id, None)
    assert payment.amount == {"currency": "EUR", "value": "1027.99"}
    assert payment.description == "Order web-2001"
    assert mollie.orders.get(order.id).order_number == "web-2001"
    assert [o.id for o in mollie.orders.list()] == [order.id]
    assert mollie.payments.get(payment.id).get_order().id == order.id  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"locale": None}, "locale"),
        ({"orderNumber": ""}, "orderNumber"),
        ({"amount": {"currency": "EUR", "value": "1000.00"}}, "amount"),
        ({"billingAddress": {"givenName": "Piet"}}, "billingAddress.familyName"),
    ],
)
def test_an_order_mollie_would_refuse_is_refused(
    mollie: Client, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**order_body(), **change}.items() if v is not None}
    with pytest.raises(UnprocessableEntityError) as refused:
        mollie.orders.create(body)
    assert refused.value.field == field


def test_order_lines_must_add_up_with_their_vat(mollie: Client) -> None:
    body = order_body()
    body["lines"][1]["vatAmount"] = {"currency": "EUR", "value": "57.28"}
    with pytest.raises(UnprocessableEntityError) as refused:
        mollie.orders.create(body)
    assert (refused.value.field, str(refused.value)) == (
        "lines.1.vatAmount",
        "The VAT amount is wrong, expected EUR 57.27.",
    )


def test_a_paid_order_calls_the_order_webhook_and_the_shop_marks_the_invoice_paid(
    sandbox: RunningSandbox, api: Api, mollie: Client
) -> None:
    buyer = api("POST", "customers", json={"displayName": "Order webhook test"}).json()
    invoice = api(
        "POST",
        "salesInvoices",
        json={"externalDocumentNumber": "WEB-2002", "customerId": buyer["id"],
              "salesInvoiceLines": [{"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1}]},
    ).json()  # fmt: skip
    api("POST", f"salesInvoices({invoice['id']})/Microsoft.NAV.post")
    # The shop's order number is lower-case; Business Central holds it upper-case.
    order = mollie.orders.create(
        order_body("web-2002", webhookUrl=sandbox.settings()["PAYMENT_WEBHOOK_URL"]),
        embed="payments",
    )
    [payment] = list(order.payments.list())
    requests.post(payment.checkout_url, data={"status": "paid"}, allow_redirects=False, timeout=5)
    for _ in range(50):
        current = api("GET", f"salesInvoices({invoice['id']})").json()
        if current["status"] == "Paid":
            break
        time.sleep(0.05)
    assert current["status"] == "Paid"
    assert mollie.orders.get(order.id).status == "paid"


def test_a_chargeback_keeps_the_payment_paid_and_shows_in_the_official_client(
    sandbox: RunningSandbox, mollie: Client
) -> None:
    payment = mollie.payments.create(payment_body())
    control = f"{sandbox.root_url}/_sandbox/payments/{payment.id}"
    refused = requests.post(control, json={"chargeback": True}, timeout=5)
    assert (refused.status_code, refused.json()["detail"]) == (
        422,
        "Only a paid payment can be charged back.",
    )
    requests.post(control, json={"status": "paid"}, timeout=5)
    requests.post(control, json={"chargeback": "21.00"}, timeout=5)
    requests.post(control, json={"chargeback": "100.00", "reversed": True}, timeout=5)
    too_much = requests.post(control, json={"chargeback": "0.01"}, timeout=5)
    assert too_much.status_code == 422
    charged = mollie.payments.get(payment.id)
    assert charged.status == "paid"
    assert charged.amount_chargedback == {"currency": "EUR", "value": "121.00"}
    assert charged.amount_remaining == {"currency": "EUR", "value": "0.00"}
    assert charged.has_chargebacks()  # type: ignore[no-untyped-call]
    listed = {c.amount["value"]: c.reversed_at for c in charged.chargebacks.list()}
    assert listed["21.00"] is None
    assert listed["100.00"] is not None


def test_the_charged_back_fault_seeds_a_chargeback_and_a_reversed_one(
    sandbox: RunningSandbox, api: Api
) -> None:
    sandbox.app.add_fault(parse_fault("charged_back"), sandbox.root_url)
    paid = api("GET", "salesInvoices", params={"$filter": "status eq 'Paid'"}).json()["value"]
    assert sorted(i["externalDocumentNumber"] for i in paid) == ["WEB-90003", "WEB-90004"]
    psp = sandbox.app.psp
    by_order = {p["metadata"]["order_id"]: p for p in psp.payments.values()}
    assert {o: (p["status"], p["amountChargedBack"]["value"]) for o, p in by_order.items()} == {
        "WEB-90003": ("paid", "233.29"),
        "WEB-90004": ("paid", "233.29"),
    }
    reversed_at = {o: psp.chargebacks[p["id"]][0]["reversedAt"] for o, p in by_order.items()}
    assert reversed_at["WEB-90003"] is None
    assert reversed_at["WEB-90004"] is not None


def test_the_shops_webhook_answers_200_to_an_id_it_does_not_know_and_500_when_broken(
    sandbox: RunningSandbox,
) -> None:
    webhook = sandbox.settings()["PAYMENT_WEBHOOK_URL"]
    assert requests.post(webhook, data={"id": "tr_unknown"}, timeout=5).status_code == 200
    assert requests.post(webhook, data={"id": "ord_unknown"}, timeout=5).status_code == 200
    sandbox.app.add_fault(parse_fault("webhook_broken"), sandbox.root_url)
    broken = requests.post(webhook, data={"id": "tr_unknown"}, timeout=5)
    assert (broken.status_code, broken.text) == (500, "Internal Server Error")

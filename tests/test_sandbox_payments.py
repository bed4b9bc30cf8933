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
    statuses = {
        p["metadata"]["order_id"]: (p["status"], p.get("amountRefunded"))
        for p in sandbox.app.psp.payments.values()
    }
    assert statuses["WEB-90001"][0] == "failed"
    assert statuses["WEB-90002"][1] == {"currency": "EUR", "value": "233.29"}

"""The payment monitors end to end, through the sandbox, with the kinds of payments
real shops leave at Mollie: metadata as text, payments made through the Orders
API, refunds and chargebacks, more than one page of them."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from erpwatch.sandbox import RunningSandbox, parse_fault

from .support import ran
from .test_fault_matrix import HEALTHY, run_monitors, write_config
from .test_sandbox_payments import order_body

RECONCILIATION = "test_every_paid_payment_is_paid_in_the_erp_and_every_paid_invoice_was_paid"
WEBHOOK_CHECK = "test_the_shops_webhook_answers_the_providers_notification_of_a_test_payment"
EARLIER = datetime.now(UTC) - timedelta(hours=2)  # past the grace period


def paid_payment(sandbox: RunningSandbox, metadata: Any, **status: Any) -> str:
    psp = sandbox.app.psp
    payment = psp.create(
        {
            "amount": {"currency": "EUR", "value": "233.29"},
            "description": "Order",
            "redirectUrl": "https://webshop.example/thanks",
            "metadata": metadata,
        },
        sandbox.root_url,
        created_at=EARLIER,
    )
    psp.set_status(payment["id"], "paid", at=EARLIER, **status)
    return str(payment["id"])


def paid_order(sandbox: RunningSandbox, number: str) -> None:
    order = sandbox.app.psp.create_order(
        order_body(number), sandbox.root_url, created_at=EARLIER, embed=["payments"]
    )
    sandbox.app.psp.set_status(order["_embedded"]["payments"][0]["id"], "paid", at=EARLIER)


def invoice(sandbox: RunningSandbox, reference: str, *, paid: bool) -> None:
    """An ERP invoice under its Business Central spelling: Code fields are upper-case."""
    erp = sandbox.app.erp
    company = erp.default_company_id
    if paid:
        erp.paid_invoice(company, reference.upper(), "C00020")
        return
    created = erp.create(
        company,
        "salesInvoices",
        {
            "externalDocumentNumber": reference.upper(),
            "customerNumber": "C00020",
            "salesInvoiceLines": [
                {"lineType": "Item", "lineObjectNumber": "1900-S", "quantity": 1}
            ],
        },
    )
    erp.post_invoice(company, created["id"])


def seed_a_healthy_shop(sandbox: RunningSandbox) -> None:
    """Nine paid payments (two pages and more), every one with its invoice paid."""
    paid_payment(sandbox, '{"order_id": "web-3001"}')  # metadata as JSON text
    invoice(sandbox, "web-3001", paid=True)
    paid_payment(sandbox, "web-3002")  # metadata as plain text: the order number
    invoice(sandbox, "web-3002", paid=True)
    paid_order(sandbox, "web-3003")  # Orders API: no metadata on the payment
    invoice(sandbox, "web-3003", paid=True)
    reversed_one = paid_payment(sandbox, {"order_id": "web-3004"})
    sandbox.app.psp.charge_back(reversed_one, reversed_=True)  # the money came back
    invoice(sandbox, "web-3004", paid=True)
    paid_payment(sandbox, {"order_id": "web-3005"}, refunded=True)  # refunded: not paid
    invoice(sandbox, "web-3005", paid=False)
    # Paid, then refunded in full: a credit memo in the ERP, the invoice stays paid.
    paid_payment(sandbox, {"order_id": "web-3011"}, refunded=True)
    invoice(sandbox, "web-3011", paid=True)
    for n in range(6, 10):
        paid_payment(sandbox, {"order_number": f"web-300{n}", "order_id": n})
        invoice(sandbox, f"web-300{n}", paid=True)


def config_with(tmp_path: Path, payments: str) -> Path:
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("[payments]\n", f"[payments]\n{payments}\n"))
    return config


@pytest.mark.parametrize("text_is_order", [False, True], ids=["text-ignored", "text-is-order"])
def test_a_healthy_run_with_text_metadata_and_orders_api_payments_passes(
    tmp_path: Path, sandbox: RunningSandbox, text_is_order: bool
) -> None:
    seed_a_healthy_shop(sandbox)
    setting = f"metadata_text_is_order = {str(text_is_order).lower()}"
    completed, data = run_monitors(
        tmp_path, sandbox.settings(), config=config_with(tmp_path, setting)
    )
    statuses = {m["name"]: m["status"] for m in ran(data["monitors"])}
    assert statuses == HEALTHY, completed.stdout


def test_a_paid_orders_api_payment_whose_invoice_is_open_is_flagged_by_its_order_number(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    seed_a_healthy_shop(sandbox)
    paid_order(sandbox, "web-3010")
    invoice(sandbox, "web-3010", paid=False)
    completed, data = run_monitors(tmp_path, sandbox.settings())
    failed = [m for m in ran(data["monitors"]) if m["status"] != "passed"]
    assert [m["name"] for m in failed] == [RECONCILIATION], completed.stdout
    assert failed[0]["diagnosis"]["category"] == "data_mismatch"
    assert (
        "1 payment(s) disagree with the ERP: WEB-3010 EUR 1027.99: provider paid, ERP Open"
        in (failed[0]["message"])
    )


def test_a_plain_text_order_number_is_compared_only_when_configured(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    paid_payment(sandbox, "web-3020")
    invoice(sandbox, "web-3020", paid=False)
    _, ignored = run_monitors(tmp_path / "default", sandbox.settings())
    assert {m["name"]: m["status"] for m in ran(ignored["monitors"])} == HEALTHY
    completed, compared = run_monitors(
        tmp_path / "text",
        sandbox.settings(),
        config=config_with(tmp_path / "text", "metadata_text_is_order = true"),
    )
    failed = next(m for m in compared["monitors"] if m["name"] == RECONCILIATION)
    assert failed["status"] == "failed", completed.stdout
    assert "WEB-3020 EUR 233.29: provider paid, ERP Open" in failed["message"]


def test_reconciliation_skips_saying_why_when_no_payment_names_an_order(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    paid_payment(sandbox, {"cart": "c-1"})
    completed, data = run_monitors(
        tmp_path,
        {**sandbox.settings(), "PAYMENT_WEBHOOK_URL": ""},  # no test payments of its own
        config=config_with(tmp_path, 'metadata_keys = ["shop_order"]'),
    )
    skipped = next(m for m in data["monitors"] if m["name"] == RECONCILIATION)
    assert skipped["status"] == "skipped", completed.stdout
    assert "none of the 1 payment(s) names a shop order" in skipped["message"]
    assert "metadata has none of the keys shop_order" in skipped["message"]


def test_a_broken_webhook_endpoint_fails_the_webhook_check_with_the_shops_answer(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    sandbox.app.add_fault(parse_fault("webhook_broken"), sandbox.root_url)
    completed, data = run_monitors(tmp_path, sandbox.settings())
    check = next(m for m in data["monitors"] if m["name"] == WEBHOOK_CHECK)
    assert check["status"] == "failed", completed.stdout
    diagnosis = check["diagnosis"]
    assert (diagnosis["category"], diagnosis["call"], diagnosis["status"]) == (
        "erp_error",
        "POST /_shop/mollie-webhook",
        500,
    )


@pytest.fixture
def woocommerce_webhook() -> Iterator[tuple[str, list[str]]]:
    """A webhook shaped like Mollie's WooCommerce plugin: it refuses, with 400, a
    notification without its own order_id and key, and 404s an order it does not
    know; a payment erpwatch made is always a stranger to it."""
    seen: list[str] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        seen.append(request.form.get("id", ""))
        status = 400 if "order_id" not in request.args else 404
        return Response("", status=status)(environ, start_response)

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/?wc-api=mollie_return", seen
    server.shutdown()


@pytest.mark.parametrize("accepted", [None, "[400, 404]"], ids=["default", "configured"])
def test_a_webhook_that_refuses_strangers_fails_unless_its_answer_is_configured_as_alive(
    tmp_path: Path,
    sandbox: RunningSandbox,
    woocommerce_webhook: tuple[str, list[str]],
    accepted: str | None,
) -> None:
    url, seen = woocommerce_webhook
    env = {**sandbox.settings(), "PAYMENT_WEBHOOK_URL": url}
    setting = f"webhook_ok_statuses = {accepted}" if accepted else ""
    completed, data = run_monitors(tmp_path, env, config=config_with(tmp_path, setting))
    check = next(m for m in data["monitors"] if m["name"] == WEBHOOK_CHECK)
    assert seen, "the webhook was never called"
    assert all(id_.startswith("tr_") for id_ in seen), seen
    if accepted is None:
        assert check["status"] == "failed", completed.stdout
        assert check["diagnosis"]["status"] == 400
    else:
        assert check["status"] == "passed", completed.stdout

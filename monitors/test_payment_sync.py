"""What the payment provider says is paid must be paid in the ERP, and the reverse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from erpwatch import (
    DataMismatch,
    ErpClient,
    PaymentProviderClient,
    PaymentsOutOfSync,
    ReferenceRules,
    SyntheticData,
    read_provider,
    reconcile,
    wait_until,
)

pytestmark = pytest.mark.process("payments", critical=True)

TEST_CUSTOMER = "ERPWATCH payment checks (permanent test customer)"


def payment_test_customer(erp: ErpClient) -> dict[str, Any]:
    """One customer for every run: posted invoices keep it from being deleted."""
    found = erp.find("customers", displayName=TEST_CUSTOMER)
    if found:
        return found[0]
    return erp.create(
        "customers", {"displayName": TEST_CUSTOMER, "type": "Person", "country": "BE"}
    )


@pytest.mark.leaves_records("a posted invoice cannot be deleted from the ERP")
def test_a_payment_paid_at_the_provider_marks_the_erp_invoice_paid(
    erp: ErpClient,
    psp: PaymentProviderClient,
    synthetic: SyntheticData,
) -> None:
    payments = psp.settings
    if not payments.webhook_url:
        pytest.skip("PAYMENT_WEBHOOK_URL is not set: the shop's webhook endpoint for the provider")

    order_number = synthetic.reference()
    invoice = erp.create(
        "salesInvoices",
        {
            "externalDocumentNumber": order_number,
            "customerId": payment_test_customer(erp)["id"],
            "salesInvoiceLines": [
                {"lineType": "Item", "lineObjectNumber": erp.settings.test_item, "quantity": 1}
            ],
        },
    )
    erp.request("POST", f"salesInvoices({invoice['id']})/Microsoft.NAV.post", expect=(204,))
    invoice = erp.read("salesInvoices", invoice["id"])
    assert invoice["status"] == "Open", (
        f"POST salesInvoices(…)/Microsoft.NAV.post left the invoice {invoice['status']}"
    )

    payment = psp.create_payment(
        invoice["totalAmountIncludingTax"],
        description=f"Order {order_number}",
        order_id=order_number,
        redirect_url="https://webshop.example/checkout/thanks",
        webhook_url=payments.webhook_url,
    )
    if not psp.pay_in_test_checkout(payment):
        # Mollie's hosted test checkout is a page for a person to click; nothing
        # pays a real test payment without one. The webhook check below runs.
        pytest.skip(
            "only the erpwatch sandbox's test checkout can be paid without a person; "
            "against real Mollie this check cannot run (the webhook check and reconciliation do)"
        )
    assert psp.payment(payment.id).status == "paid", (
        "the provider did not record the test payment as paid"
    )

    settled = wait_until(
        lambda: erp.read("salesInvoices", invoice["id"]),
        lambda current: current["status"] == "Paid",
        timeout=payments.sync_timeout,
    )
    if settled["status"] != "Paid":
        raise DataMismatch(
            f"GET /salesInvoices(…) {settled['number']}",
            [],
            {
                "status": ("Paid", settled["status"]),
                "remainingAmount": (0, settled["remainingAmount"]),
            },
            summary=f"does not show the payment {payment.id} after {payments.sync_timeout:g} s",
            expected="the provider says",
        )


def test_the_shops_webhook_answers_the_providers_notification_of_a_test_payment(
    psp: PaymentProviderClient, synthetic: SyntheticData
) -> None:
    """What runs against real Mollie too: a test-mode payment with the shop's webhook,
    and that webhook called as Mollie calls it (``id=tr_…``). Mollie counts only a
    2xx answer as delivered; otherwise it retries and then gives up, and the shop
    never learns the payment's status."""
    payments = psp.settings
    if not payments.webhook_url:
        pytest.skip("PAYMENT_WEBHOOK_URL is not set: the shop's webhook endpoint for the provider")
    if not psp.test_mode:
        pytest.skip("PSP_API_KEY is a live key: erpwatch creates payments in test mode only")
    payment = psp.create_payment(
        "1.00",
        description=f"erpwatch webhook check {synthetic.tag}",
        order_id=synthetic.reference(),
        redirect_url="https://webshop.example/checkout/thanks",
        webhook_url=payments.webhook_url,
    )
    # An open payment changes nothing at the shop; the provider lets it expire.
    psp.notify_webhook(payments.webhook_url, payment.id, also_ok=payments.webhook_ok_statuses)


def test_every_paid_payment_is_paid_in_the_erp_and_every_paid_invoice_was_paid(
    erp: ErpClient,
    psp: PaymentProviderClient,
    record_property: Callable[[str, object], None],
) -> None:
    """Reconciliation of real data: read-only, so safe on a live ERP."""
    settings = psp.settings
    entries = read_provider(
        psp,
        most=settings.lookback,
        rules=ReferenceRules.of(settings),
        lookup_calls=settings.lookup_calls,
    )
    if entries and all(e.reference.order is None for e in entries):
        reasons = sorted({e.reference.reason for e in entries})
        pytest.skip(
            f"none of the {len(entries)} payment(s) names a shop order erpwatch can read "
            f"({'; '.join(reasons)}): see [payments] metadata_keys in erpwatch.toml"
        )
    paid_in_erp = [
        invoice["externalDocumentNumber"] for invoice in erp.find("salesInvoices", status="Paid")
    ]

    def erp_status(order: str) -> str:
        invoices = erp.find("salesInvoices", externalDocumentNumber=order)
        return str(invoices[0]["status"]) if invoices else "no invoice"

    result = reconcile(
        entries,
        paid_in_erp,
        settled_before=datetime.now(UTC) - timedelta(minutes=settings.grace_minutes),
        erp_status=erp_status,
    )
    record_property("payments", result.summary())
    if result.mismatches:
        raise PaymentsOutOfSync(result.mismatches)

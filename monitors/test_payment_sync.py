"""What the payment provider says is paid must be paid in the ERP, and the reverse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from erpwatch import (
    DataMismatch,
    ErpClient,
    PaymentProviderClient,
    PaymentsOutOfSync,
    Settings,
    StatusMismatch,
    SyntheticData,
    is_refunded,
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
    erpwatch_settings: Settings,
) -> None:
    payments = erpwatch_settings.payments
    assert payments is not None
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
        # Mollie's hosted checkout is a page for people; reconciliation still runs.
        pytest.skip(
            "the provider's test checkout offers no form to choose a status (only the sandbox's does)"
        )
    assert psp.payment(payment["id"])["status"] == "paid", (
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
            summary=f"does not show the payment {payment['id']} after {payments.sync_timeout:g} s",
            expected="the provider says",
        )


def test_every_paid_payment_is_paid_in_the_erp_and_every_paid_invoice_was_paid(
    erp: ErpClient, psp: PaymentProviderClient, erpwatch_settings: Settings
) -> None:
    """Reconciliation of real data: read-only, so safe on a live ERP."""
    settings = erpwatch_settings.payments
    assert settings is not None
    settled_before = datetime.now(UTC) - timedelta(minutes=settings.grace_minutes)
    by_order: dict[str, list[dict[str, Any]]] = {}
    for payment in psp.payments(most=settings.lookback):
        order = (payment.get("metadata") or {}).get("order_id")
        if order:
            by_order.setdefault(str(order), []).append(payment)
    paid_in_erp = {
        invoice["externalDocumentNumber"]: invoice
        for invoice in erp.find("salesInvoices", status="Paid")
    }

    mismatches = []
    for order, payments in sorted(by_order.items()):
        paid = [p for p in payments if p["status"] == "paid" and not is_refunded(p)]
        amount = f"{payments[0]['amount']['currency']} {payments[0]['amount']['value']}"
        provider = ", ".join(
            sorted({"refunded" if is_refunded(p) else p["status"] for p in payments})
        )
        settled = [
            p
            for p in paid
            if datetime.fromisoformat(p.get("paidAt") or p["createdAt"]) < settled_before
        ]
        if settled and order not in paid_in_erp:
            invoices = erp.find("salesInvoices", externalDocumentNumber=order)
            mismatches.append(
                StatusMismatch(
                    order, amount, "paid", invoices[0]["status"] if invoices else "no invoice"
                )
            )
        if order in paid_in_erp and not paid:
            mismatches.append(StatusMismatch(order, amount, provider, "Paid"))
    if mismatches:
        raise PaymentsOutOfSync(mismatches)

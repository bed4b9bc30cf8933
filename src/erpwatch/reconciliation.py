"""Payment reconciliation: what the payment provider says was paid, against
what the ERP says is paid, joined on the shop's order reference.

Reading the provider (``read_provider``) and comparing (``reconcile``) are
separate so the comparison can be checked on recorded answers, and so that
the monitor stays a few readable lines.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .checks import StatusMismatch
from .psp import (
    CallBudget,
    Payment,
    PaymentProviderClient,
    Reference,
    ReferenceRules,
    Settlement,
    metadata_reference,
    needs_chargebacks,
    order_key,
    settlement,
)


@dataclass(frozen=True)
class Entry:
    """One payment as reconciliation sees it: for which order, and whether the money stayed."""

    payment: Payment
    reference: Reference
    settlement: Settlement


def read_provider(
    psp: PaymentProviderClient, *, most: int, rules: ReferenceRules, lookup_calls: int
) -> list[Entry]:
    """The last ``most`` payments with their order reference and settlement.

    Payments made through the Orders API carry no metadata: their order's
    ``orderNumber`` is looked up. A paid payment with a chargeback gets its
    chargebacks read, since a reversed one gave the money back. Both within
    ``lookup_calls`` extra calls; what the budget did not reach is named."""
    payments = list(psp.payments(most=most))
    budget = CallBudget(lookup_calls)
    references = {p.id: metadata_reference(p.metadata, rules) for p in payments}
    wanted = {p.order_id for p in payments if references[p.id].order is None and p.order_id}
    by_order = psp.order_references(wanted, budget) if wanted else {}
    entries = []
    for payment in payments:
        reference = references[payment.id]
        if reference.order is None and payment.order_id:
            reference = by_order[payment.order_id]
        chargebacks = (
            psp.chargebacks(payment, budget=budget) if needs_chargebacks(payment) else None
        )
        entries.append(Entry(payment, reference, settlement(payment, chargebacks)))
    return entries


@dataclass(frozen=True)
class Reconciliation:
    mismatches: list[StatusMismatch]
    orders: int  # orders compared with the ERP
    unreferenced: list[Entry] = field(default_factory=list)  # payments naming no order

    def summary(self) -> str:
        text = f"{self.orders} order(s) compared"
        if self.unreferenced:
            reasons = sorted({e.reference.reason for e in self.unreferenced})
            text += f"; {len(self.unreferenced)} payment(s) without an order reference ({'; '.join(reasons)})"
        return text


def reconcile(
    entries: Sequence[Entry],
    paid_in_erp: Collection[str],
    *,
    settled_before: datetime,
    erp_status: Callable[[str], str],
) -> Reconciliation:
    """Both directions, per order (order keys as the ERP holds them, upper-case):

    - a payment that is paid, whose money stayed, and that was paid before
      ``settled_before`` (the grace period), must have its invoice paid in the ERP;
    - an invoice paid in the ERP must have a payment whose money came in and was
      not charged back (a refund is a credit memo: the invoice stays paid).

    ``paid_in_erp`` holds the order keys of invoices the ERP has as paid;
    ``erp_status(order)`` says what the ERP has instead, for the report."""
    paid_keys = {order_key(order) for order in paid_in_erp}
    by_order: dict[str, list[Entry]] = {}
    unreferenced = []
    for entry in entries:
        key = entry.reference.key
        if key is None:
            unreferenced.append(entry)
        else:
            by_order.setdefault(key, []).append(entry)

    mismatches = []
    for order, group in sorted(by_order.items()):
        first = group[0].payment.amount
        amount = f"{first.currency} {first.value}"
        kept = [e for e in group if e.settlement.kept]
        settled = [e for e in kept if (e.payment.paid_at or e.payment.created_at) < settled_before]
        if settled and order not in paid_keys:
            mismatches.append(StatusMismatch(order, amount, "paid", erp_status(order)))
        if order in paid_keys and not any(e.settlement.backs_a_paid_invoice for e in group):
            provider = ", ".join(sorted({e.settlement.state for e in group}))
            mismatches.append(StatusMismatch(order, amount, provider, "Paid"))
    return Reconciliation(mismatches, len(by_order), unreferenced)

"""Tryton: a webshop order must become a sale with its lines and amounts, and go
through quotation and confirmation as the integration drives it.

Confirming queues the sale's processing (its invoice, and shipments for goods).
Where that runs at once (Tryton without a queue worker), the sale cannot be
removed afterwards: it and its customer are reported as leftovers, saying why."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from erpwatch import (
    SALE_CONFIRMED_STATES,
    SyntheticData,
    TrytonClient,
    remove_party,
    remove_sale,
)

pytestmark = pytest.mark.process("orders", critical=True)

# A product the shop sells and the ERP partner keeps for monitoring, like the
# Business Central monitors' test item.
PRODUCT_CODE = "1896-S"
UNIT_PRICE = Decimal("1000.80")


def a_synthetic_customer(
    tryton: TrytonClient, synthetic: SyntheticData, customer: dict[str, Any]
) -> tuple[int, int]:
    """The order's customer, created as the shop does at checkout: its id and address id."""
    belgium = tryton.search_read("country.country", [("code", "=", "BE")], ["id"], limit=1)
    assert belgium, "Tryton has no country with code BE"
    address = {
        "street": customer["addressLine1"],
        "postal_code": customer["postalCode"],
        "city": customer["city"],
        "country": belgium[0]["id"],
    }
    party_id = tryton.create(
        "party.party", {"name": customer["displayName"], "addresses": [["create", [address]]]}
    )
    synthetic.remember(f"party.party {party_id}", lambda: remove_party(tryton, party_id))
    [address_id] = tryton.read("party.party", party_id, ["addresses"])["addresses"]
    return party_id, address_id


def test_a_webshop_order_is_quoted_and_confirmed_in_tryton(
    tryton: TrytonClient, synthetic: SyntheticData, belgian_consumer: dict[str, Any]
) -> None:
    products = tryton.search_read(
        "product.product", [("code", "=", PRODUCT_CODE)], ["id", "default_uom"], limit=1
    )
    assert products, f"Tryton has no product {PRODUCT_CODE}: the shop's orders cannot be entered"
    [product] = products
    party_id, address_id = a_synthetic_customer(tryton, synthetic, belgian_consumer)
    reference = synthetic.reference()
    line = {
        "type": "line",
        "product": product["id"],
        "quantity": 2.0,
        "unit": product["default_uom"],
        "unit_price": UNIT_PRICE,
        "description": "ATHENS Desk",
    }
    sale_id = tryton.create(
        "sale.sale",
        {
            "party": party_id,
            "invoice_address": address_id,
            "shipment_address": address_id,
            "reference": reference,
            "lines": [["create", [line]]],
        },
    )
    synthetic.remember(f"sale.sale {sale_id} ({reference})", lambda: remove_sale(tryton, sale_id))

    tryton.click("sale.sale", "quote", [sale_id])
    tryton.click("sale.sale", "confirm", [sale_id])

    expected = {"reference": reference, "total_amount": 2 * UNIT_PRICE}
    sale = tryton.read_back(
        "sale.sale",
        sale_id,
        sent=expected,
        fields=expected,
        # Confirmed, and perhaps already processed by Tryton's queue: not a draft,
        # a quotation or cancelled.
        one_of={"state": SALE_CONFIRMED_STATES},
        also=["number", "lines"],
        find_by=[("reference", "=", reference)],
    )
    assert sale["number"], "Tryton confirmed the sale without giving it a number"
    assert len(sale["lines"]) == 1, f"the sale has {len(sale['lines'])} lines, not 1"
    sent_line = {"product": product["id"], "quantity": 2.0, "unit_price": UNIT_PRICE}
    tryton.read_back("sale.line", sale["lines"][0], sent=sent_line, fields=sent_line)

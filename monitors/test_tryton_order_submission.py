"""Tryton: a webshop order must become a sale with its lines and amounts, and go
through quotation and confirmation as the integration drives it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from erpwatch import SyntheticData, TrytonClient

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
    party_id = synthetic.create_in_tryton(
        tryton,
        "party.party",
        {"name": customer["displayName"], "addresses": [["create", [address]]]},
    )
    [address_id] = tryton.read("party.party", party_id, ["addresses"])["addresses"]
    return party_id, address_id


def take_back_and_remove(tryton: TrytonClient, sale_id: int) -> None:
    """A confirmed sale goes back to draft, is cancelled, then deleted."""
    if not tryton.search_read("sale.sale", [("id", "=", sale_id)], ["id"]):
        return
    state = tryton.read("sale.sale", sale_id, ["state"])["state"]
    if state in ("quotation", "confirmed"):
        tryton.click("sale.sale", "draft", [sale_id])
    if state != "cancelled":
        tryton.click("sale.sale", "cancel", [sale_id])
    tryton.delete("sale.sale", [sale_id])


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
    synthetic.remember(
        f"sale.sale {sale_id} ({reference})", lambda: take_back_and_remove(tryton, sale_id)
    )

    tryton.click("sale.sale", "quote", [sale_id])
    tryton.click("sale.sale", "confirm", [sale_id])

    expected = {"reference": reference, "state": "confirmed", "total_amount": 2 * UNIT_PRICE}
    sale = tryton.read_back(
        "sale.sale",
        sale_id,
        sent=expected,
        fields=expected,
        also=["number", "lines"],
        find_by=[("reference", "=", reference)],
    )
    assert sale["number"], "Tryton confirmed the sale without giving it a number"
    assert len(sale["lines"]) == 1, f"the sale has {len(sale['lines'])} lines, not 1"
    sent_line = {"product": product["id"], "quantity": 2.0, "unit_price": UNIT_PRICE}
    tryton.read_back("sale.line", sale["lines"][0], sent=sent_line, fields=sent_line)

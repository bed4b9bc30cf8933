"""Procurement systems must be able to punch out to the shop and order from it."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from erpwatch import (
    DataMismatch,
    ErpClient,
    NotPersisted,
    OciClient,
    OrderLine,
    PunchoutClient,
    SyntheticData,
    purchase_order_number,
    remove_entity,
    wait_until,
)

pytestmark = pytest.mark.process("punchout", critical=True)

BUYER_HOOK = "https://procurement.example/punchout/return"


def test_a_buyer_can_punch_out_and_a_purchase_order_reaches_the_erp(
    punchout: PunchoutClient, erp: ErpClient, synthetic: SyntheticData
) -> None:
    start_page = punchout.setup(buyer_cookie=synthetic.reference(), browser_form_post=BUYER_HOOK)
    catalog = punchout.open(start_page)
    assert "<html" in catalog.lower(), f"GET {start_page}: the StartPage is not an HTML catalog"

    settings = punchout.settings
    po_number = purchase_order_number(synthetic.reference())  # ≤ 35: the ERP's Code[35]
    item = erp.find("items", number=erp.settings.test_item)[0]
    line = OrderLine(
        item["number"],
        2,
        Decimal(str(item["unitPrice"])),
        item["displayName"],
        auxiliary_id=settings.auxiliary_id,
    )
    punchout.order(po_number, [line])

    orders: list[dict[str, Any]] = wait_until(
        lambda: erp.find("salesOrders", externalDocumentNumber=po_number),
        bool,
        timeout=settings.order_timeout,
    )
    for order in orders:
        removal = partial(remove_entity, erp, "salesOrders", order["id"])
        synthetic.remember(f"salesOrders {order['number']}", removal)
    if not orders:
        raise NotPersisted(
            "OrderRequest",
            f"the shop accepted purchase order {po_number} (cXML Status 200), but no ERP sales order has it "
            f"as externalDocumentNumber after {settings.order_timeout:g} s",
            status=200,
        )


def test_an_oci_transfer_returns_complete_well_formed_items(oci: OciClient) -> None:
    # Called as SAP calls it; the test item goes into the basket and the basket is transferred.
    fields = oci.transfer(hook_url=BUYER_HOOK)
    problems = oci.problems(fields)
    if problems:
        raise DataMismatch(
            "OCI transfer to HOOK_URL",
            [],
            problems,
            summary="is not well-formed",
            expected="expected",
            actual="got",
        )

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
    PunchoutClient,
    Settings,
    SyntheticData,
    oci_problems,
    wait_until,
)
from erpwatch.cxml import OrderLine
from erpwatch.synthetic import remove_entity

pytestmark = pytest.mark.process("punchout", critical=True)

BUYER_HOOK = "https://procurement.example/punchout/return"


def test_a_buyer_can_punch_out_and_a_purchase_order_reaches_the_erp(
    punchout: PunchoutClient, erp: ErpClient, synthetic: SyntheticData, erpwatch_settings: Settings
) -> None:
    start_page = punchout.setup(buyer_cookie=synthetic.reference(), browser_form_post=BUYER_HOOK)
    catalog = punchout.open(start_page)
    assert "<html" in catalog.lower(), f"GET {start_page}: the StartPage is not an HTML catalog"

    po_number = f"PO-{synthetic.reference()}"
    item = erp.find("items", number=erp.settings.test_item)[0]
    punchout.order(
        po_number,
        [OrderLine(item["number"], 2, Decimal(str(item["unitPrice"])), item["displayName"])],
    )

    settings = erpwatch_settings.punchout
    assert settings is not None
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
    fields = oci.transfer(hook_url=BUYER_HOOK)
    problems = oci_problems(fields)
    if problems:
        raise DataMismatch(
            "OCI transfer to HOOK_URL",
            [],
            problems,
            summary="is not well-formed",
            expected="expected",
            actual="got",
        )

"""An order placed in the webshop must reach the ERP with its lines and totals."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from erpwatch import ErpClient, SyntheticData, expect_document_totals

pytestmark = pytest.mark.process("orders", critical=True)


def test_a_webshop_order_reaches_the_erp_with_its_lines_and_totals(
    erp: ErpClient, synthetic: SyntheticData, belgian_consumer: dict[str, Any]
) -> None:
    item_number = erp.settings.test_item
    items = erp.find("items", number=item_number)
    assert items, f"GET /items found no item {item_number} (ERP_TEST_ITEM) to order"
    assert not items[0]["blocked"], f"GET /items: test item {item_number} is blocked in the ERP"
    item_number = items[0]["number"]  # as the ERP spells it

    customer = synthetic.create(erp, "customers", belgian_consumer)
    webshop_order_number = synthetic.reference()
    sent = {
        "externalDocumentNumber": webshop_order_number,
        "customerId": customer["id"],
        "orderDate": date.today().isoformat(),
        "currencyCode": "EUR",
        "salesOrderLines": [
            {"lineType": "Item", "lineObjectNumber": item_number, "quantity": 2},
            {"lineType": "Item", "lineObjectNumber": item_number, "quantity": 1},
        ],
    }
    order = synthetic.create(erp, "salesOrders", sent)

    stored = erp.read_back(
        "salesOrders",
        order,
        sent=sent,
        fields=("externalDocumentNumber", "customerId"),
        find_by={"externalDocumentNumber": webshop_order_number},
        expand="salesOrderLines",
    )

    lines = stored["salesOrderLines"]
    assert [(line["lineObjectNumber"], line["quantity"]) for line in lines] == [
        (item_number, 2),
        (item_number, 1),
    ], "GET /salesOrders(…)?$expand=salesOrderLines: the lines differ from the order sent"
    # Totals after the invoice discount the ERP may give this customer.
    expect_document_totals(stored, lines, call="GET /salesOrders(…)?$expand=salesOrderLines")

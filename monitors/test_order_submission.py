"""An order placed in the webshop must reach the ERP with its lines and totals."""

from __future__ import annotations

from datetime import date

import pytest

from erpwatch import ErpClient, SyntheticData, expect_same_fields

pytestmark = pytest.mark.process("orders", critical=True)


def test_a_webshop_order_reaches_the_erp_with_its_lines_and_totals(
    erp: ErpClient, synthetic: SyntheticData, belgian_company: dict[str, object]
) -> None:
    item_number = erp.settings.test_item
    items = erp.find("items", number=item_number)
    assert items, f"GET /items found no item {item_number} (ERP_TEST_ITEM) to order"
    item = items[0]
    assert not item["blocked"], f"GET /items: test item {item_number} is blocked in the ERP"

    customer = synthetic.create(erp, "customers", belgian_company)
    webshop_order_number = synthetic.reference()
    order = synthetic.create(
        erp,
        "salesOrders",
        {
            "externalDocumentNumber": webshop_order_number,
            "customerId": customer["id"],
            "orderDate": date.today().isoformat(),
            "currencyCode": "EUR",
            "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": item_number, "quantity": 2},
                {"lineType": "Item", "lineObjectNumber": item_number, "quantity": 1},
            ],
        },
    )

    by_id = erp.read("salesOrders", order["id"], expand="salesOrderLines")
    expect_same_fields(
        order, by_id, ("number", "externalDocumentNumber", "customerId"), call="GET /salesOrders(…)"
    )

    found = erp.find("salesOrders", externalDocumentNumber=webshop_order_number)
    assert [o["id"] for o in found] == [order["id"]], (
        f"GET /salesOrders?$filter=externalDocumentNumber eq '{webshop_order_number}' "
        f"found {len(found)} order(s) instead of the one just created"
    )

    lines = by_id["salesOrderLines"]
    assert [(line["lineObjectNumber"], line["quantity"]) for line in lines] == [
        (item_number, 2),
        (item_number, 1),
    ], "GET /salesOrders(…)?$expand=salesOrderLines: the lines differ from the order sent"
    lines_total = round(sum(line["amountExcludingTax"] for line in lines), 2)
    assert by_id["totalAmountExcludingTax"] == pytest.approx(lines_total), (
        "GET /salesOrders(…): totalAmountExcludingTax "
        f"{by_id['totalAmountExcludingTax']} is not the sum of its lines ({lines_total})"
    )
    assert by_id["totalAmountIncludingTax"] >= by_id["totalAmountExcludingTax"] > 0, (
        "GET /salesOrders(…): the order total including tax is not plausible "
        f"({by_id['totalAmountIncludingTax']} incl. vs {by_id['totalAmountExcludingTax']} excl.)"
    )

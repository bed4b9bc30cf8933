"""This shop's own monitor, beside the shared ones: the item the webshop sells
must be orderable in the ERP (not blocked, with a price), or every web order of
it fails at the ERP while the shop still shows it."""

from __future__ import annotations

import pytest

from erpwatch import ErpClient

pytestmark = pytest.mark.process("catalogue")


def test_the_item_the_webshop_sells_is_orderable_in_the_erp(erp: ErpClient) -> None:
    item_number = erp.settings.test_item
    items = erp.find("items", number=item_number)
    assert items, f"GET /items found no item {item_number} (ERP_TEST_ITEM)"
    item = items[0]
    assert not item["blocked"], f"GET /items: item {item_number} is blocked in the ERP"
    assert item["unitPrice"] > 0, f"GET /items: item {item_number} has no sales price in the ERP"

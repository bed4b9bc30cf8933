"""A customer registered in the webshop must exist in the ERP with the same data."""

from __future__ import annotations

from typing import Any

import pytest

from erpwatch import ErpClient, SyntheticData

pytestmark = pytest.mark.process("customers", critical=True)

FIELDS_THE_SHOP_RELIES_ON = (
    "displayName",
    "type",
    "addressLine1",
    "city",
    "postalCode",
    "country",
    "email",
    "taxRegistrationNumber",
    "currencyCode",
)


def test_a_new_webshop_customer_can_be_read_back_from_the_erp(
    erp: ErpClient, synthetic: SyntheticData, belgian_company: dict[str, Any]
) -> None:
    created = synthetic.create(erp, "customers", belgian_company)
    assert created.get("number"), "POST /customers answered without a customer number"

    erp.read_back("customers", created, sent=belgian_company, fields=FIELDS_THE_SHOP_RELIES_ON)

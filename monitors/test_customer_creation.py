"""A customer registered in the webshop must exist in the ERP with the same data."""

from __future__ import annotations

import pytest

from erpwatch import ErpClient, SyntheticData, expect_same_fields

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
    erp: ErpClient, synthetic: SyntheticData, belgian_company: dict[str, object]
) -> None:
    created = synthetic.create(erp, "customers", belgian_company)
    assert created.get("number"), "POST /customers answered without a customer number"

    stored = erp.read("customers", created["id"])

    expect_same_fields(belgian_company, stored, FIELDS_THE_SHOP_RELIES_ON, call="GET /customers(…)")

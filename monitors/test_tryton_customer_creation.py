"""Tryton: a customer registered in the webshop must exist as a party, with its
Belgian address and VAT number, exactly as the shop sent it."""

from __future__ import annotations

from typing import Any

import pytest

from erpwatch import SyntheticData, TrytonClient

pytestmark = pytest.mark.process("customers", critical=True)


def country_id(tryton: TrytonClient, code: str) -> int:
    found = tryton.search_read("country.country", [("code", "=", code)], ["id"], limit=1)
    assert found, f"Tryton has no country with code {code}: the shop's customers cannot be created"
    return int(found[0]["id"])


def test_a_new_webshop_customer_becomes_a_tryton_party_with_address_and_vat(
    tryton: TrytonClient, synthetic: SyntheticData, belgian_company: dict[str, Any]
) -> None:
    address = {
        "street": belgian_company["addressLine1"],
        "postal_code": belgian_company["postalCode"],
        "city": belgian_company["city"],
        "country": country_id(tryton, belgian_company["country"]),
    }
    vat = {"type": "eu_vat", "code": belgian_company["taxRegistrationNumber"]}
    email = {"type": "email", "value": belgian_company["email"]}
    party_id = synthetic.create_in_tryton(
        tryton,
        "party.party",
        {
            "name": belgian_company["displayName"],
            "addresses": [["create", [address]]],
            "identifiers": [["create", [vat]]],
            "contact_mechanisms": [["create", [email]]],
        },
    )

    party = tryton.read_back(
        "party.party",
        party_id,
        sent={"name": belgian_company["displayName"]},
        fields=["name"],
        also=["code", "addresses", "identifiers", "contact_mechanisms"],
        find_by=[("name", "=", belgian_company["displayName"])],
    )
    assert party["code"], "Tryton gave the new party no code"
    assert len(party["addresses"]) == 1, f"the party has {len(party['addresses'])} addresses, not 1"
    tryton.read_back("party.address", party["addresses"][0], sent=address, fields=address)
    tryton.read_back("party.identifier", party["identifiers"][0], sent=vat, fields=vat)
    tryton.read_back(
        "party.contact_mechanism", party["contact_mechanisms"][0], sent=email, fields=email
    )

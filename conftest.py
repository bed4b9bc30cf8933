"""Project fixtures shared by the monitors: realistic test data, kept thin."""

from __future__ import annotations

from typing import Any

import pytest

from erpwatch import SyntheticData


@pytest.fixture
def belgian_company(synthetic: SyntheticData) -> dict[str, Any]:
    """A business customer as a Belgian B2B webshop sends it to the ERP."""
    return {
        "displayName": f"Brasserie De Gouden Leeuw BV {synthetic.tag}",
        "type": "Company",
        "addressLine1": "Korenmarkt 14",
        "city": "Gent",
        "postalCode": "9000",
        "country": "BE",
        "email": f"{synthetic.reference().lower()}@example.com",
        "phoneNumber": "+32 9 123 45 67",
        "taxRegistrationNumber": "BE0403170701",
        "currencyCode": "EUR",
    }


@pytest.fixture
def belgian_consumer(synthetic: SyntheticData) -> dict[str, Any]:
    """A private customer as most webshop orders come in: no VAT number."""
    return {
        "displayName": f"Sofie Peeters {synthetic.tag}",
        "type": "Person",
        "addressLine1": "Rue de la Station 27",
        "city": "Namur",
        "postalCode": "5000",
        "country": "BE",
        "email": f"{synthetic.reference().lower()}@example.com",
        "currencyCode": "EUR",
    }

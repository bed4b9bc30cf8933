"""The party client as a pytest fixture: monitors ask for ``acme``."""

from __future__ import annotations

import pytest

from erpwatch import Settings

from . import AcmeClient


@pytest.fixture(scope="session")
def acme(erpwatch_settings: Settings) -> AcmeClient:
    """Acme ERP; skipped, naming the variable, when ACME_URL is not set."""
    url = erpwatch_settings.env.get("ACME_URL")
    if not url:
        pytest.skip("Acme ERP is not configured: set ACME_URL")
    # The time-out every party's calls get ([erp] timeout in erpwatch.toml).
    return AcmeClient(url, timeout=erpwatch_settings.erp_timeout)

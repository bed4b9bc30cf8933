"""Fixtures for monitor authors: the ERP client, synthetic data, settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ._attempts import LEFTOVERS_KEY
from ._run import MonitorRun
from .capture import RECORDER
from .config import Settings
from .erp import ErpClient

if TYPE_CHECKING:
    from .psp import PaymentProviderClient
    from .punchout import OciClient, PunchoutClient
    from .tryton import TrytonClient
from .synthetic import SyntheticData


def _run(request: pytest.FixtureRequest) -> MonitorRun:
    from .plugin import ACTIVATION_KEY

    activation = request.config.stash[ACTIVATION_KEY]
    if activation.run is None:
        pytest.fail(f"erpwatch is not active: {activation.dormant_reason}", pytrace=False)
    return activation.run


@pytest.fixture(scope="session")
def erpwatch_settings(request: pytest.FixtureRequest) -> Settings:
    """The validated settings of this monitoring run."""
    return _run(request).settings


@pytest.fixture(scope="session")
def erp(request: pytest.FixtureRequest, erpwatch_settings: Settings) -> ErpClient:
    """An authenticated Business Central client (token fetched once, renewed when needed)."""
    if erpwatch_settings.erp is None:
        pytest.skip(
            "the ERP is not configured: set ERP_BASE_URL "
            "(a live run never uses the built-in sandbox)"
        )
    return ErpClient(erpwatch_settings.erp, redactor=RECORDER.redactor)


@pytest.fixture(scope="session")
def tryton(erpwatch_settings: Settings) -> Iterator[TrytonClient]:
    """A Tryton ERP over JSON-RPC, logged in on the first call; skipped, naming the
    variables, when not configured."""
    if erpwatch_settings.tryton is None:
        pytest.skip(
            "Tryton is not configured: set TRYTON_URL, TRYTON_DATABASE, TRYTON_USER and TRYTON_PASSWORD"
        )
    from .tryton import TrytonCallFailed, TrytonClient

    client = TrytonClient(erpwatch_settings.tryton, redactor=RECORDER.redactor)
    yield client
    # A failed logout needs no report: the monitors already said what is wrong.
    with contextlib.suppress(TrytonCallFailed):
        client.logout()


@pytest.fixture(scope="session")
def psp(erpwatch_settings: Settings) -> PaymentProviderClient:
    """The payment provider (Mollie API v2); skipped, naming the variable, when not configured."""
    if erpwatch_settings.payments is None:
        pytest.skip("the payment provider is not configured: set PSP_BASE_URL and PSP_API_KEY")
    from .psp import PaymentProviderClient  # lxml and friends only when a monitor needs them

    return PaymentProviderClient(erpwatch_settings.payments)


@pytest.fixture(scope="session")
def punchout(erpwatch_settings: Settings) -> PunchoutClient:
    """The shop's cXML punchout; skipped, naming the variable, when not configured."""
    if erpwatch_settings.punchout is None:
        pytest.skip(
            "cXML punchout is not configured: set PUNCHOUT_SETUP_URL and the other PUNCHOUT_* variables"
        )
    from .punchout import PunchoutClient

    return PunchoutClient(erpwatch_settings.punchout)


@pytest.fixture(scope="session")
def oci(erpwatch_settings: Settings) -> OciClient:
    """The shop's OCI catalog; skipped, naming the variable, when not configured."""
    if erpwatch_settings.oci is None:
        pytest.skip("OCI punchout is not configured: set OCI_URL, OCI_USERNAME and OCI_PASSWORD")
    from .punchout import OciClient

    return OciClient(erpwatch_settings.oci)


@pytest.fixture
def synthetic(request: pytest.FixtureRequest) -> Iterator[SyntheticData]:
    """Creates tagged test records and removes them after the monitor, whatever happened."""
    data = SyntheticData(_run(request).run_id)
    yield data
    try:
        data.cleanup()
    finally:
        # Added to, never replaced: a retried monitor's first attempt left these too,
        # and an interrupted cleanup still lists what it could not remove.
        request.node.stash.setdefault(LEFTOVERS_KEY, []).extend(data.leftovers)

"""Credentials go only to the origin they were configured for: a redirect from
the ERP, its token endpoint, the payment provider, a punchout shop or Tryton to
another origin (here: a second loopback server, another port) is refused before
anything is sent there, and the refusal is diagnosed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from werkzeug.wrappers import Request, Response

from erpwatch import CallFailed, ErpAuthFailed, ErpClient
from erpwatch.capture import Recorder
from erpwatch.config import (
    ErpSettings,
    OciSettings,
    PaymentSettings,
    PunchoutSettings,
    TrytonSettings,
)
from erpwatch.diagnosis import Category, classify
from erpwatch.diagnosis._failure import describe_failure
from erpwatch.psp import PaymentProviderClient
from erpwatch.punchout import OciClient, PunchoutClient
from erpwatch.tryton import TrytonClient

from .loopback import Loopback, serve

COMPANY = "5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21"
CLIENT_SECRET = "client-secret-that-must-stay"
API_KEY = "test_apiKeyThatMustStayHome0000000"


def _ok(request: Request) -> Response:
    return Response(json.dumps({"value": [], "result": [1, "s"]}), content_type="application/json")


@pytest.fixture
def elsewhere() -> Iterator[Loopback]:
    """The other origin: it must never hear from erpwatch."""
    with serve(_ok) as server:
        yield server


def home(
    elsewhere: Loopback, status: int, redirect_token: bool = False
) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        if request.path == "/token" and not redirect_token:
            answer = {"access_token": "home-token-1234", "expires_in": 3599}
            return Response(json.dumps(answer), content_type="application/json")
        if request.path.startswith("/moved"):
            return _ok(request)
        return Response("", status=status, headers={"Location": f"{elsewhere.url}/stolen"})

    return handler


def erp_settings(url: str) -> ErpSettings:
    return ErpSettings(
        base_url=f"{url}/api/v2.0",
        token_url=f"{url}/token",
        client_id="client",
        client_secret=CLIENT_SECRET,
        scope="api",
        company_id=COMPANY,
        test_item="1896-S",
        timeout=5,
        connect_timeout=5,
        sandbox=False,
    )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_an_erp_call_redirected_to_another_origin_is_refused_and_sends_nothing_there(
    elsewhere: Loopback, status: int
) -> None:
    with serve(home(elsewhere, status)) as erp:
        client = ErpClient(erp_settings(erp.url))
        with pytest.raises(CallFailed) as refused:
            client.request("POST", "customers", json={"displayName": "x"})
    assert elsewhere.received == []
    assert f"{status} redirect to {elsewhere.url} refused" in str(refused.value)
    assert f"credentials only to {erp.url}" in str(refused.value)
    assert not refused.value.transient  # the same redirect comes again: no retry


def test_a_token_endpoint_that_redirects_elsewhere_does_not_get_to_resend_the_secret(
    elsewhere: Loopback,
) -> None:
    # A 307 would make requests post the same body, client_secret and all, to the target.
    with (
        serve(home(elsewhere, 307, redirect_token=True)) as erp,
        pytest.raises(ErpAuthFailed, match=r"307 redirect to .* refused"),
    ):
        ErpClient(erp_settings(erp.url)).token()
    assert elsewhere.received == []


def test_a_redirect_within_the_erps_own_origin_is_still_followed(elsewhere: Loopback) -> None:
    def handler(request: Request) -> Response:
        if request.path == "/token":
            return Response(
                '{"access_token": "t-1234", "expires_in": 3599}', content_type="application/json"
            )
        if request.path.startswith("/moved"):
            return _ok(request)
        return Response("", status=307, headers={"Location": "/moved"})

    with serve(handler) as erp:
        answer = ErpClient(erp_settings(erp.url)).request("GET", "customers")
    assert answer.status_code == 200
    assert erp.received[-1].url.endswith("/moved")
    assert erp.received[-1].headers["Authorization"] == "Bearer t-1234"


def test_a_full_url_on_another_origin_gets_no_erp_token(elsewhere: Loopback) -> None:
    with (
        serve(home(elsewhere, 302)) as erp,
        pytest.raises(CallFailed, match="not the ERP's own address"),
    ):
        ErpClient(erp_settings(erp.url)).request("GET", f"{elsewhere.url}/api/v2.0/customers")
    assert elsewhere.received == []


def test_a_payment_provider_redirect_elsewhere_gets_no_api_key(elsewhere: Loopback) -> None:
    with serve(home(elsewhere, 302)) as psp:
        settings = PaymentSettings(
            base_url=psp.url, api_key=API_KEY, webhook_url=None, sync_timeout=60,
            grace_minutes=15, lookback=10, sandbox=False,
        )  # fmt: skip
        with pytest.raises(CallFailed, match=r"302 redirect to .* refused"):
            PaymentProviderClient(settings).request("GET", "payments")
    assert elsewhere.received == []


def test_a_punchout_shop_redirect_elsewhere_gets_no_shared_secret(elsewhere: Loopback) -> None:
    with serve(home(elsewhere, 307)) as shop:
        settings = PunchoutSettings(
            setup_url=f"{shop.url}/punchout/setup", order_url=f"{shop.url}/punchout/order",
            from_domain="NetworkId", from_identity="buyer", to_domain="DUNS", to_identity="shop",
            sender_domain="NetworkId", sender_identity="buyer", shared_secret="cxml-shared-secret",
            order_timeout=60,
        )  # fmt: skip
        with pytest.raises(CallFailed, match=r"307 redirect to .* refused"):
            PunchoutClient(settings).setup("cookie-1", "https://buyer.example/return")
    assert elsewhere.received == []


def test_an_oci_catalogue_redirect_elsewhere_is_not_followed(elsewhere: Loopback) -> None:
    with serve(home(elsewhere, 307)) as shop:
        settings = OciSettings(
            url=f"{shop.url}/oci", username="buyer", password="oci-password", method="POST"
        )
        with pytest.raises(CallFailed, match=r"307 redirect to .* refused"):
            OciClient(settings).transfer("https://sap.example/hook")
    assert elsewhere.received == []


def test_a_tryton_redirect_elsewhere_gets_no_password(elsewhere: Loopback) -> None:
    with serve(home(elsewhere, 307)) as tryton:
        settings = TrytonSettings(
            url=f"{tryton.url}/", database="shop", user="admin", password="tryton-password",
            timeout=5, connect_timeout=5,
        )  # fmt: skip
        with pytest.raises(CallFailed, match=r"307 redirect to .* refused"):
            TrytonClient(settings).login()
    assert elsewhere.received == []


def test_a_refused_redirect_is_recorded_and_diagnosed_as_such(
    elsewhere: Loopback, recorder: Recorder
) -> None:
    with (
        serve(home(elsewhere, 302)) as erp,
        recorder.recording() as log,
        pytest.raises(CallFailed) as refused,
    ):
        ErpClient(erp_settings(erp.url)).request("GET", "customers")
    exchange = log.last
    assert exchange is not None
    assert (exchange.status, exchange.error_type) == (302, "RedirectRefused")
    assert exchange.response_headers["Location"] == f"{elsewhere.url}/stolen"
    diagnosis = classify(list(log), describe_failure(refused.value))
    assert diagnosis is not None
    assert diagnosis.category is Category.UNEXPECTED_RESPONSE
    assert diagnosis.headline.startswith("GET /companies(…)/customers → 302: 302 redirect to")


def test_a_shop_page_that_redirects_elsewhere_is_followed_like_a_browser_without_the_password(
    elsewhere: Loopback,
) -> None:
    # SAP's catalogue call carries the password in its query; the shop's redirect
    # does not, and a browser would follow it: so does the OCI client.
    with serve(home(elsewhere, 302)) as shop:
        settings = OciSettings(url=f"{shop.url}/oci", username="buyer", password="oci-password")
        with pytest.raises(CallFailed):  # the page there is no shop
            OciClient(settings).transfer("https://sap.example/hook")
    assert [r.url for r in elsewhere.received] == [f"{elsewhere.url}/stolen"]
    assert "oci-password" in shop.received[0].url
    for received in elsewhere.received:
        assert "oci-password" not in f"{received.url} {received.headers} {received.body!r}"

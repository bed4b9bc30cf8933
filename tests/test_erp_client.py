"""The ERP client's edge cases, against HTTP answers the sandbox would never give."""

from __future__ import annotations

import pytest
import requests
import responses
from responses import matchers

from erpwatch import ErpAuthFailed, ErpCallFailed, ErpClient
from erpwatch.capture import RECORDER
from erpwatch.config import ErpSettings
from erpwatch.redact import Redactor

BASE = "https://erp.example/api/v2.0"
TOKEN_URL = "https://login.example/tenant/oauth2/v2.0/token"
COMPANY = "5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21"


def settings(company_id: str | None = COMPANY) -> ErpSettings:
    return ErpSettings(
        base_url=BASE,
        token_url=TOKEN_URL,
        client_id="client",
        client_secret="very-secret",
        scope="https://api.businesscentral.dynamics.com/.default",
        company_id=company_id,
        test_item="1896-S",
        timeout=30,
        connect_timeout=5,
        sandbox=False,
    )


def token(value: str = "token-1", expires_in: int = 3599) -> responses.BaseResponse:
    answer = {"access_token": value, "token_type": "Bearer", "expires_in": expires_in}
    registered: responses.BaseResponse = responses.post(TOKEN_URL, json=answer)
    return registered


@responses.activate
def test_the_token_is_fetched_once_and_sent_as_bearer() -> None:
    fetch = token()
    auth = matchers.header_matcher({"Authorization": "Bearer token-1"})
    items = responses.get(f"{BASE}/companies({COMPANY})/items", json={"value": []}, match=[auth])
    client = ErpClient(settings())
    client.find("items")
    client.find("items")
    assert fetch.call_count == 1
    assert items.call_count == 2


@responses.activate
def test_a_401_renews_the_token_and_sends_the_call_once_more() -> None:
    responses.post(TOKEN_URL, json={"access_token": "old", "expires_in": 3599})
    responses.post(TOKEN_URL, json={"access_token": "new", "expires_in": 3599})
    url = f"{BASE}/companies({COMPANY})/customers"
    responses.post(
        url,
        status=401,
        json={"error": {"code": "Authentication_InvalidCredentials", "message": "x"}},
        match=[matchers.header_matcher({"Authorization": "Bearer old"})],
    )
    responses.post(
        url,
        status=201,
        json={"id": "c"},
        match=[matchers.header_matcher({"Authorization": "Bearer new"})],
    )
    assert ErpClient(settings()).create("customers", {"displayName": "X"}) == {"id": "c"}


@responses.activate
def test_a_second_401_is_reported_as_the_erp_answered_it() -> None:
    token()
    token()
    responses.get(
        f"{BASE}/companies({COMPANY})/items",
        status=401,
        json={"error": {"code": "Authentication_InvalidCredentials", "message": "No access."}},
    )
    with pytest.raises(ErpCallFailed) as failure:
        ErpClient(settings()).find("items")
    assert failure.value.status == 401
    assert failure.value.code == "Authentication_InvalidCredentials"
    assert not failure.value.transient


@responses.activate
def test_an_expiring_token_is_renewed_before_it_runs_out() -> None:
    first = token("short", expires_in=0)
    responses.get(f"{BASE}/companies({COMPANY})/items", json={"value": []})
    client = ErpClient(settings())
    client.find("items")
    client.find("items")
    assert first.call_count == 2


@responses.activate
def test_refused_credentials_raise_an_auth_failure_with_the_providers_words() -> None:
    responses.post(
        TOKEN_URL,
        status=401,
        json={
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
        },
    )
    with pytest.raises(ErpAuthFailed) as failure:
        ErpClient(settings()).find("items")
    assert str(failure.value) == (
        "POST /tenant/oauth2/v2.0/token → 401 invalid_client: AADSTS7000215: Invalid client secret provided."
    )


@responses.activate
def test_a_token_answer_without_a_token_is_an_auth_failure() -> None:
    responses.post(TOKEN_URL, json={"token_type": "Bearer"})
    with pytest.raises(ErpAuthFailed, match="the answer has no access_token"):
        ErpClient(settings()).find("items")


@responses.activate
def test_the_token_becomes_a_secret_for_redaction() -> None:
    token("super-token-value")
    responses.get(f"{BASE}/companies({COMPANY})/items", json={"value": []})
    redactor = Redactor()
    ErpClient(settings(), redactor=redactor).find("items")
    assert redactor.text("echo super-token-value") == "echo [redacted]"


@responses.activate
def test_an_odata_error_carries_status_code_message_and_retry_after() -> None:
    token()
    responses.post(
        f"{BASE}/companies({COMPANY})/salesOrders",
        status=429,
        headers={"Retry-After": "12"},
        json={
            "error": {
                "code": "Application_TooManyRequests",
                "message": "Slow down.  CorrelationId:  x.",
            }
        },
    )
    with pytest.raises(ErpCallFailed) as failure:
        ErpClient(settings()).create("salesOrders", {})
    error = failure.value
    assert (error.status, error.code, error.retry_after, error.transient) == (
        429,
        "Application_TooManyRequests",
        12.0,
        True,
    )
    assert str(error).startswith(
        "POST /companies(…)/salesOrders → 429 Application_TooManyRequests: Slow down."
    )


@responses.activate
def test_a_non_json_error_body_becomes_the_message_as_the_diagnosis_reads_it() -> None:
    token()
    responses.get(
        f"{BASE}/companies({COMPANY})/items",
        status=502,
        body="<html>Bad Gateway</html>",
        content_type="text/html",
    )
    with pytest.raises(ErpCallFailed, match=r"→ 502: Bad Gateway$") as failure:
        ErpClient(settings()).find("items")
    assert failure.value.transient


@responses.activate
def test_no_answer_is_a_transient_failure_without_status() -> None:
    token()
    responses.get(f"{BASE}/companies({COMPANY})/items", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(ErpCallFailed) as failure:
        ErpClient(settings()).find("items")
    assert failure.value.status is None
    assert failure.value.transient
    assert "no answer within the time-out (ReadTimeout)" in str(failure.value)


@responses.activate
def test_a_connection_refused_says_so() -> None:
    responses.post(TOKEN_URL, body=requests.ConnectionError("[Errno 111] Connection refused"))
    with pytest.raises(
        ErpAuthFailed, match=r"could not connect \(ConnectionError: Connection refused\)"
    ):
        ErpClient(settings()).find("items")


@responses.activate
def test_the_only_company_is_used_when_none_is_configured() -> None:
    token()
    responses.get(f"{BASE}/companies", json={"value": [{"id": COMPANY, "name": "CRONUS BE"}]})
    responses.get(f"{BASE}/companies({COMPANY})/items", json={"value": [{"number": "1896-S"}]})
    assert ErpClient(settings(company_id=None)).find("items") == [{"number": "1896-S"}]


@responses.activate
def test_several_companies_ask_for_erp_company_id() -> None:
    token()
    responses.get(
        f"{BASE}/companies", json={"value": [{"id": "a", "name": "BE"}, {"id": "b", "name": "NL"}]}
    )
    with pytest.raises(
        ErpCallFailed, match=r"set ERP_COMPANY_ID: the ERP has 2 companies \(BE, NL\)"
    ):
        ErpClient(settings(company_id=None)).find("items")


@responses.activate
def test_find_builds_an_odata_filter_and_quotes_apostrophes() -> None:
    token()
    found = responses.get(
        f"{BASE}/companies({COMPANY})/customers",
        json={"value": []},
        match=[
            matchers.query_param_matcher(
                {"$filter": "displayName eq 'O''Neill' and city eq 'Gent'"}
            )
        ],
    )
    ErpClient(settings()).find("customers", displayName="O'Neill", city="Gent")
    assert found.call_count == 1


@responses.activate
def test_delete_sends_the_entitys_etag() -> None:
    token()
    deleted = responses.delete(
        f"{BASE}/companies({COMPANY})/customers(c1)",
        status=204,
        match=[matchers.header_matcher({"If-Match": 'W/"abc"'})],
    )
    ErpClient(settings()).delete("customers", {"id": "c1", "@odata.etag": 'W/"abc"'})
    assert deleted.call_count == 1


@responses.activate
def test_an_answer_is_masked_before_it_is_cut_so_no_part_of_a_secret_is_quoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "SEKRIT-straddling-the-cut-0123456789"
    monkeypatch.setattr(RECORDER, "redactor", Redactor([secret]))
    token()
    # Plain text, the secret across character 500, where a quote is cut.
    text = "x" * 490 + secret + " and more"
    responses.get(f"{BASE}/companies({COMPANY})/customers", body=text, status=500)
    with pytest.raises(ErpCallFailed) as failure:
        ErpClient(settings()).request("GET", "customers")
    assert "SEKRIT" not in str(failure.value)
    assert "[redacted]" in str(failure.value)

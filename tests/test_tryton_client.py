"""The Tryton client's edges, with `responses`: odd answers, refusals, broken
connections. Against a real Tryton it is tested in test_tryton.py."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses

from erpwatch import (
    DataMismatch,
    NotPersisted,
    TrytonAuthFailed,
    TrytonCallFailed,
    TrytonClient,
)
from erpwatch.capture import Recorder
from erpwatch.config import TrytonSettings
from erpwatch.tryton import decode, encode

RPC = "http://erp.example:8000/shop/rpc/"
SETTINGS = TrytonSettings(
    url="http://erp.example:8000/",
    database="shop",
    user="webshop",
    password="s3cret-password",
    timeout=5,
    connect_timeout=1,
)
SESSION = "d2f4c1f0e6a94b0f8e3b7c61a0d5e9f2"


def answers(*bodies: Any) -> list[Any]:
    """Login and preferences first, then ``bodies`` (dicts as JSON, or (status, text))."""
    return [
        {"id": 1, "result": [7, SESSION, None]},
        {"id": 2, "result": {"company": 1, "companies": [1], "language": "nl"}},
        *bodies,
    ]


def serve(mock: responses.RequestsMock, items: list[Any]) -> None:
    for item in items:
        if isinstance(item, tuple):
            status, text = item
            mock.post(RPC, status=status, body=text, content_type="text/html")
        else:
            mock.post(RPC, json=item)


def test_decimals_and_dates_travel_as_trytons_class_objects_and_come_back() -> None:
    values = {"price": Decimal("1000.80"), "day": dt.date(2026, 11, 27), "lines": [Decimal("2")]}
    wire = json.loads(json.dumps(encode(values)))
    assert wire["price"] == {"__class__": "Decimal", "decimal": "1000.80"}
    assert wire["day"] == {"__class__": "date", "year": 2026, "month": 11, "day": 27}
    assert decode(wire) == values


def test_calls_carry_the_session_and_the_users_company_in_english() -> None:
    with responses.RequestsMock() as mock:
        serve(mock, answers({"id": 3, "result": [42]}))
        client = TrytonClient(SETTINGS)
        assert client.create("party.party", {"name": "Zoë"}) == 42
        create = mock.calls[2].request
    payload = json.loads(create.body or b"")
    assert payload["method"] == "model.party.party.create"
    assert payload["params"] == [
        [{"name": "Zoë"}],
        {"company": 1, "companies": [1], "language": "en"},
    ]
    assert create.headers["Authorization"].startswith("Session ")


def test_a_user_error_names_the_method_and_quotes_tryton() -> None:
    refusal = {"id": 3, "error": ["UserError", ['A value is required for field "Code".', "", None]]}
    with responses.RequestsMock() as mock:
        serve(mock, answers(refusal))
        with pytest.raises(TrytonCallFailed) as raised:
            TrytonClient(SETTINGS).create("party.party", {"name": "x"})
    error = raised.value
    assert (error.call, error.status, error.code, error.message) == (
        "model.party.party.create (POST /shop/rpc/)",
        200,
        "UserError",
        'A value is required for field "Code".',
    )
    assert not error.transient


def test_a_refused_login_names_the_user_and_database_and_is_not_worth_a_retry() -> None:
    with responses.RequestsMock() as mock:
        serve(mock, [(401, "<title>401 Unauthorized</title>")])
        with pytest.raises(TrytonAuthFailed) as raised:
            TrytonClient(SETTINGS).login()
    assert "'webshop'" in str(raised.value)
    assert "'shop'" in str(raised.value)
    assert not raised.value.transient


def test_an_unknown_database_says_which_variable_to_fix() -> None:
    with responses.RequestsMock() as mock:
        serve(mock, [(404, "<title>404 Not Found</title>")])
        with pytest.raises(TrytonCallFailed, match="TRYTON_DATABASE"):
            TrytonClient(SETTINGS).login()


def test_an_ended_session_and_a_method_tryton_does_not_offer_are_told_apart() -> None:
    with responses.RequestsMock() as mock:
        serve(mock, answers((403, "<title>403 Forbidden</title>"), (401, "")))
        client = TrytonClient(SETTINGS)
        with pytest.raises(TrytonCallFailed, match=r"does not offer model\.sale\.sale\.submit"):
            client.click("sale.sale", "submit", [1])
        with pytest.raises(TrytonAuthFailed, match="expired or was ended"):
            client.read("sale.sale", 1, ["state"])


def test_a_gateway_page_and_a_body_that_is_not_json_rpc_are_reported_as_such() -> None:
    with responses.RequestsMock() as mock:
        serve(mock, answers((502, "<title>502 Bad Gateway</title>")))
        mock.post(RPC, body="OK", content_type="text/plain")
        client = TrytonClient(SETTINGS)
        with pytest.raises(TrytonCallFailed) as gateway:
            client.read("sale.sale", 1, ["state"])
        with pytest.raises(TrytonCallFailed) as odd:
            client.read("sale.sale", 1, ["state"])
    assert (gateway.value.status, gateway.value.transient) == (502, True)
    assert odd.value.unexpected_body


def test_a_broken_connection_is_a_call_without_an_answer() -> None:
    with responses.RequestsMock() as mock:
        mock.post(RPC, body=requests.ConnectionError("[Errno 111] Connection refused"))
        with pytest.raises(TrytonCallFailed) as raised:
            TrytonClient(SETTINGS).login()
    assert raised.value.status is None
    assert raised.value.transient
    assert "Connection refused" in str(raised.value)


def test_a_record_tryton_no_longer_knows_is_not_persisted() -> None:
    gone = {
        "id": 3,
        "error": [
            "UserError",
            ['You are trying to read records "9" of "Sale" that don\'t exist.', "", None],
        ],
    }
    with responses.RequestsMock() as mock:
        serve(mock, answers(gone))
        with pytest.raises(NotPersisted, match=r"does not know sale\.sale 9"):
            TrytonClient(SETTINGS).read("sale.sale", 9, ["state"])


def test_the_session_key_never_reaches_the_recorded_exchanges(recorder: Recorder) -> None:
    with responses.RequestsMock() as mock, recorder.recording() as log:
        serve(mock, answers({"id": 3, "result": []}))
        client = TrytonClient(SETTINGS, redactor=recorder.redactor)
        client.search_read("party.party", [("name", "=", "x")], ["id"])
    recorded = json.dumps([exchange.to_dict() for exchange in log])
    assert SESSION not in recorded
    assert SETTINGS.password not in recorded
    assert [exchange.name for exchange in log] == [
        "common.db.login",
        "model.res.user.get_preferences",
        "model.party.party.search_read",
    ]


def test_a_login_whose_preferences_fail_is_tried_again_in_full_by_the_next_call() -> None:
    refused = {"id": 2, "error": ["UserError", ['You are not allowed to access "User".', "", None]]}
    with responses.RequestsMock() as mock:
        serve(
            mock,
            [{"id": 1, "result": [7, SESSION, None]}, refused, *answers({"id": 5, "result": []})],
        )
        client = TrytonClient(SETTINGS)
        with pytest.raises(TrytonCallFailed, match="not allowed"):
            client.search_read("party.party", [], ["id"])
        assert client.search_read("party.party", [], ["id"]) == []
        methods = [json.loads(call.request.body or b"")["method"] for call in mock.calls]
    assert methods == [
        "common.db.login",
        "model.res.user.get_preferences",
        "common.db.login",
        "model.res.user.get_preferences",
        "model.party.party.search_read",
    ]


def test_a_read_back_accepts_any_allowed_state_and_names_a_state_field_that_went_missing() -> None:
    allowed = {"state": ("confirmed", "processing", "done")}
    processing = {"id": 3, "result": [{"id": 9, "reference": "R-1", "state": "processing"}]}
    no_state = {"id": 4, "result": [{"id": 9, "reference": "R-1"}]}
    with responses.RequestsMock() as mock:
        serve(mock, answers(processing, no_state))
        client = TrytonClient(SETTINGS)
        stored = client.read_back(
            "sale.sale", 9, sent={"reference": "R-1"}, fields=["reference"], one_of=allowed
        )
        with pytest.raises(DataMismatch) as raised:
            client.read_back(
                "sale.sale", 9, sent={"reference": "R-1"}, fields=["reference"], one_of=allowed
            )
    assert stored["state"] == "processing"
    assert (raised.value.call, raised.value.missing) == (
        "model.sale.sale.read (POST /shop/rpc/)",
        ["state"],
    )

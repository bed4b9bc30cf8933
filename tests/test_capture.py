"""Every HTTP call made through requests is recorded as an immutable exchange."""

from __future__ import annotations

import dataclasses

import pytest
import requests
import responses

from erpwatch.capture import Exchange, ExchangeLog, Recorder


@responses.activate
def test_a_call_is_recorded_with_request_response_and_timing(recorder: Recorder) -> None:
    responses.post(
        "https://erp.example/api/v2.0/companies(1)/customers", json={"id": "c1"}, status=201
    )
    with recorder.recording() as log:
        requests.post(
            "https://erp.example/api/v2.0/companies(1)/customers",
            json={"displayName": "X"},
            timeout=5,
        )
    [exchange] = list(log)
    assert exchange.method == "POST"
    assert exchange.status == 201
    assert exchange.request_body == '{"displayName": "X"}'
    assert exchange.response_body == '{"id": "c1"}'
    assert exchange.response_headers["Content-Type"] == "application/json"
    assert exchange.duration_ms >= 0
    assert exchange.call == "POST /companies(1)/customers"
    with pytest.raises(dataclasses.FrozenInstanceError):
        exchange.status = 500  # type: ignore[misc]


@responses.activate
def test_a_call_that_raised_is_recorded_with_the_exception(recorder: Recorder) -> None:
    responses.get("https://erp.example/items", body=requests.ConnectTimeout("connect timed out"))
    with recorder.recording() as log, pytest.raises(requests.ConnectTimeout):
        requests.get("https://erp.example/items", timeout=1)
    [exchange] = list(log)
    assert exchange.status is None
    assert exchange.error_type == "ConnectTimeout"
    assert exchange.failed
    assert exchange.outcome == "ConnectTimeout"
    assert exchange.error == "connect timed out"


@responses.activate
def test_each_hop_of_a_redirect_is_recorded_once_in_the_order_it_completed(
    recorder: Recorder,
) -> None:
    responses.get(
        "https://erp.example/old", status=302, headers={"Location": "https://erp.example/new"}
    )
    responses.get("https://erp.example/new", json={"ok": True})
    with recorder.recording() as log:
        requests.get("https://erp.example/old", timeout=5)
    assert [(e.url, e.status) for e in log] == [
        ("https://erp.example/new", 200),
        ("https://erp.example/old", 302),
    ]


@responses.activate
def test_a_streamed_body_is_left_to_the_caller(recorder: Recorder) -> None:
    responses.get("https://erp.example/export", body=b"a,b\n1,2\n")
    with recorder.recording() as log:
        response = requests.get("https://erp.example/export", stream=True, timeout=5)
        assert response.content == b"a,b\n1,2\n"
    assert log[0].response_body == "[streamed body not captured]"


@responses.activate
def test_secrets_are_masked_at_capture_time(recorder: Recorder) -> None:
    recorder.redactor.add_secret("tok-123456")
    responses.get("https://erp.example/x?access_token=tok-123456", json={"echo": "tok-123456"})
    with recorder.recording() as log:
        requests.get(
            "https://erp.example/x?access_token=tok-123456",
            headers={"Authorization": "Bearer tok-123456"},
            timeout=5,
        )
    text = str(log[0].to_dict())
    assert "tok-123456" not in text
    assert log[0].request_headers["Authorization"] == "[redacted]"


@responses.activate
def test_nothing_is_recorded_outside_a_recording(recorder: Recorder) -> None:
    responses.get("https://erp.example/x", json={})
    requests.get("https://erp.example/x", timeout=5)
    with recorder.recording() as log:
        pass
    assert len(log) == 0


@responses.activate
def test_rpc_calls_are_named_by_the_configured_namer(recorder: Recorder) -> None:
    recorder.namers.append(
        lambda request: (
            "PunchOutSetupRequest" if b"PunchOutSetupRequest" in (request.body or b"") else None
        )
    )
    responses.post("https://shop.example/punchout", body="<cXML/>")
    with recorder.recording() as log:
        requests.post(
            "https://shop.example/punchout", data=b"<cXML><PunchOutSetupRequest/></cXML>", timeout=5
        )
    assert log[0].call == "PunchOutSetupRequest (POST /punchout)"


def exchange(index: int) -> Exchange:
    return Exchange("GET", f"https://erp.example/{index}", {}, None, 200, "OK", {}, None, 1.0, "t")


def test_the_log_keeps_the_first_and_last_calls_and_counts_what_it_dropped() -> None:
    log = ExchangeLog(limit=10)
    for index in range(25):
        log.append(exchange(index))
    assert len(log) == 10
    assert log.dropped == 15
    assert [e.url.rsplit("/", 1)[1] for e in log] == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "20",
        "21",
        "22",
        "23",
        "24",
    ]
    assert log.last is not None
    assert log.last.url.endswith("/24")


def test_an_exchange_survives_a_round_trip_through_a_dict() -> None:
    original = exchange(1)
    assert Exchange.from_dict(original.to_dict()) == original


@pytest.mark.parametrize(
    ("url", "call"),
    [
        (
            "https://erp.example/api/v2.0/companies(5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21)/salesOrders",
            "POST /companies(…)/salesOrders",
        ),
        (
            "https://erp.example/api/v2.0/companies(5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21)/customers(5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d22)?$expand=x",
            "POST /companies(…)/customers(…)",
        ),
        ("https://login.example/tenant/oauth2/v2.0/token", "POST /tenant/oauth2/v2.0/token"),
    ],
)
def test_calls_are_named_without_host_query_or_guids(url: str, call: str) -> None:
    assert dataclasses.replace(exchange(0), method="POST", url=url).call == call

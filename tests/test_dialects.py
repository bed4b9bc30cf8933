"""ERP error dialects, fed with realistic bodies over a mocked transport and
recorded the way a monitor's calls are."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses

from erpwatch.capture import Exchange, Recorder
from erpwatch.diagnosis import ErpError, decode


def answer(
    recorder: Recorder,
    status: int,
    body: Any,
    content_type: str = "application/json",
    **headers: str,
) -> Exchange:
    text = body if isinstance(body, str) else json.dumps(body)
    with responses.RequestsMock() as mock, recorder.recording() as log:
        mock.post(
            "https://erp.example/endpoint",
            status=status,
            body=text,
            content_type=content_type,
            headers=headers,
        )
        requests.post("https://erp.example/endpoint", json={"x": 1}, timeout=5)
    return log[0]


def test_business_central_code_message_field_and_correlation_id(recorder: Recorder) -> None:
    body = {
        "error": {
            "code": "Application_FieldValidationException",
            "message": "VAT Registration No. must have a value in Customer: No.=C00690. It cannot be zero or empty.  "
            "CorrelationId:  2b0d5a9e-8a8c-4d6b-9d0e-64e4e2a1c0f7.",
        }
    }
    assert decode(answer(recorder, 400, body)) == ErpError(
        dialect="Business Central",
        code="Application_FieldValidationException",
        message="VAT Registration No. must have a value in Customer: No.=C00690. It cannot be zero or empty.",
        field="VAT Registration No.",
        correlation_id="2b0d5a9e-8a8c-4d6b-9d0e-64e4e2a1c0f7",
    )


def test_business_central_unknown_property_names_the_field(recorder: Recorder) -> None:
    body = {
        "error": {
            "code": "BadRequest",
            "message": "The property 'vatNo' does not exist on type 'Microsoft.NAV.customer'. Make sure to only use property names that are defined by the type.  CorrelationId:  2b0d5a9e-8a8c-4d6b-9d0e-64e4e2a1c0f7.",
        }
    }
    error = decode(answer(recorder, 400, body))
    assert error is not None
    assert error.field == "vatNo"


def test_odoo_validation_error_inside_http_200(recorder: Recorder) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 17,
        "error": {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {
                "name": "odoo.exceptions.ValidationError",
                "debug": "Traceback (most recent call last): …",
                "message": "The VAT number [BE0123] does not seem to be valid.",
                "arguments": ["The VAT number [BE0123] does not seem to be valid."],
            },
        },
    }
    error = decode(answer(recorder, 200, body))
    assert error is not None
    assert (error.dialect, error.code, error.message, error.inside_success) == (
        "Odoo",
        "ValidationError",
        "The VAT number [BE0123] does not seem to be valid.",
        True,
    )


def test_exact_online_nested_message(recorder: Recorder) -> None:
    body = {"error": {"code": "", "message": {"lang": "", "value": "Verplicht: Relatie"}}}
    error = decode(answer(recorder, 400, body))
    assert error is not None
    assert (error.dialect, error.code, error.message) == (
        "Exact Online",
        None,
        "Verplicht: Relatie",
    )


def test_exact_online_rate_limit_headers_give_the_retry_time(recorder: Recorder) -> None:
    reset_ms = int((datetime.now(UTC).timestamp() + 42) * 1000)
    body = {"error": {"code": "", "message": {"lang": "", "value": "API rate limit exceeded."}}}
    exchange = answer(
        recorder,
        429,
        body,
        **{"X-RateLimit-Minutely-Remaining": "0", "X-RateLimit-Minutely-Reset": str(reset_ms)},
    )
    error = decode(exchange)
    assert error is not None
    assert error.retry_after is not None
    sent = datetime.fromisoformat(exchange.started_at).timestamp()
    assert error.retry_after == pytest.approx(reset_ms / 1000 - sent, abs=0.1)
    assert 0 < error.retry_after <= 42


def test_tryton_user_error_inside_http_200(recorder: Recorder) -> None:
    body = {
        "id": 3,
        "error": [
            "UserError",
            [
                'The field "Tax Identifier" on "Party" is required.',
                "Fill in the tax identifier.",
                "",
            ],
        ],
    }
    error = decode(answer(recorder, 200, body))
    assert error is not None
    assert (error.dialect, error.code, error.message, error.detail, error.inside_success) == (
        "Tryton",
        "UserError",
        'The field "Tax Identifier" on "Party" is required.',
        "Fill in the tax identifier.",
        True,
    )


def test_plain_json_rpc_error(recorder: Recorder) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}}
    error = decode(answer(recorder, 200, body))
    assert error is not None
    assert (error.dialect, error.code, error.message) == ("JSON-RPC", "-32601", "Method not found")


CXML_401 = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.063/cXML.dtd">
<cXML payloadID="1700000000.1@shop.example" timestamp="2026-11-27T21:04:00+01:00">
  <Response><Status code="401" text="Unauthorized">Invalid SharedSecret for AN01000000001</Status></Response>
</cXML>"""


def test_cxml_status_inside_http_200(recorder: Recorder) -> None:
    error = decode(answer(recorder, 200, CXML_401, "text/xml"))
    assert error is not None
    assert (error.dialect, error.code, error.message, error.detail, error.inside_success) == (
        "cXML",
        "401",
        "Unauthorized",
        "Invalid SharedSecret for AN01000000001",
        True,
    )


def test_a_cxml_success_status_is_no_error(recorder: Recorder) -> None:
    ok = CXML_401.replace(
        'code="401" text="Unauthorized">Invalid SharedSecret for AN01000000001</Status>',
        'code="200" text="OK"/>',
    )
    assert decode(answer(recorder, 200, ok, "text/xml")) is None


def test_mollie_problem_json(recorder: Recorder) -> None:
    body = {
        "status": 422,
        "title": "Unprocessable Entity",
        "detail": "The amount is lower than the minimum",
        "field": "amount.value",
        "_links": {
            "documentation": {
                "href": "https://docs.mollie.com/overview/handling-errors",
                "type": "text/html",
            }
        },
    }
    error = decode(answer(recorder, 422, body, "application/hal+json"))
    assert error is not None
    assert (error.dialect, error.code, error.message, error.field) == (
        "Mollie",
        "Unprocessable Entity",
        "The amount is lower than the minimum",
        "amount.value",
    )


def test_generic_json_success_false_is_a_failure_inside_success(recorder: Recorder) -> None:
    error = decode(answer(recorder, 200, {"success": False, "message": "Order could not be saved"}))
    assert error is not None
    assert (error.dialect, error.message, error.inside_success) == (
        "JSON",
        "Order could not be saved",
        True,
    )


def test_generic_json_error_message(recorder: Recorder) -> None:
    error = decode(answer(recorder, 400, {"code": "E_VALIDATION", "message": "email is invalid"}))
    assert error is not None
    assert (error.code, error.message) == ("E_VALIDATION", "email is invalid")


def test_an_html_page_gives_its_title_and_heading(recorder: Recorder) -> None:
    page = "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>We&#39;ll be back soon</h1></body></html>"
    error = decode(answer(recorder, 503, page, "text/html"))
    assert error is not None
    assert (error.dialect, error.message) == (
        "HTML page",
        "Service Unavailable — We'll be back soon",
    )


def test_a_plain_text_body_is_the_message(recorder: Recorder) -> None:
    error = decode(answer(recorder, 500, "Internal error 0x8007000E", "text/plain"))
    assert error is not None
    assert (error.dialect, error.message) == ("text", "Internal error 0x8007000E")


def test_a_successful_answer_without_an_error_inside_decodes_to_nothing(recorder: Recorder) -> None:
    assert decode(answer(recorder, 201, {"id": "c1", "error": None})) is None
    assert decode(answer(recorder, 200, "<html><title>Catalog</title></html>", "text/html")) is None


def test_a_truncated_json_body_falls_back_to_text(recorder: Recorder) -> None:
    error = decode(answer(recorder, 502, '{"error": {"code": "Bad', "application/json"))
    assert error is not None
    assert error.message == '{"error": {"code": "Bad'


# -- naming RPC calls -----------------------------------------------------------------


def named(recorder: Recorder, body: bytes) -> str:
    with responses.RequestsMock() as mock, recorder.recording() as log:
        mock.post("https://erp.example/rpc/", body="{}")
        requests.post("https://erp.example/rpc/", data=body, timeout=5)
    return log[0].call


def test_a_json_rpc_call_is_named_by_its_method(recorder: Recorder) -> None:
    body = json.dumps({"id": 1, "method": "model.sale.sale.create", "params": [[{}], {}]}).encode()
    assert named(recorder, body) == "model.sale.sale.create (POST /rpc/)"


def test_an_xml_rpc_call_is_named_by_its_method_name(recorder: Recorder) -> None:
    body = b"<?xml version='1.0'?><methodCall><methodName>execute_kw</methodName><params/></methodCall>"
    assert named(recorder, body) == "execute_kw (POST /rpc/)"


def test_a_cxml_call_is_named_by_its_message_type(recorder: Recorder) -> None:
    body = b'<?xml version="1.0"?><cXML payloadID="1"><Header/><Request deploymentMode="test"><PunchOutSetupRequest operation="create"/></Request></cXML>'
    assert named(recorder, body) == "PunchOutSetupRequest (POST /rpc/)"

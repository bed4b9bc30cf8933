"""The classifier and the catalogue, from crafted exchanges: every rule gives a reason."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from erpwatch.capture import Exchange
from erpwatch.checks import DataMismatch, NotPersisted
from erpwatch.diagnosis import (
    LANGUAGES,
    Category,
    Diagnosis,
    FailureFacts,
    classify,
    describe_failure,
    explain,
    missing_entries,
)
from erpwatch.erp import ErpCallFailed

BASE = "https://erp.example/api/v2.0/companies(5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21)"


def exchange(
    method: str = "GET",
    path: str = "/items",
    status: int | None = 200,
    body: Any = None,
    content_type: str = "application/json",
    error_type: str | None = None,
    duration_ms: float = 10.0,
    headers: dict[str, str] | None = None,
) -> Exchange:
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    return Exchange(
        method=method,
        url=BASE + path,
        request_headers={},
        request_body=None,
        status=status,
        reason="",
        response_headers={"Content-Type": content_type, **(headers or {})},
        response_body=text,
        duration_ms=duration_ms,
        started_at="2026-11-27T20:04:00.000+00:00",
        error_type=error_type,
        error="boom" if error_type else None,
    )


def erp_failure(status: int | None, call: str = "GET /companies(…)/items") -> FailureFacts:
    return describe_failure(ErpCallFailed(call, status=status))


def bc_error(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message + "  CorrelationId:  2b0d5a9e-8a8c-4d6b-9d0e-64e4e2a1c0f7.",
        }
    }


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        (exchange(status=None, error_type="ReadTimeout"), Category.TIMEOUT),
        (exchange(status=None, error_type="ConnectionError"), Category.UNREACHABLE),
        (exchange(status=None, error_type="SSLError"), Category.UNREACHABLE),
        (
            exchange(status=401, body=bc_error("Authentication_InvalidCredentials", "x")),
            Category.AUTH,
        ),
        (exchange(status=403, body={"message": "Forbidden"}), Category.AUTH),
        (
            exchange(status=429, body=bc_error("Application_TooManyRequests", "x")),
            Category.RATE_LIMITED,
        ),
        (
            exchange(status=503, body=bc_error("Application_ServiceUnavailable", "x")),
            Category.MAINTENANCE,
        ),
        (
            exchange(
                status=500,
                body="<html><title>Down for maintenance</title></html>",
                content_type="text/html",
            ),
            Category.MAINTENANCE,
        ),
        (exchange(status=502, body="Bad Gateway", content_type="text/plain"), Category.UNREACHABLE),
        (exchange(status=504, body="Gateway Timeout", content_type="text/plain"), Category.TIMEOUT),
        (
            exchange(status=409, body=bc_error("Internal_EntityWithSameKeyExists", "x")),
            Category.CONFLICT,
        ),
        (
            exchange(status=400, body=bc_error("Application_DialogException", "x")),
            Category.REJECTED,
        ),
        (
            exchange(
                status=422, body={"status": 422, "title": "Unprocessable Entity", "detail": "x"}
            ),
            Category.REJECTED,
        ),
        (
            exchange(status=500, body="Object reference not set", content_type="text/plain"),
            Category.ERP_ERROR,
        ),
        (
            exchange(status=404, body=bc_error("BadRequest_ResourceNotFound", "x")),
            Category.UNEXPECTED_RESPONSE,
        ),
    ],
)
def test_a_failed_call_is_classified_by_its_answer(answer: Exchange, category: Category) -> None:
    diagnosis = classify([answer], erp_failure(answer.status))
    assert diagnosis is not None
    assert diagnosis.category is category
    assert diagnosis.reason
    assert diagnosis.exchange_index == 0
    assert diagnosis.call == f"{answer.method} /companies(…)/items"


def test_the_erps_own_words_and_retry_after_become_evidence() -> None:
    answer = exchange(
        status=429,
        body=bc_error("Application_TooManyRequests", "Slow down."),
        headers={"Retry-After": "30"},
    )
    diagnosis = classify([answer], erp_failure(429))
    assert diagnosis is not None
    assert (
        diagnosis.erp_code,
        diagnosis.erp_message,
        diagnosis.retry_after,
        diagnosis.correlation_id,
    ) == (
        "Application_TooManyRequests",
        "Slow down.",
        30.0,
        "2b0d5a9e-8a8c-4d6b-9d0e-64e4e2a1c0f7",
    )


def test_a_404_when_reading_back_a_created_record_is_a_silent_failure() -> None:
    created = exchange("POST", "/salesOrders", 201, {"id": "6a1d"})
    read = exchange("GET", "/salesOrders(6a1d)", 404, bc_error("BadRequest_ResourceNotFound", "x"))
    failure = describe_failure(
        NotPersisted("GET /companies(…)/salesOrders(…)", "not there", status=404)
    )
    diagnosis = classify([created, read], failure)
    assert diagnosis is not None
    assert diagnosis.category is Category.SILENT_FAILURE
    assert diagnosis.exchange_index == 1


def test_an_error_inside_a_success_answer_is_a_silent_failure_even_if_the_monitor_only_asserted() -> (
    None
):
    answer = exchange(
        "POST",
        "/rpc",
        200,
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "Party is required."}},
    )
    failure = describe_failure(AssertionError("expected a result"))
    diagnosis = classify([answer], failure)
    assert diagnosis is not None
    assert diagnosis.category is Category.SILENT_FAILURE
    assert (diagnosis.erp_dialect, diagnosis.erp_code, diagnosis.erp_message) == (
        "JSON-RPC",
        "-32000",
        "Party is required.",
    )


def tryton_answer(
    status: int, body: Any = None, method: str = "model.party.party.create", **headers: str
) -> Exchange:
    answer = exchange("POST", "/erpwatch/rpc/", status, body, headers=headers)
    return dataclasses.replace(answer, name=method)


@pytest.mark.parametrize(
    ("answer", "category", "code", "message"),
    [
        (
            tryton_answer(
                200,
                {
                    "id": 1,
                    "error": [
                        "UserError",
                        ['A value is required for field "Code" in "Party".', "", None],
                    ],
                },
            ),
            Category.REJECTED,
            "UserError",
            'A value is required for field "Code" in "Party".',
        ),
        (
            tryton_answer(
                200,
                {
                    "id": 1,
                    "error": ["UserError", ['You are not allowed to access "Sale".', "", None]],
                },
            ),
            Category.AUTH,
            "UserError",
            'You are not allowed to access "Sale".',
        ),
        (
            tryton_answer(
                200,
                {
                    "id": 1,
                    "error": ["ConcurrencyException", ["Records were modified in the meanwhile"]],
                },
            ),
            Category.CONFLICT,
            "ConcurrencyException",
            "Records were modified in the meanwhile",
        ),
        (
            tryton_answer(
                200,
                {
                    "id": 1,
                    "error": [
                        "'NoneType' object has no attribute 'id'",
                        'Traceback (most recent call last):\n  File "sale.py", line 3\n'
                        "AttributeError: 'NoneType' object has no attribute 'id'\n",
                    ],
                },
            ),
            Category.ERP_ERROR,
            "server error",
            "AttributeError: 'NoneType' object has no attribute 'id'",
        ),
        (
            tryton_answer(401, "", **{"WWW-Authenticate": 'Basic realm="Tryton"'}),
            Category.AUTH,
            "401",
            'HTTP 401 with WWW-Authenticate: Basic realm="Tryton"',
        ),
        (
            tryton_answer(
                403, "<!doctype html><title>403 Forbidden</title>", method="model.sale.sale.submit"
            ),
            Category.UNEXPECTED_RESPONSE,
            "403",
            "403 Forbidden",
        ),
    ],
    ids=["required-field", "access", "concurrency", "crash", "session", "unknown-method"],
)
def test_tryton_errors_are_classified_by_what_their_class_and_message_say(
    answer: Exchange, category: Category, code: str, message: str
) -> None:
    diagnosis = classify([answer], describe_failure(ErpCallFailed("x", status=answer.status)))
    assert diagnosis is not None
    assert diagnosis.category is category, diagnosis.reason
    assert (diagnosis.erp_dialect, diagnosis.erp_code, diagnosis.erp_message) == (
        "Tryton",
        code,
        message,
    )


def test_a_missing_field_is_schema_drift_and_a_different_value_a_mismatch() -> None:
    answer = exchange(body={"id": "x"})
    drift = describe_failure(DataMismatch("GET /customers(…)", ["email"], {}))
    mismatch = describe_failure(DataMismatch("GET /customers(…)", [], {"city": ("Gent", "Brugge")}))
    drift_diagnosis = classify([answer], drift)
    mismatch_diagnosis = classify([answer], mismatch)
    assert drift_diagnosis is not None
    assert drift_diagnosis.category is Category.UNEXPECTED_RESPONSE
    assert mismatch_diagnosis is not None
    assert mismatch_diagnosis.category is Category.DATA_MISMATCH
    assert "city" in mismatch_diagnosis.reason


def test_a_key_error_on_a_field_the_answer_lacks_is_schema_drift() -> None:
    answer = exchange(body={"value": [{"id": "x", "numberNew": "1"}]})
    diagnosis = classify([answer], describe_failure(KeyError("number")))
    assert diagnosis is not None
    assert diagnosis.category is Category.UNEXPECTED_RESPONSE
    assert "'number'" in diagnosis.reason


def test_a_bug_in_the_monitor_is_a_monitor_error_for_the_maintainers() -> None:
    try:
        undefined_name  # type: ignore[name-defined]  # noqa: B018
    except NameError as error:
        failure = describe_failure(error)
    diagnosis = classify([exchange(body={"value": []})], failure)
    assert diagnosis is not None
    assert diagnosis.category is Category.MONITOR_ERROR
    assert diagnosis.category.for_maintainers_only
    assert diagnosis.error is not None
    assert diagnosis.error.startswith("NameError: ")


def test_a_monitor_check_on_a_good_answer_is_a_data_mismatch() -> None:
    diagnosis = classify(
        [exchange(body={"total": 1})], describe_failure(AssertionError("total is wrong"))
    )
    assert diagnosis is not None
    assert diagnosis.category is Category.DATA_MISMATCH


def test_a_non_json_answer_is_unexpected_and_an_html_one_is_maintenance() -> None:
    xml = exchange("POST", "/salesOrders", 201, "<entry/>", "application/xml")
    unexpected = ErpCallFailed(
        "POST /salesOrders", status=201, problem="not JSON", unexpected_body=True
    )
    diagnosis = classify([xml], describe_failure(unexpected))
    assert diagnosis is not None
    assert diagnosis.category is Category.UNEXPECTED_RESPONSE
    assert "application/xml" in diagnosis.reason
    page = exchange(
        "POST", "/salesOrders", 200, "<html><title>Maintenance</title></html>", "text/html"
    )
    maintenance = classify([page], describe_failure(ErpCallFailed("POST /salesOrders", status=200)))
    assert maintenance is not None
    assert maintenance.category is Category.MAINTENANCE
    assert maintenance.erp_message == "Maintenance"


def test_a_passing_monitor_slower_than_its_threshold_is_slow_and_names_the_slowest_call() -> None:
    calls = [exchange(duration_ms=120), exchange("POST", "/salesOrders", 201, {}, duration_ms=2300)]
    diagnosis = classify(calls, None, threshold_s=2.0)
    assert diagnosis is not None
    assert diagnosis.category is Category.SLOW
    assert diagnosis.exchange_index == 1
    assert (diagnosis.duration_ms, diagnosis.threshold_ms) == (2300, 2000)
    assert classify(calls, None, threshold_s=3.0) is None
    assert classify(calls, None, threshold_s=None) is None


def test_a_diagnosis_survives_a_round_trip_through_a_dict() -> None:
    diagnosis = classify([exchange(status=409, body=bc_error("X", "y"))], erp_failure(409))
    assert diagnosis is not None
    assert Diagnosis.from_dict(json.loads(json.dumps(diagnosis.to_dict()))) == diagnosis


def test_the_catalogue_has_every_category_in_every_language() -> None:
    assert missing_entries() == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("category", list(Category))
def test_every_explanation_renders_with_its_evidence(category: Category, language: str) -> None:
    diagnosis = Diagnosis(
        category,
        "reason",
        call="POST /salesOrders",
        status=400,
        duration_ms=2500,
        threshold_ms=2000,
    )
    explanation = explain(diagnosis, language)
    assert all((explanation.label, explanation.what, explanation.impact, explanation.action))
    assert "{" not in explanation.what + explanation.impact + explanation.action
    if category not in (Category.MONITOR_ERROR,):
        assert "POST /salesOrders" in explanation.what


def test_durations_use_the_decimal_comma_in_dutch_and_french() -> None:
    diagnosis = Diagnosis(
        Category.SLOW, "r", call="GET /items", duration_ms=2500, threshold_ms=2000
    )
    assert "2,50 s" in explain(diagnosis, "nl").what
    assert "2.50 s" in explain(diagnosis, "en").what


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="erpwatch speaks nl, fr, en"):
        explain(Diagnosis(Category.SLOW, "r"), "de")

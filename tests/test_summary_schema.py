"""summary.json's published shape and erpwatch's closed sets of words.

Every end-to-end test checks its run's summary through ``support.read_summary``;
these tests pin the schema itself: shipped, valid, in step with the vocabulary,
and strict enough to catch a wrong word.
"""

from __future__ import annotations

import copy
import json
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from erpwatch import _vocabulary
from erpwatch._fold import add_phase
from erpwatch._payload import PhaseReport
from erpwatch._vocabulary import (
    Category,
    DeliveryStatus,
    Outcome,
    Phase,
    RunOutcome,
    Status,
)
from erpwatch.capture import Exchange
from erpwatch.diagnosis import Diagnosis
from erpwatch.result import SCHEMA_VERSION, MailRecord, MonitorResult, RunResult, summary_schema
from erpwatch.sandbox.faults import FaultKind
from erpwatch.synthetic import Leftover

from .support import check_summary, read_summary

# The monitoring side's words, and the sandbox's own (it imports nothing of the monitoring side).
VOCABULARY = [
    *(
        value
        for value in vars(_vocabulary).values()
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
    ),
    FaultKind,
]


@pytest.mark.parametrize("words", VOCABULARY, ids=lambda words: words.__name__)
def test_every_word_of_the_vocabulary_is_its_string_in_json_and_reads_back_as_itself(
    words: type[StrEnum],
) -> None:
    for word in words:
        assert json.dumps(word) == json.dumps(word.value)
        assert json.dumps({"word": word}, separators=(",", ":")) == f'{{"word":"{word.value}"}}'
        assert words(json.loads(json.dumps(word))) is word
        assert f"{word}" == word.value  # file names and subjects are built with f-strings


def test_the_schema_is_shipped_in_the_package_as_a_valid_json_schema() -> None:
    shipped = resources.files("erpwatch") / f"schemas/summary.v{SCHEMA_VERSION}.json"
    assert shipped.is_file()
    schema = summary_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema"] == {"const": SCHEMA_VERSION}
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"schemas/*.json"' in pyproject  # in the wheel, not only in the checkout


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        ("outcome", Outcome),
        ("status", Status),
        ("run_outcome", RunOutcome),
        ("phase", Phase),
        ("category", Category),
        ("delivery_status", DeliveryStatus),
    ],
)
def test_the_schema_names_exactly_the_words_erpwatch_writes(
    definition: str, words: type[StrEnum]
) -> None:
    assert summary_schema()["$defs"][definition]["enum"] == [word.value for word in words]


def _run() -> RunResult:
    """A run with every part of a summary filled in."""
    answered = Exchange(
        method="POST",
        url="https://erp.example/api/v2.0/companies(1)/salesOrders",
        request_headers={"Authorization": "***"},
        request_body='{"number": "ERPWATCH-1"}',
        status=400,
        reason="Bad Request",
        response_headers={"Content-Type": "application/json"},
        response_body='{"error": {"code": "BadRequest", "message": "no"}}',
        duration_ms=123.4,
        started_at="2026-11-27T20:04:00+00:00",
    )
    unanswered = Exchange(
        method="GET",
        url="https://erp.example/api/v2.0/companies",
        request_headers={},
        request_body=None,
        status=None,
        reason="",
        response_headers={},
        response_body=None,
        duration_ms=5000.0,
        started_at="2026-11-27T20:04:01+00:00",
        error_type="ReadTimeout",
        error="read timed out",
    )
    failed = MonitorResult(
        nodeid="monitors/test_orders.py::test_order",
        name="test_order",
        process="orders",
        critical=True,
    )
    add_phase(failed, "setup", "passed", 0.1, PhaseReport("orders", True))
    add_phase(
        failed,
        "call",
        "failed",
        0.5,
        PhaseReport(
            "orders",
            True,
            exchanges=(answered,),
            message="ErpCallFailed: POST … → 400",
            retried="POST /salesOrders → 503",
            diagnosis=Diagnosis(
                category=Category.REJECTED,
                reason="HTTP 400: the ERP refused the request",
                call=answered.call,
                status=400,
                erp_code="BadRequest",
                exchange_index=0,
            ),
        ),
    )
    add_phase(
        failed,
        "teardown",
        "passed",
        0.1,
        PhaseReport("orders", True, leftovers=(Leftover("salesOrders 1", "RuntimeError"),)),
    )
    slow = MonitorResult(
        nodeid="monitors/test_items.py::test_items",
        name="test_items",
        process=None,
        critical=False,
    )
    add_phase(
        slow,
        "call",
        "passed",
        5.0,
        PhaseReport(
            None,
            False,
            exchanges=(unanswered,),
            dropped=3,
            diagnosis=Diagnosis(
                category=Category.SLOW, reason="slow", duration_ms=5000.0, threshold_ms=1000.0
            ),
        ),
    )
    skipped = MonitorResult(
        nodeid="monitors/test_pay.py::test_pay", name="test_pay", process="pay", critical=False
    )
    add_phase(
        skipped, "setup", "skipped", 0.0, PhaseReport("pay", False, message="no PSP configured")
    )
    return RunResult(
        run_id="2611272004-beef",
        started_at="2026-11-27T20:04:00+00:00",
        finished_at="2026-11-27T20:05:00+00:00",
        environment="test",
        erp_base_url="https://erp.example",
        erp_sandbox=False,
        monitors=[failed, slow, skipped],
        titles={"orders": "Order submission"},
        run_url="https://ci.example/runs/1",
        mails=[
            MailRecord(
                group="operations",
                recipients=("ops@example.com",),
                subject="erpwatch: orders failing",
                eml="reports/outbox/x.eml",
                status=DeliveryStatus.FAILED,
                error="cannot reach the mail server",
            )
        ],
    )


def test_a_full_summary_matches_the_schema_and_reads_back_to_the_same_summary(
    tmp_path: Path,
) -> None:
    run = _run()
    assert [m.status for m in run.monitors] == [Status.FAILED, Status.DEGRADED, Status.SKIPPED]
    assert run.monitors[0].failed_phase is Phase.CALL
    assert run.monitors[0].leftovers == [Leftover("salesOrders 1", "RuntimeError")]
    run.write(tmp_path / "summary.json")
    written = read_summary(tmp_path / "summary.json")  # checked against the schema
    assert written["outcome"] == "failed"
    assert RunResult.from_dict(written).to_dict() == written


@pytest.mark.parametrize(
    ("path", "wrong"),
    [
        (("outcome",), "pased"),
        (("monitors", 0, "outcome"), "degraded"),  # a status, not an outcome
        (("monitors", 0, "diagnosis", "category"), "flaky"),
        (("mails", 0, "status"), "delivered"),
        (("processes", 0, "outcome"), "interrupted"),  # only a whole run is interrupted
        (("monitors", 1, "failed_phase"), "teardowm"),
        (("monitors", 0, "stauts"), "failed"),  # a property the schema does not name
    ],
)
def test_a_summary_with_a_wrong_word_fails_the_check(path: tuple[Any, ...], wrong: str) -> None:
    summary = copy.deepcopy(_run().to_dict())
    check_summary(json.loads(json.dumps(summary)))
    *parents, last = path
    target = summary
    for key in parents:
        target = target[key]
    target[last] = wrong
    with pytest.raises(AssertionError, match="does not match its schema"):
        check_summary(json.loads(json.dumps(summary)))

"""Every fault the sandbox can inject, against the real monitors: the monitor it
hits fails (or is degraded), the other passes, and the diagnosis names the
category, the call, the status and the ERP's own words."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from erpwatch.sandbox import RunningSandbox, parse_fault

from .support import ORDER_MONITOR_FILE, REPO, clean_environment, ran, read_summary, run_pytest

ORDERS = "POST /companies(…)/salesOrders"
ORDER_MONITOR = "test_a_webshop_order_reaches_the_erp_with_its_lines_and_totals"
PUNCHOUT_MONITOR = "test_a_buyer_can_punch_out_and_a_purchase_order_reaches_the_erp"
HEALTHY = {
    "test_a_new_webshop_customer_can_be_read_back_from_the_erp": "passed",
    ORDER_MONITOR: "passed",
    "test_a_payment_paid_at_the_provider_marks_the_erp_invoice_paid": "passed",
    "test_the_shops_webhook_answers_the_providers_notification_of_a_test_payment": "passed",
    "test_every_paid_payment_is_paid_in_the_erp_and_every_paid_invoice_was_paid": "passed",
    PUNCHOUT_MONITOR: "passed",
    "test_an_oci_transfer_returns_complete_well_formed_items": "passed",
}
ORDER_READ = "GET /companies(…)/salesOrders(…)"


def write_config(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "erpwatch.toml"
    config.write_text(
        f"""
[erpwatch]
monitors = "{REPO / "monitors"}"
reports = "{tmp_path / "reports"}"

[erp]
timeout = 1
connect_timeout = 1

[alerts]
retry_delay = 0.1
retry_after_cap = 1

[processes.customers]
title = "Customer creation"
critical = true
latency_threshold = 0.5

[processes.orders]
title = "Order submission"
critical = true
latency_threshold = 0.5

[processes.punchout]
title = "B2B punchout"
critical = true

[processes.payments]
title = "Payment status sync"
critical = true

[payments]
sync_timeout = 1.5

[punchout]
order_timeout = 1
"""
    )
    return config


def run_monitors(
    tmp_path: Path, erp_settings: dict[str, str], config: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    config = config or write_config(tmp_path)
    completed = run_pytest(
        "monitors", f"--erpwatch-config={config}", env=clean_environment(**erp_settings)
    )
    return completed, read_summary(tmp_path / "reports" / "summary.json")


@dataclass(frozen=True)
class Case:
    fault: str
    category: str
    call: str
    status: int | None
    erp_code: str | None = None
    erp_text: str | None = None  # in the ERP's message
    field: str | None = None
    degraded: bool = False


CASES = [
    Case("timeout:salesOrders:POST", "timeout", ORDERS, None),
    Case("reset:salesOrders:POST", "unreachable", ORDERS, None),
    Case("slow:salesOrders:POST,delay=0.7", "slow", ORDERS, 201, degraded=True),
    Case(
        "expired_token:salesOrders",
        "auth",
        ORDERS,
        401,
        "Authentication_InvalidCredentials",
        "rejected the client credentials",
    ),
    Case(
        "throttle:salesOrders:POST",
        "rate_limited",
        ORDERS,
        429,
        "Application_TooManyRequests",
        "throttled",
    ),
    Case(
        "unavailable:salesOrders",
        "maintenance",
        ORDERS,
        503,
        "Application_ServiceUnavailable",
        "temporarily unavailable",
    ),
    Case(
        "maintenance_page:salesOrders",
        "maintenance",
        ORDERS,
        200,
        None,
        "Scheduled maintenance — Business Central is being updated",
    ),
    Case(
        "vat_required:salesOrders",
        "rejected",
        ORDERS,
        400,
        "Application_FieldValidationException",
        "VAT Registration No. must have a value in Customer: No.=",
        field="VAT Registration No.",
    ),
    Case("renamed_on_read:salesOrders", "unexpected_response", ORDER_READ, 200),
    Case(
        "unknown_on_write:salesOrders",
        "rejected",
        ORDERS,
        400,
        "BadRequest",
        "The property 'externalDocumentNumber' does not exist",
        field="externalDocumentNumber",
    ),
    Case(
        "duplicate:salesOrders:POST",
        "conflict",
        ORDERS,
        409,
        "Internal_EntityWithSameKeyExists",
        "already exists",
    ),
    Case(
        "not_persisted:salesOrders",
        "silent_failure",
        ORDER_READ,
        404,
        "BadRequest_ResourceNotFound",
    ),
    Case("cryptic_500:salesOrders", "erp_error", ORDERS, 500, None, "Internal error 0x8007000E"),
    Case("wrong_content_type:salesOrders", "unexpected_response", ORDERS, 201),
]


@pytest.mark.parametrize("case", CASES, ids=[c.fault.split(":")[0] for c in CASES])
def test_a_fault_fails_the_monitor_it_hits_with_the_right_diagnosis(
    tmp_path: Path, sandbox: RunningSandbox, case: Case
) -> None:
    sandbox.app.faults.add(parse_fault(case.fault))
    completed, data = run_monitors(tmp_path, sandbox.settings())
    output = completed.stdout + completed.stderr
    assert completed.returncode == (0 if case.degraded else 1), output

    # The cXML punchout monitor reads sales orders too, so an ERP fault on them
    # may hit it as well; every other monitor must pass.
    statuses = {
        m["name"]: m["status"] for m in ran(data["monitors"]) if m["name"] != PUNCHOUT_MONITOR
    }
    expected = {**HEALTHY, ORDER_MONITOR: "degraded" if case.degraded else "failed"}
    del expected[PUNCHOUT_MONITOR]
    assert statuses == expected, output
    orders = next(m for m in data["monitors"] if m["nodeid"].startswith(ORDER_MONITOR_FILE))
    diagnosis = orders["diagnosis"]
    assert diagnosis["category"] == case.category, diagnosis
    assert diagnosis["call"] == case.call, diagnosis
    assert diagnosis["status"] == case.status, diagnosis
    assert diagnosis["erp_code"] == case.erp_code, diagnosis
    if case.erp_text:
        assert case.erp_text in (diagnosis["erp_message"] or ""), diagnosis
    if case.field:
        assert diagnosis["erp_field"] == case.field, diagnosis
    if not case.degraded:
        assert orders["failing_call"] == case.call
    report = (tmp_path / "reports" / "report.html").read_text()
    assert "erpwatch-diagnosis" in report


def test_throttling_says_when_to_try_again(tmp_path: Path, sandbox: RunningSandbox) -> None:
    sandbox.app.faults.add(
        parse_fault({"kind": "throttle", "target": "salesOrders", "retry_after": 17})
    )
    _, data = run_monitors(tmp_path, sandbox.settings())
    orders = next(m for m in data["monitors"] if m["nodeid"].startswith(ORDER_MONITOR_FILE))
    assert orders["diagnosis"]["retry_after"] == 17


def test_a_business_central_error_keeps_its_correlation_id_as_evidence(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    sandbox.app.faults.add(parse_fault("vat_required:salesOrders"))
    _, data = run_monitors(tmp_path, sandbox.settings())
    diagnosis = next(m for m in data["monitors"] if m["nodeid"].startswith(ORDER_MONITOR_FILE))[
        "diagnosis"
    ]
    assert "CorrelationId" not in diagnosis["erp_message"]
    assert len(diagnosis["correlation_id"]) == 36


def test_an_unreachable_erp_fails_every_monitor_as_unreachable(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {
        "ERP_BASE_URL": f"http://127.0.0.1:{port}/api/v2.0",
        "ERP_TOKEN_URL": f"http://127.0.0.1:{port}/oauth2/v2.0/token",
        "ERP_CLIENT_ID": "id",
        "ERP_CLIENT_SECRET": "secret-value",
    }
    completed, data = run_monitors(tmp_path, settings)
    assert completed.returncode == 1
    erp_monitors = [m for m in ran(data["monitors"]) if m["process"] in ("customers", "orders")]
    assert len(erp_monitors) == 2
    for monitor in erp_monitors:
        assert monitor["diagnosis"]["category"] == "unreachable"
        assert monitor["diagnosis"]["call"] == "POST /oauth2/v2.0/token"
        assert "Connection refused" in monitor["diagnosis"]["error"]


def test_the_healthy_sandbox_gives_no_failure_over_many_consecutive_runs(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    for run in range(8):
        completed, data = run_monitors(tmp_path / str(run), sandbox.settings())
        assert completed.returncode == 0, completed.stdout
        assert data["outcome"] == "passed"
        assert all(m["leftovers"] == [] for m in data["monitors"])


PAYMENT_CASES = [
    (
        "webhook_lost",
        "test_a_payment_paid_at_the_provider_marks_the_erp_invoice_paid",
        "status: the provider says 'Paid', ERP has 'Open'",
    ),
    (
        "webhook_late,delay=5",
        "test_a_payment_paid_at_the_provider_marks_the_erp_invoice_paid",
        "status: the provider says 'Paid', ERP has 'Open'",
    ),
    (
        "payment_update_rejected",
        "test_a_payment_paid_at_the_provider_marks_the_erp_invoice_paid",
        "status: the provider says 'Paid', ERP has 'Open'",
    ),
    (
        "paid_but_failed",
        "test_every_paid_payment_is_paid_in_the_erp_and_every_paid_invoice_was_paid",
        "2 payment(s) disagree with the ERP: WEB-90001 EUR 233.29: provider failed, ERP Paid; "
        "WEB-90002 EUR 233.29: provider expired, ERP Paid",
    ),
    (
        "charged_back",
        "test_every_paid_payment_is_paid_in_the_erp_and_every_paid_invoice_was_paid",
        # WEB-90004's chargeback was reversed: the money came back, nothing to report.
        "1 payment(s) disagree with the ERP: WEB-90003 EUR 233.29: provider charged back, ERP Paid",
    ),
]


@pytest.mark.parametrize(
    ("fault", "failing", "message"), PAYMENT_CASES, ids=[c[0].split(",")[0] for c in PAYMENT_CASES]
)
def test_a_payment_fault_fails_the_payment_monitor_it_hits_as_a_data_mismatch(
    tmp_path: Path, sandbox: RunningSandbox, fault: str, failing: str, message: str
) -> None:
    sandbox.app.add_fault(parse_fault(fault), sandbox.root_url)
    completed, data = run_monitors(tmp_path, sandbox.settings())
    outcomes = {m["name"]: m["status"] for m in ran(data["monitors"])}
    assert [name for name, status in outcomes.items() if status != "passed"] == [failing], (
        completed.stdout
    )
    failed = next(m for m in data["monitors"] if m["name"] == failing)
    assert failed["diagnosis"]["category"] == "data_mismatch", failed["diagnosis"]
    assert message in failed["message"]


CXML_MONITOR = PUNCHOUT_MONITOR
OCI_MONITOR = "test_an_oci_transfer_returns_complete_well_formed_items"
PUNCHOUT_CASES = [
    (
        "shared_secret_rejected",
        CXML_MONITOR,
        "auth",
        "PunchOutSetupRequest (POST /punchout/setup)",
        "Unauthorized",
    ),
    (
        "no_buyer_cookie",
        CXML_MONITOR,
        "silent_failure",
        "PunchOutSetupRequest (POST /punchout/setup)",
        "Bad Request",
    ),
    (
        "no_start_page",
        CXML_MONITOR,
        "unexpected_response",
        "PunchOutSetupRequest (POST /punchout/setup)",
        None,
    ),
    (
        "malformed_cxml",
        CXML_MONITOR,
        "unexpected_response",
        "PunchOutSetupRequest (POST /punchout/setup)",
        None,
    ),
    (
        "start_page_expired",
        CXML_MONITOR,
        "unexpected_response",
        "GET /punchout/start/",
        "Session expired",
    ),
    ("start_page_error", CXML_MONITOR, "erp_error", "GET /punchout/start/", "Catalog error"),
    ("order_not_in_erp", CXML_MONITOR, "silent_failure", "GET /companies(…)/salesOrders", None),
    (
        "oci_decimal_comma",
        OCI_MONITOR,
        "data_mismatch",
        None,
        "NEW_ITEM-PRICE[1]: expected 'a decimal with a point (1000.80)', got '1.000,80'",
    ),
    (
        "oci_unit_not_iso",
        OCI_MONITOR,
        "data_mismatch",
        None,
        "NEW_ITEM-UNIT[1]: expected 'an ISO unit code (UN/ECE Rec 20, e.g. PCE, EA, C62)', got 'Stück'",
    ),
    (
        "oci_no_currency",
        OCI_MONITOR,
        "data_mismatch",
        None,
        "NEW_ITEM-CURRENCY[1]: expected 'an ISO 4217 currency (EUR)', got 'nothing'",
    ),
]


@pytest.mark.parametrize(
    ("fault", "failing", "category", "call", "words"),
    PUNCHOUT_CASES,
    ids=[c[0] for c in PUNCHOUT_CASES],
)
def test_a_punchout_fault_fails_the_punchout_monitor_it_hits(
    tmp_path: Path,
    sandbox: RunningSandbox,
    fault: str,
    failing: str,
    category: str,
    call: str | None,
    words: str | None,
) -> None:
    sandbox.app.add_fault(parse_fault(fault), sandbox.root_url)
    completed, data = run_monitors(tmp_path, sandbox.settings())
    statuses = {m["name"]: m["status"] for m in ran(data["monitors"])}
    assert statuses == {**HEALTHY, failing: "failed"}, completed.stdout
    diagnosis = next(m for m in data["monitors"] if m["name"] == failing)["diagnosis"]
    assert diagnosis["category"] == category, diagnosis
    if call:
        assert (diagnosis["call"] or "").startswith(call), diagnosis
    if words:
        evidence = " ".join(str(diagnosis[k] or "") for k in ("erp_message", "erp_detail", "error"))
        assert words in evidence, diagnosis


def test_test_mode_orders_to_a_shop_that_ignores_them_are_reported_missing_from_the_erp(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    # Why production is the default: the shop says OK and keeps the order out of its ERP.
    completed, data = run_monitors(
        tmp_path, {**sandbox.settings(), "PUNCHOUT_DEPLOYMENT_MODE": "test"}
    )
    statuses = {m["name"]: m["status"] for m in ran(data["monitors"])}
    assert statuses == {**HEALTHY, CXML_MONITOR: "failed"}, completed.stdout
    diagnosis = next(m for m in data["monitors"] if m["name"] == CXML_MONITOR)["diagnosis"]
    assert diagnosis["category"] == "silent_failure", diagnosis
    assert len(sandbox.app.punchout.ignored_test_orders) == 1


def test_an_oci_shop_that_refuses_calls_without_the_ok_code_is_passed_by_the_monitor(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    completed, data = run_monitors(tmp_path, sandbox.settings())
    assert {m["name"]: m["status"] for m in ran(data["monitors"])} == HEALTHY, completed.stdout
    oci = next(m for m in data["monitors"] if m["name"] == OCI_MONITOR)
    call = next(e["url"] for e in oci["exchanges"] if "/oci/catalog" in e["url"])
    assert "~OkCode=ADDI" in call
    assert "~TARGET=_top" in call
    assert "~CALLER=CTLG" in call
    assert "PASSWORD=%5Bredacted%5D" in call or "PASSWORD=[redacted]" in call
    assert [e["url"].split("/")[-1] for e in oci["exchanges"]][-1] == "checkout"


def test_a_failed_monitors_line_stands_under_its_own_process_in_the_terminal(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    """An order failure printed under 'PASSED B2B punchout' sends a reader to the
    wrong process: each monitor's detail follows its own process's line."""
    sandbox.app.add_fault(parse_fault("payment_update_rejected"), sandbox.root_url)
    completed, _ = run_monitors(tmp_path, sandbox.settings())
    section = completed.stdout.split(" erpwatch ", 1)[1].splitlines()
    payments = next(i for i, line in enumerate(section) if "Payment status sync" in line)
    detail = next(i for i, line in enumerate(section) if "test_payment_sync.py::" in line)
    after = [line for line in section[payments + 1 : detail] if not line.startswith("  ")]
    assert after == [], section  # no other process's line between them

"""The pytest plugin, tested from the outside with pytester."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from .support import read_summary

CONFIG = """
[erpwatch]
monitors = "."

[processes.customers]
title = "Customer creation"
critical = true

[processes.orders]
title = "Order submission"
"""

CUSTOMER_MONITOR = """
import pytest

pytestmark = pytest.mark.process("customers")

def test_customer(erp, synthetic):
    created = synthetic.create(erp, "customers", {"displayName": f"Test {synthetic.tag}"})
    assert erp.read("customers", created["id"])["displayName"] == created["displayName"]
"""

ORDER_MONITOR = """
import pytest

pytestmark = pytest.mark.process("orders")

def test_order(erp, synthetic):
    customer = synthetic.create(erp, "customers", {"displayName": "Order test"})
    synthetic.create(erp, "salesOrders", {
        "externalDocumentNumber": synthetic.reference(),
        "customerId": customer["id"],
        "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1}],
    })
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A monitoring project in a temporary folder, using the built-in sandbox."""
    for name in (
        "ERP_BASE_URL",
        "ERP_TOKEN_URL",
        "ERP_CLIENT_ID",
        "ERP_CLIENT_SECRET",
        "ERP_COMPANY_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ERPWATCH_CONFIG", raising=False)
    pytester.makefile(".toml", erpwatch=CONFIG)
    return pytester


def summary(project: pytest.Pytester) -> dict[str, Any]:
    return read_summary(project.path / "reports" / "summary.json")


def monitor(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in data["monitors"] if m["name"] == name)
    return found


def test_it_starts_the_sandbox_when_no_erp_is_configured_and_says_so_in_the_header(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_customers=CUSTOMER_MONITOR)
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "erpwatch: ERP http://127.0.0.1:*/api/v2.0 (built-in sandbox, started because ERP_BASE_URL is unset)"
        ]
    )


def test_it_writes_the_run_result_with_every_exchange_of_each_monitor(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_customers=CUSTOMER_MONITOR)
    project.runpytest().assert_outcomes(passed=1)
    data = summary(project)
    assert data["outcome"] == "passed"
    assert data["erp"]["sandbox"] is True
    assert [(p["name"], p["title"], p["critical"], p["outcome"]) for p in data["processes"]] == [
        ("customers", "Customer creation", True, "passed")
    ]
    calls = [(e["method"], e["status"]) for e in monitor(data, "test_customer")["exchanges"]]
    assert calls == [
        ("POST", 200),  # token
        ("POST", 201),  # create
        ("GET", 200),  # read back
        ("GET", 200),  # fresh etag for the removal
        ("DELETE", 204),  # removal at teardown
    ]
    first = monitor(data, "test_customer")["exchanges"][1]
    assert {"url", "request_headers", "request_body", "response_headers", "response_body"} <= set(
        first
    )
    assert first["duration_ms"] > 0
    assert first["started_at"].endswith("+00:00")
    assert json.loads(first["request_body"])["displayName"].startswith("Test ERPWATCH-")


def test_no_token_or_client_secret_reaches_the_run_result_or_the_report(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_customers=CUSTOMER_MONITOR)
    project.runpytest().assert_outcomes(passed=1)
    exchanges = monitor(summary(project), "test_customer")["exchanges"]
    assert "client_secret=[redacted]" in exchanges[0]["request_body"]
    # A token answer is never kept: only an OAuth error would be.
    assert exchanges[0]["response_body"].startswith("[token endpoint answer not kept: ")
    assert all(e["request_headers"]["Authorization"] == "[redacted]" for e in exchanges[1:])
    for path in (project.path / "reports").iterdir():
        text = path.read_text()
        assert "sandbox-secret" not in text, path
        assert "Bearer " not in text.replace("Bearer [redacted]", ""), path


def test_a_failed_monitor_names_the_call_and_the_erp_answer(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_customers="""
        import pytest
        pytestmark = pytest.mark.process("customers")

        def test_rejected(erp):
            erp.create("customers", {"displayName": "x" * 120})
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_rejected: [[]Refused by the ERP[]] POST /companies(…)/customers → 400 Application_StringExceededLength: *"
        ]
    )
    failed = monitor(summary(project), "test_rejected")
    assert failed["outcome"] == "failed"
    assert failed["failed_phase"] == "call"
    assert failed["failing_call"] == "POST /companies(…)/customers"
    assert failed["exchanges"][failed["failing_exchange"]]["status"] == 400
    assert "Application_StringExceededLength" in failed["message"]
    assert summary(project)["outcome"] == "failed"


def test_an_assertion_names_the_call_that_proved_wrong(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_customers="""
        import pytest
        from erpwatch import expect_same_fields
        pytestmark = pytest.mark.process("customers")

        def test_mismatch(erp, synthetic):
            sent = {"displayName": "Shop name", "city": "Gent"}
            created = synthetic.create(erp, "customers", sent)
            expect_same_fields({**sent, "city": "Brugge"}, erp.read("customers", created["id"]),
                               ["displayName", "city"], call="GET /customers(…)")
        """
    )
    project.runpytest().assert_outcomes(failed=1)
    failed = monitor(summary(project), "test_mismatch")
    assert failed["message"].startswith(
        "GET /customers(…) returned different data than was sent: city: sent 'Brugge', ERP has 'Gent'"
    )
    assert failed["failing_call"] == "GET /companies(…)/customers(…)"


def test_the_process_marker_is_registered(project: pytest.Pytester) -> None:
    result = project.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.process(name, critical=None): *"])


def test_a_monitor_without_a_process_is_a_configuration_error_with_a_clear_message(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_unmarked="def test_unmarked(erp):\n    pass\n")
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        [
            "CONFIGURATION ERROR test_unmarked.py::test_unmarked does not say which process it "
            "guards: mark it with @pytest.mark.process*"
        ]
    )


def test_a_monitor_naming_an_undeclared_process_exits_4_naming_the_declared_ones(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_typo="import pytest\n\n@pytest.mark.process('oders')\ndef test_typo():\n    pass\n"
    )
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    # A configuration mistake, for whoever set the monitors up: exit 4, one line
    # naming the process and erpwatch.toml, not a "[Monitor error]".
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        [
            "CONFIGURATION ERROR process 'oders' of test_typo.py::test_typo is not declared in "
            "erpwatch.toml; declared processes: customers, orders"
        ]
    )
    assert "[Monitor error]" not in result.stdout.str()


def test_the_config_decides_criticality_over_the_marker(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="import pytest\n\n@pytest.mark.process('orders', critical=True)\ndef test_o():\n    pass\n",
        test_customers="import pytest\n\n@pytest.mark.process('customers', critical=False)\ndef test_c():\n    pass\n",
    )
    project.runpytest().assert_outcomes(passed=2)
    data = summary(project)
    assert monitor(data, "test_o")["critical"] is True  # not set in the config: the marker decides
    assert monitor(data, "test_c")["critical"] is True  # the config says critical


def test_synthetic_records_are_removed_and_what_could_not_be_removed_is_reported(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_customers="""
        import pytest
        pytestmark = pytest.mark.process("customers")

        def test_leaves_something(erp, synthetic):
            synthetic.create(erp, "customers", {"displayName": "Removed fine"})
            def refuse():
                raise RuntimeError("the ERP refused to delete it")
            synthetic.remember("customers C99999", refuse)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*LEFTOVER customers C99999 could not be removed: RuntimeError: the ERP refused to delete it"
        ]
    )
    checked = monitor(summary(project), "test_leaves_something")
    assert checked["leftovers"] == [
        {"description": "customers C99999", "error": "RuntimeError: the ERP refused to delete it"}
    ]
    assert [e["method"] for e in checked["exchanges"]][-1] == "DELETE"


def test_it_runs_under_xdist_with_one_sandbox_and_the_controller_writes_the_summary(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_customers=CUSTOMER_MONITOR, test_orders=ORDER_MONITOR)
    result = project.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=2)
    data = summary(project)
    hosts = {urlsplit(e["url"]).netloc for m in data["monitors"] for e in m["exchanges"]}
    assert len(hosts) == 1
    assert {m["name"] for m in data["monitors"]} == {"test_customer", "test_order"}
    assert all(m["exchanges"] for m in data["monitors"])
    for checked in data["monitors"]:  # workers tag their records with the controller's run id
        bodies = " ".join(e["request_body"] or "" for e in checked["exchanges"])
        assert f"ERPWATCH-{data['run_id']}" in bodies


def test_it_writes_a_self_contained_html_report(project: pytest.Pytester) -> None:
    project.makepyfile(test_customers=CUSTOMER_MONITOR)
    project.runpytest().assert_outcomes(passed=1)
    html = (project.path / "reports" / "report.html").read_text()
    assert "test_customer" in html
    assert '<link rel="stylesheet"' not in html  # the CSS is inlined


def test_report_paths_can_be_overridden(project: pytest.Pytester) -> None:
    project.makepyfile(test_customers=CUSTOMER_MONITOR)
    project.runpytest("--erpwatch-summary=out/run.json", "--html=out/page.html").assert_outcomes(
        passed=1
    )
    assert (project.path / "out" / "run.json").is_file()
    assert (project.path / "out" / "page.html").is_file()
    assert not (project.path / "reports" / "summary.json").exists()


def test_it_stays_dormant_without_a_config_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "erpwatch:" not in result.stdout.str()
    assert not (pytester.path / "reports").exists()


def test_it_stays_dormant_when_the_run_does_not_include_the_monitors(
    project: pytest.Pytester,
) -> None:
    (project.path / "erpwatch.toml").write_text('[erpwatch]\nmonitors = "monitors"\n')
    (project.path / "monitors").mkdir()
    project.makepyfile(test_unit="def test_plain():\n    pass\n")
    result = project.runpytest("test_unit.py")
    result.assert_outcomes(passed=1)
    assert "erpwatch:" not in result.stdout.str()
    assert not (project.path / "reports").exists()


def test_the_erp_fixture_explains_why_erpwatch_is_not_active(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_erp(erp):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*erpwatch is not active: no erpwatch.toml in *"])


# -- configuration errors: one clear line, no traceback ---------------------------------------


@pytest.mark.parametrize(
    ("env", "toml", "expected"),
    [
        (
            {"ERP_BASE_URL": "https://erp.example/api/v2.0"},
            CONFIG,
            "ERROR: erpwatch: ERP_TOKEN_URL (environment or .env): is not set; it is needed because ERP_BASE_URL is set",
        ),
        (
            {
                "ERP_BASE_URL": "erp.example/api",
                "ERP_TOKEN_URL": "https://login.example/token",
                "ERP_CLIENT_ID": "id",
                "ERP_CLIENT_SECRET": "secret",
            },
            CONFIG,
            "ERROR: erpwatch: ERP_BASE_URL (environment or .env): must be an http(s) URL, not 'erp.example/api'",
        ),
        (
            {"ERP_CLIENT_SECRET": "left-over"},
            CONFIG,
            "ERROR: erpwatch: ERP_BASE_URL (environment or .env): is not set but ERP_CLIENT_SECRET is; *",
        ),
        (
            {},
            "[erpwatch\nmonitors = '.'",
            "ERROR: erpwatch: erpwatch.toml (*): is not valid TOML: *",
        ),
        (
            {},
            CONFIG + "\n[processes.extra]\nlatency_threshold = -1\n",
            "ERROR: erpwatch: processes.extra.latency_threshold (*): must be a number of seconds from more than 0 to 3600, not -1",
        ),
        (
            {},
            '[erpwatch]\nmonitors = "."\ntimezone = "Mars/Olympus"\n',
            "ERROR: erpwatch: erpwatch.timezone (*): unknown time zone 'Mars/Olympus'*",
        ),
        (
            {},
            '[erpwatch]\nmonitors = "."\nmonitor = "x"\n',
            "ERROR: erpwatch: erpwatch.monitor (*): unknown setting; known: environment, monitors, monthly_report, report_language, reports, run_deadline_minutes, timezone",
        ),
        (
            {"ERPWATCH_ENVIRONMENT": "production"},
            CONFIG,
            "ERROR: erpwatch: ERPWATCH_ENVIRONMENT (environment or .env): must be one of sandbox, test, live, not 'production'",
        ),
        (
            {"ERPWATCH_NOW": "yesterday"},
            CONFIG,
            "ERROR: erpwatch: ERPWATCH_NOW (environment or .env): must be a date and time like *, not 'yesterday'",
        ),
        (
            {},
            CONFIG + '\n[groups.client]\naddresses = ["owner(at)webshop.example"]\n',
            "ERROR: erpwatch: groups.client.addresses (*): 'owner(at)webshop.example' is not a valid e-mail address",
        ),
        (
            {},
            CONFIG
            + '\n[groups.client]\naddresses = ["a@b.example"]\n[routing]\norders = ["clients"]\n',
            "ERROR: erpwatch: routing.orders (*): unknown group 'clients'; groups: client",
        ),
        (
            {},
            CONFIG
            + '\n[groups.client]\naddresses = ["a@b.example"]\n[routing]\npayments = ["client"]\n',
            "ERROR: erpwatch: routing.payments (*): unknown process; declared processes: customers, orders",
        ),
        (
            {},
            CONFIG + '\n[groups.client]\nlanguage = "de"\naddresses = ["a@b.example"]\n',
            "ERROR: erpwatch: groups.client.language (*): 'de' is not available; choose nl, fr, en",
        ),
        (
            {},
            CONFIG + '\n[groups.client]\naddresses_env = "CLIENT_EMAILS"\n',
            "ERROR: erpwatch: groups.client (*): has no addresses; add addresses or set CLIENT_EMAILS, "
            "or give it a webhook (webhook and webhook_env) to hear by chat only",
        ),
        (
            {"CLIENT_EMAILS": "owner@webshop.example, nobody"},
            CONFIG + '\n[groups.client]\naddresses_env = "CLIENT_EMAILS"\n',
            "ERROR: erpwatch: CLIENT_EMAILS (environment or .env): 'nobody' is not a valid e-mail address",
        ),
        (
            {"SMTP_HOST": "smtp.example", "SMTP_SECURITY": "ssl"},
            CONFIG,
            "ERROR: erpwatch: SMTP_SECURITY (environment or .env): must be starttls, tls or none, not 'ssl'",
        ),
        (
            {"SMTP_HOST": "smtp.example", "SMTP_USERNAME": "me"},
            CONFIG,
            "ERROR: erpwatch: SMTP_PASSWORD (environment or .env): is not set; it is needed because SMTP_USERNAME is set",
        ),
        (
            {"SMTP_HOST": "smtp.example"},
            CONFIG,
            "ERROR: erpwatch: MAIL_FROM (environment or .env): is not set; it is needed because SMTP_HOST is set",
        ),
        (
            {"TRYTON_URL": "http://erp.example:8000/", "TRYTON_DATABASE": "shop"},
            CONFIG,
            "ERROR: erpwatch: TRYTON_USER (environment or .env): is not set; it is needed because TRYTON_URL is set",
        ),
        (
            {
                "TRYTON_URL": "http://erp.example:8000/shop/rpc/",
                "TRYTON_DATABASE": "shop",
                "TRYTON_USER": "webshop",
                "TRYTON_PASSWORD": "pw",
            },
            CONFIG,
            "ERROR: erpwatch: TRYTON_URL (environment or .env): must be the server's address without /<database>/rpc/ *",
        ),
        (
            {},
            CONFIG + "\n[erp]\ntimeout = inf\n",
            "ERROR: erpwatch: erp.timeout (*erpwatch.toml): must be a number of seconds from more than 0 to 3600, not inf",
        ),
        (
            {},
            CONFIG + "\n[alerts]\nretry_delay = nan\n",
            "ERROR: erpwatch: alerts.retry_delay (*erpwatch.toml): must be a number of seconds from more than 0 to 600, not nan",
        ),
        (
            {},
            CONFIG + "\n[mail]\nattach_report_max_kb = inf\n",
            "ERROR: erpwatch: mail.attach_report_max_kb (*erpwatch.toml): must be a number of kilobytes from more than 0 to 102400, not inf",
        ),
        (
            {"SMTP_HOST": "smtp.example", "MAIL_FROM": "a@b.example", "SMTP_TIMEOUT": "nan"},
            CONFIG,
            "ERROR: erpwatch: SMTP_TIMEOUT (environment or .env): must be a number of seconds from more than 0 to 600, not 'nan'",
        ),
        (
            {},
            CONFIG
            + '\n[groups.client]\naddresses = ["a@b.example"]\n[routing]\ncustomers = ["client"]\n',
            "ERROR: erpwatch: routing.orders (*erpwatch.toml): process 'orders' is declared but routed to no group, so its alerts would reach nobody; add orders = * under ?routing? (groups: client)",
        ),
    ],
    ids=[
        "missing-variable",
        "bad-url",
        "half-configured",
        "toml-syntax",
        "bad-number",
        "bad-timezone",
        "typo",
        "bad-env",
        "bad-clock",
        "bad-address",
        "unknown-group",
        "unknown-process",
        "unknown-language",
        "no-addresses",
        "bad-address-from-env",
        "bad-smtp-security",
        "smtp-user-without-password",
        "smtp-without-sender",
        "tryton-half-configured",
        "tryton-rpc-address",
        "infinite-timeout",
        "nan-retry-delay",
        "infinite-attachment-size",
        "nan-smtp-timeout",
        "process-without-routing",
    ],
)
def test_a_configuration_error_stops_the_run_with_one_line_naming_the_key(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    toml: str,
    expected: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (project.path / "erpwatch.toml").write_text(toml)
    project.makepyfile(test_customers=CUSTOMER_MONITOR)
    result = project.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert len([line for line in result.stderr.lines if line.strip()]) == 1


def test_settings_come_from_dotenv_and_a_real_environment_variable_wins(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.path / ".env").write_text("ERPWATCH_ENVIRONMENT=live\nERP_TEST_ITEM=1900-S\n")
    monkeypatch.setenv("ERPWATCH_ENVIRONMENT", "test")
    project.makepyfile(
        test_settings="""
        import pytest
        pytestmark = pytest.mark.process("customers")

        def test_settings(erpwatch_settings, erp):
            assert erpwatch_settings.environment == "test"
            assert erp.settings.test_item == "1900-S"
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_live_run_never_turns_green_on_the_built_in_sandbox(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERPWATCH_ENVIRONMENT", "live")
    project.makepyfile(test_customers=CUSTOMER_MONITOR)
    result = project.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "erpwatch: no Business Central ERP: ERP_BASE_URL is unset, and a live run does not start the built-in sandbox",
            "WARNING Customer creation was not monitored: *the ERP is not configured: set ERP_BASE_URL*",
            "*the ERP is not configured: set ERP_BASE_URL (a live run never uses the built-in sandbox)",
        ]
    )
    # A critical process that was not watched at all is no pass for the schedule.
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "built-in sandbox, started" not in result.stdout.str()


def test_an_explicit_config_file_that_does_not_exist_is_named(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--erpwatch-config=nope.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: erpwatch: --erpwatch-config: no file at */nope.toml"])


def test_the_report_has_a_process_column_and_each_monitors_calls(project: pytest.Pytester) -> None:
    project.makepyfile(test_customers=CUSTOMER_MONITOR)
    project.runpytest().assert_outcomes(passed=1)
    html = (project.path / "reports" / "report.html").read_text()
    assert 'data-column-type="process">Process</th>' in html
    assert "Customer creation" in html
    assert "erpwatch-exchanges" in html


def test_each_run_adds_to_the_history_and_redraws_the_dashboard(project: pytest.Pytester) -> None:
    project.makepyfile(test_customers=CUSTOMER_MONITOR)
    project.runpytest().assert_outcomes(passed=1)
    project.runpytest().assert_outcomes(passed=1)
    history = (project.path / "reports" / "history.jsonl").read_text().splitlines()
    assert len(history) == 2
    assert json.loads(history[-1])["monitors"][0]["status"] == "passed"
    dashboard = (project.path / "reports" / "index.html").read_text()
    assert "Customer creation" in dashboard
    assert "2 runs in the history" in dashboard
    assert "<script" not in dashboard


MAILED = """
[mail]
from = "erpwatch <monitoring@agency.example>"

[groups.client]
name = "Brasserie"
language = "nl"
addresses = ["owner@webshop.example"]

[routing]
customers = ["client"]
orders = ["client"]
"""


def outbox_text(project: pytest.Pytester) -> str:
    mails = sorted((project.path / "reports" / "outbox").glob("*.eml"))
    assert mails, "no mail was written"
    return "".join(p.read_text(encoding="utf-8") for p in mails)


def test_a_monitor_s_own_assert_on_a_missing_field_is_an_unexpected_answer_without_pytest_s_repr(
    project: pytest.Pytester,
) -> None:
    project.makefile(".toml", erpwatch=CONFIG + MAILED)
    project.makepyfile(
        test_items="""
        import pytest
        pytestmark = pytest.mark.process("customers")

        def test_inventory(erp):
            item = erp.find("items", number="1896-S")[0]
            assert "inventory_level" in item, f"item 1896-S has no inventory_level field"
        """
    )
    project.runpytest().assert_outcomes(failed=1)
    failed = monitor(summary(project), "test_inventory")
    diagnosis = failed["diagnosis"]
    assert diagnosis["category"] == "unexpected_response"
    assert "inventory_level" in diagnosis["reason"]
    # The author's words reach people; pytest's picture of the whole answer does not.
    assert diagnosis["error"] == "item 1896-S has no inventory_level field"
    mails = outbox_text(project)
    assert "item 1896-S has no inventory_level field" in mails
    assert "@odata" not in mails
    assert "assert 'inventory_level' in" not in mails


def test_every_call_answered_not_found_from_one_base_says_to_check_that_address(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from erpwatch.sandbox import start

    critical = 'title = "Order submission"\ncritical = true'
    project.makefile(
        ".toml", erpwatch=CONFIG.replace('title = "Order submission"', critical) + MAILED
    )
    sandbox = start()
    try:
        for name, value in sandbox.settings().items():
            monkeypatch.setenv(name, value)
        # Without /api/v2.0: the mistake the README warns about.
        monkeypatch.setenv("ERP_BASE_URL", sandbox.root_url)
        project.makepyfile(test_customers=CUSTOMER_MONITOR, test_orders=ORDER_MONITOR)
        result = project.runpytest()
    finally:
        sandbox.stop()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*[[]Address unknown[]]*"])
    text = outbox_text(project)
    # One cause for both processes, in the client's words, and not "unexpected answer".
    assert "Subject: [erpwatch] Het ERP kent het ingestelde adres niet" in text
    assert "Onverwacht antwoord" not in text

"""Settings come from two sources, the committed erpwatch.toml and the environment
(or .env); an error names the one that gave the bad value, and what the file
layers (the [alerts] lifecycle under a process's own) is applied in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpwatch._vocabulary import Aspect
from erpwatch.alerts._policy import rules_for
from erpwatch.config import AlertRules, ConfigError, Settings, load_settings, with_sandbox

from .support import clean_environment

BASE = """
[erpwatch]
monitors = "."

[processes.orders]
title = "Order submission"
"""
SANDBOX = {"PSP_BASE_URL": "http://127.0.0.1:1", "PSP_API_KEY": "test_sandbox"}


def load(tmp_path: Path, toml: str, **env: str) -> Settings:
    path = tmp_path / "erpwatch.toml"
    path.write_text(toml)
    return load_settings(path, clean_environment(**env))


# (variables, the key the error must name): one wrong value of each kind a variable can have.
WRONG_VARIABLES = [
    ({"ERPWATCH_ENVIRONMENT": "production"}, "ERPWATCH_ENVIRONMENT"),
    ({"ERPWATCH_RUN_DEADLINE_MINUTES": "inf"}, "ERPWATCH_RUN_DEADLINE_MINUTES"),
    ({"ERPWATCH_SILENCE_UNTIL": "tomorrow"}, "ERPWATCH_SILENCE_UNTIL"),
    ({"ERPWATCH_HEARTBEAT_FAIL_URL": "https://hc.example/x/fail"}, "ERPWATCH_HEARTBEAT_URL"),
    ({"ERPWATCH_PROCESSES": "invoices"}, "ERPWATCH_PROCESSES"),
    ({"ERP_CLIENT_ID": "abc"}, "ERP_BASE_URL"),
    ({"ERP_BASE_URL": "https://erp.example"}, "ERP_TOKEN_URL"),
    (
        {
            "ERP_BASE_URL": "https://erp.example",
            "ERP_TOKEN_URL": "https://login.example",
            "ERP_CLIENT_ID": "a",
            "ERP_CLIENT_SECRET": "b",
            "ERP_COMPANY_ID": "cronus",
        },
        "ERP_COMPANY_ID",
    ),
    ({"PSP_BASE_URL": "https://api.mollie.com/v2", "PSP_API_KEY": "test_x"}, "PSP_BASE_URL"),
    ({"PSP_BASE_URL": "https://api.mollie.com", "PSP_API_KEY": "sk_x"}, "PSP_API_KEY"),
    ({"PUNCHOUT_DEPLOYMENT_MODE": "staging"}, "PUNCHOUT_DEPLOYMENT_MODE"),
    ({"OCI_URL": "https://shop.example/oci"}, "OCI_USERNAME"),
    ({"TRYTON_URL": "ftp://erp.example"}, "TRYTON_DATABASE"),
    ({"SMTP_HOST": "smtp.example", "SMTP_SECURITY": "ssl"}, "SMTP_SECURITY"),
    ({"SMTP_PORT": "25"}, "SMTP_HOST"),
    ({"MAIL_FROM": "nobody"}, "MAIL_FROM"),
]


@pytest.mark.parametrize(("env", "key"), WRONG_VARIABLES)
def test_every_error_about_a_variable_names_the_environment_not_the_file(
    tmp_path: Path, env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BASE, **env)
    # ERPWATCH_PROCESSES may come from --erpwatch-processes too, and says so.
    assert caught.value.key == key
    assert caught.value.where.startswith(("environment or .env", "environment, .env or"))


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[erpwatch]\nenvironment = "production"\n', "erpwatch.environment"),
        ('[punchout.cxml]\ndeployment_mode = "staging"\n', "punchout.cxml.deployment_mode"),
        ('[erpwatch]\nreports = ""\n', "erpwatch.reports"),
    ],
)
def test_the_same_setting_wrong_in_the_file_names_the_file(
    tmp_path: Path, toml: str, key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, toml)
    assert (caught.value.key, caught.value.where) == (key, str(tmp_path / "erpwatch.toml"))


def test_a_variable_set_over_a_wrong_file_value_wins_and_nothing_is_blamed(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path, '[erpwatch]\nenvironment = ""\n', ERPWATCH_ENVIRONMENT="test")
    assert settings.environment == "test"


def test_a_process_alert_setting_wins_over_alerts_which_wins_over_the_defaults(
    tmp_path: Path,
) -> None:
    settings = load(
        tmp_path,
        BASE
        + "[processes.orders.alerts]\nafter = 5\nslow_remind_every_hours = 0\n"
        + "\n[processes.stock]\ntitle = 'Stock'\n"
        + "\n[alerts]\nafter = 3\nresolve_after = 4\nresolved_mail = false\n",
    )
    # Flapping (4 changes in 10 runs by default) is judged on failing, never on slowness.
    assert rules_for(settings, "orders", False, Aspect.FAILING) == AlertRules(
        5, 4.0, 4, False, 4, 10
    )
    assert rules_for(settings, "orders", True, Aspect.SLOW) == AlertRules(3, 0.0, 4, False)
    assert rules_for(settings, "stock", True, Aspect.FAILING) == AlertRules(3, 4.0, 4, False, 4, 10)
    plain = load(tmp_path, BASE)
    assert rules_for(plain, "orders", True, Aspect.FAILING) == AlertRules(1, 4.0, 2, True, 4, 10)
    assert rules_for(plain, None, False, Aspect.FAILING) == AlertRules(2, 4.0, 2, True, 4, 10)
    assert rules_for(plain, "orders", False, Aspect.SLOW) == AlertRules(3, 24.0, 2, True)


def test_every_party_is_called_with_the_erp_time_outs(tmp_path: Path) -> None:
    path = tmp_path / "erpwatch.toml"
    path.write_text("[erp]\ntimeout = 12\nconnect_timeout = 2\n")
    tryton = {"TRYTON_URL": "http://127.0.0.1:1/", "TRYTON_DATABASE": "erp",
              "TRYTON_USER": "admin", "TRYTON_PASSWORD": "x"}  # fmt: skip
    erp = {"ERP_BASE_URL": "http://127.0.0.1:1", "ERP_TOKEN_URL": "http://127.0.0.1:1/t",
           "ERP_CLIENT_ID": "c", "ERP_CLIENT_SECRET": "s"}  # fmt: skip
    settings = load_settings(path, clean_environment(**tryton), {**SANDBOX, **erp})
    parties = (settings.erp, settings.payments, settings.tryton)
    assert {(p.timeout, p.connect_timeout) if p else None for p in parties} == {(12.0, 2.0)}


def test_the_sandbox_stands_in_for_the_unset_parties_and_nothing_else_is_built_again(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path, BASE)
    assert (settings.erp, settings.payments, settings.punchout) == (None, None, None)
    sandbox = {
        "ERP_BASE_URL": "http://127.0.0.1:9/api/v2.0",
        "ERP_TOKEN_URL": "http://127.0.0.1:9/oauth2/v2.0/token",
        "ERP_CLIENT_ID": "erpwatch-sandbox",
        "ERP_CLIENT_SECRET": "sandbox-secret",
        "ERP_COMPANY_ID": "d756a013-f1cf-5143-86af-decc60d21c22",
        "PSP_BASE_URL": "http://127.0.0.1:9",
        "PSP_API_KEY": "test_erpwatchSandboxKey0123456789abcd",
    }
    stood_in = with_sandbox(settings, sandbox)
    assert stood_in.erp is not None
    assert stood_in.erp.sandbox
    assert stood_in.erp.base_url == sandbox["ERP_BASE_URL"]
    assert stood_in.payments is not None
    assert stood_in.payments.base_url == sandbox["PSP_BASE_URL"]
    # Everything else is the settings built and checked before the sandbox started.
    for name in ("mail", "alerts", "processes", "reports_dir", "run_deadline", "env"):
        assert getattr(stood_in, name) == getattr(settings, name)

"""Every number in the configuration, from erpwatch.toml or the environment, goes
through one check: a number, finite, within what a schedule can use; the error
names the setting, where it came from, and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpwatch.config import ConfigError, Settings, load_settings

from .support import clean_environment

BASE = """
[erpwatch]
monitors = "."

[processes.orders]
title = "Order submission"
"""

# (table, key): every number setting erpwatch.toml has, with a value it accepts.
TOML_NUMBERS = [
    ("erp", "timeout", "30"),
    ("erp", "connect_timeout", "5"),
    ("alerts", "retry_delay", "5"),
    ("alerts", "retry_after_cap", "30"),
    ("alerts", "after", "2"),
    ("alerts", "remind_every_hours", "4"),
    ("alerts", "resolve_after", "2"),
    ("alerts", "slow_after", "3"),
    ("alerts", "slow_remind_every_hours", "24"),
    ("processes.orders", "latency_threshold", "5.0"),
    ("processes.orders.alerts", "remind_every_hours", "1"),
    ("alerts", "flap_changes", "3"),
    ("alerts", "flap_window", "8"),
    ("processes.orders.alerts", "flap_window", "6"),
    ("mail", "attach_report_max_kb", "5120"),
    ("payments", "sync_timeout", "60"),
    ("payments", "grace_period_minutes", "15"),
    ("payments", "lookback", "250"),
    ("payments", "lookup_calls", "50"),
    ("punchout", "order_timeout", "60"),
    ("punchout.oci", "quantity", "1"),
]
NOT_A_SETTING = ["inf", "-inf", "nan", "-1", "1e12", "true", '"5"', "[5]"]


def load(tmp_path: Path, toml: str, **env: str) -> Settings:
    path = tmp_path / "erpwatch.toml"
    path.write_text(toml)
    return load_settings(path, clean_environment(**env))


def with_setting(table: str, key: str, value: str) -> str:
    if table == "processes.orders":
        return BASE + f"{key} = {value}\n"
    return BASE + f"\n[{table}]\n{key} = {value}\n"


@pytest.mark.parametrize(("table", "key", "good"), TOML_NUMBERS)
def test_every_toml_number_takes_a_sane_value(
    tmp_path: Path, table: str, key: str, good: str
) -> None:
    load(tmp_path, with_setting(table, key, good))


@pytest.mark.parametrize("bad", NOT_A_SETTING)
@pytest.mark.parametrize(("table", "key", "good"), TOML_NUMBERS)
def test_every_toml_number_refuses_what_is_not_finite_or_sane_naming_the_file(
    tmp_path: Path, table: str, key: str, good: str, bad: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, with_setting(table, key, bad))
    error = caught.value
    assert error.key == f"{table}.{key}"
    assert error.where == str(tmp_path / "erpwatch.toml")
    assert error.problem.startswith("must be a ")
    assert " from " in error.problem
    assert " to " in error.problem
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("table", "key", "zero_is_fine"),
    [
        ("erp", "timeout", False),
        ("alerts", "remind_every_hours", True),  # 0: never remind
        ("alerts", "after", False),
        ("alerts", "flap_changes", True),  # 0: flapping is not watched
        ("alerts", "flap_window", False),
        ("payments", "lookup_calls", True),
        ("payments", "lookback", False),
    ],
)
def test_zero_is_allowed_only_where_it_means_something(
    tmp_path: Path, table: str, key: str, zero_is_fine: bool
) -> None:
    toml = with_setting(table, key, "0")
    if zero_is_fine:
        load(tmp_path, toml)
    else:
        with pytest.raises(ConfigError, match=r"not 0$"):
            load(tmp_path, toml)


def test_counts_must_be_whole_numbers(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a whole number of payments from 1 to 10000"):
        load(tmp_path, with_setting("payments", "lookback", "2.5"))


SMTP = {"SMTP_HOST": "smtp.example", "MAIL_FROM": "a@b.example"}


@pytest.mark.parametrize("bad", ["inf", "nan", "-5", "0", "1e999", "1_000", "0x10", "5s", "99999"])
def test_smtp_timeout_from_the_environment_is_checked_and_named_as_a_variable(
    tmp_path: Path, bad: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BASE, **SMTP, SMTP_TIMEOUT=bad)
    error = caught.value
    assert (error.key, error.where) == ("SMTP_TIMEOUT", "environment or .env")
    assert error.problem == f"must be a number of seconds from more than 0 to 600, not {bad!r}"
    assert "erpwatch.toml" not in str(error)


@pytest.mark.parametrize("bad", ["0", "65536", "25.5", "inf", "-25", "smtp"])
def test_smtp_port_from_the_environment_is_a_port(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BASE, **SMTP, SMTP_PORT=bad)
    assert (caught.value.key, caught.value.where) == ("SMTP_PORT", "environment or .env")
    assert "must be a port number from 1 to 65535" in caught.value.problem


def test_good_environment_numbers_are_read(tmp_path: Path) -> None:
    settings = load(tmp_path, BASE, **SMTP, SMTP_TIMEOUT=" 12.5 ", SMTP_PORT="2525")
    assert settings.mail is not None
    assert settings.mail.smtp is not None
    assert (settings.mail.smtp.timeout, settings.mail.smtp.port) == (12.5, 2525)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"ERPWATCH_ENVIRONMENT": "production"}, "ERPWATCH_ENVIRONMENT"),
        ({"SMTP_HOST": "smtp.example"}, "MAIL_FROM"),
        ({"MAIL_REPLY_TO": "nobody"}, "MAIL_REPLY_TO"),
    ],
)
def test_an_error_about_an_environment_variable_does_not_blame_the_toml_file(
    tmp_path: Path, env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BASE, **env)
    assert (caught.value.key, caught.value.where) == (key, "environment or .env")


ROUTED = (
    BASE
    + """
[processes.customers]
title = "Customer creation"

[groups.client]
addresses = ["owner@webshop.example"]

[routing]
customers = ["client"]
"""
)


def test_a_declared_process_without_routing_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, ROUTED)
    assert caught.value.key == "routing.orders"
    assert "'orders' is declared but routed to no group" in caught.value.problem


def test_a_process_routed_to_an_empty_list_is_refused_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'orders' is declared but routed to no group"):
        load(tmp_path, ROUTED + "orders = []\n")


def test_every_process_routed_is_accepted(tmp_path: Path) -> None:
    settings = load(tmp_path, ROUTED + 'orders = ["client"]\n')
    assert settings.mail is not None
    assert settings.mail.routing["orders"] == ("client",)


def test_without_any_group_routing_is_not_required(tmp_path: Path) -> None:
    # No mail set up at all: nothing is routed, and nothing claims to be.
    assert load(tmp_path, BASE).mail is not None

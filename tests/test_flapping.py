"""Flapping: a process that keeps changing between failing and passing gets one
"unstable" mail with its pattern, reminders while it flaps and one "stable
again", not an alert and a resolved mail per change. Sequences of scheduled runs
with a controlled clock, against the sandbox and a real SMTP server; the rule
itself, the state file and the settings as plain code."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from erpwatch.alerts import StateStore
from erpwatch.alerts._policy import unstable_now
from erpwatch.config import AlertRules, ConfigError, load_settings
from erpwatch.sandbox import RunningSandbox

from .smtp_server import RunningSmtp, html_of, text_of
from .support import clean_environment
from .test_alert_sequences import CLIENT, PARTNER, T0, VAT, Schedule, subjects

STEP = timedelta(minutes=15)


def flapping_schedule(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp, orders_alerts: str
) -> Schedule:
    """The schedule of test_alert_sequences, watching orders only, with the
    orders process's own [processes.orders.alerts]: flapping is set per process."""
    schedule = Schedule(tmp_path, sandbox, smtp, processes="orders")
    schedule.config.write_text(
        schedule.config.read_text() + f"\n[processes.orders.alerts]\n{orders_alerts}\n"
    )
    return schedule


def run(schedule: Schedule, step: int, failing: bool) -> str:
    completed = schedule.run(T0 + STEP * step, VAT if failing else None)
    assert completed.returncode == (1 if failing else 0), completed.stdout[-3000:]
    return completed.stdout


def dashboard(schedule: Schedule) -> str:
    return (schedule.tmp_path / "reports" / "index.html").read_text(encoding="utf-8")


def test_a_process_that_keeps_failing_and_passing_gets_one_unstable_mail_a_reminder_and_one_stable_again(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp
) -> None:
    # resolve_after = 1: without flapping detection every change would be mailed.
    schedule = flapping_schedule(
        tmp_path,
        sandbox,
        smtp,
        "resolve_after = 1\nflap_changes = 2\nflap_window = 4\nremind_every_hours = 0.5",
    )
    run(schedule, 0, True)
    run(schedule, 1, False)
    mails = schedule.new_mail()
    assert subjects(mails, CLIENT) == [
        "[erpwatch] Bestellingen bereiken het ERP niet",
        "[erpwatch] Opgelost: Bestellingen bereiken het ERP weer",
    ]

    # The second failure completes two changes: one "unstable" mail instead of an alert.
    terminal = run(schedule, 2, True)
    assert "unstable: failed 2 of the last 3 runs: ✗✓✗; one mail for the whole" in terminal
    mails = schedule.new_mail()
    assert subjects(mails, CLIENT) == ["[erpwatch] Bestellingen doorsturen hapert"]
    assert subjects(mails, PARTNER) == ["[erpwatch] Order submission fails now and then"]
    client = text_of(next(m for m in mails if CLIENT in str(m["To"])))
    assert "Bestellingen doorsturen wisselt steeds tussen mislukken en werken" in client
    assert "mislukt bij 2 van de laatste 3 controles: ✗✓✗" in client
    partner = next(m for m in mails if PARTNER in str(m["To"]))
    assert "Last runs" in text_of(partner)
    assert "failed 2 of the last 3 runs: ✗✓✗" in text_of(partner)
    assert "failed 2 of the last 3 runs: ✗✓✗" in html_of(partner)
    # The engineers still get the failing call, as with any alert.
    assert "POST /companies(…)/salesOrders" in text_of(partner)
    assert "Unstable since" in dashboard(schedule)
    assert "failed 2 of the last 3 runs: ✗✓✗" in dashboard(schedule)

    # While it flaps: quiet, however often it changes, until a reminder is due.
    run(schedule, 3, False)
    assert schedule.new_mail() == []
    run(schedule, 4, True)  # half an hour after the unstable mail
    mails = schedule.new_mail()
    assert subjects(mails, CLIENT) == ["[erpwatch] Herinnering: Bestellingen doorsturen hapert"]
    reminder = text_of(next(m for m in mails if PARTNER in str(m["To"])))
    assert "Still unstable: Order submission fails now and then" in reminder
    assert "failed 2 of the last 4 runs: ✓✗✓✗" in reminder

    # Passing again: a reminder is still due while the window holds a change,
    # and it quotes the last failure.
    for step in range(5, 8):
        run(schedule, step, False)
    mails = schedule.new_mail()
    assert subjects(mails, CLIENT) == ["[erpwatch] Herinnering: Bestellingen doorsturen hapert"]
    reminder = text_of(next(m for m in mails if PARTNER in str(m["To"])))
    assert "failed 1 of the last 4 runs: ✓✗✓✓" in reminder
    assert "POST /companies(…)/salesOrders" in reminder
    # Stable again once a whole window of runs went the same way: one mail.
    assert "Unstable since" in dashboard(schedule)
    run(schedule, 8, False)
    mails = schedule.new_mail()
    assert subjects(mails, CLIENT) == [
        "[erpwatch] Opgelost: Bestellingen doorsturen is weer stabiel"
    ]
    assert subjects(mails, PARTNER) == ["[erpwatch] Resolved: Order submission is stable again"]
    assert "Unstable" in text_of(next(m for m in mails if PARTNER in str(m["To"])))
    assert "Unstable since" not in dashboard(schedule)
    monitors = json.loads(schedule.state_file.read_text())["monitors"]
    orders = next(entry for nodeid, entry in monitors.items() if "test_order_submission" in nodeid)
    assert orders["history"] == "PPPP" or orders["history"].endswith("PPPP")
    assert orders["unstable"]["bad"] is False


def test_flapping_that_settles_into_an_outage_is_alerted_as_an_outage_not_stable_again(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp
) -> None:
    schedule = flapping_schedule(
        tmp_path, sandbox, smtp, "resolve_after = 1\nflap_changes = 2\nflap_window = 3"
    )
    for step, failing in enumerate([True, False, True]):
        run(schedule, step, failing)
    assert subjects(schedule.new_mail(), CLIENT)[-1] == (
        "[erpwatch] Bestellingen doorsturen hapert"
    )
    run(schedule, 3, True)
    assert schedule.new_mail() == []
    run(schedule, 4, True)  # three failures in a row: no longer flapping, but down
    mails = schedule.new_mail()
    assert subjects(mails, CLIENT) == ["[erpwatch] Bestellingen bereiken het ERP niet"]
    assert "Unstable since" not in dashboard(schedule)


# -- the rule ------------------------------------------------------------------------------


def transitions(history: str, rules: AlertRules) -> list[int]:
    """The runs at which a monitor with this history becomes or stops being unstable."""
    unstable, changes = False, []
    for index in range(1, len(history) + 1):
        now = unstable_now(history[:index], unstable, rules)
        if now != unstable:
            changes.append(index - 1)
        unstable = now
    return changes


RULES = AlertRules(1, 4, 2, True, flap_changes=4, flap_window=10)


def test_it_becomes_unstable_on_the_failing_run_that_completes_the_changes() -> None:
    assert transitions("FPFPF", RULES) == [4]
    # The pass that makes the fourth change is no moment to alarm anyone.
    assert transitions("PFPFP", RULES) == []


def test_a_process_that_fails_every_fifth_run_stays_unstable_instead_of_slipping_in_and_out() -> (
    None
):
    # Two failures in ten runs are three or four changes, never a steady window.
    every_fifth = AlertRules(1, 4, 2, True, flap_changes=3, flap_window=10)
    assert transitions("FPPPP" * 12, every_fifth) == [10]


def test_it_is_stable_again_after_a_whole_window_of_the_same_outcome() -> None:
    assert transitions("FPFPF" + "P" * 9, RULES) == [4]
    assert transitions("FPFPF" + "P" * 10, RULES) == [4, 14]
    # Failing from the fifth run on: ten failures in a row end it at the fourteenth.
    assert transitions("FPFPF" + "F" * 9, RULES) == [4, 13]


def test_changes_older_than_the_window_do_not_count() -> None:
    assert transitions("FPFP" + "P" * 10 + "F", RULES) == []


def test_flap_changes_zero_turns_it_off() -> None:
    off = AlertRules(1, 4, 2, True, flap_changes=0, flap_window=10)
    assert transitions("FP" * 20, off) == []


# -- the state file ------------------------------------------------------------------------

OLD_ENTRY = {
    "process": "orders",
    "failing": {"bad": True, "since": "2026-11-27T20:00:00+00:00", "alerted": True},
    "slow": {},
}


def test_a_state_file_from_before_flapping_loads_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"schema": 1, "monitors": {"m::orders": OLD_ENTRY}}))
    store = StateStore(path)
    state = store.load()
    assert store.warnings == []
    entry = state.monitors["m::orders"]
    assert entry.history == ""
    assert entry.unstable.bad is False
    assert entry.failing.alerted is True
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("history", ["FXP", "F" * 101, 7])
def test_a_damaged_run_history_sets_the_state_file_aside(tmp_path: Path, history: object) -> None:
    path = tmp_path / "state.json"
    entry = {**OLD_ENTRY, "history": history}
    path.write_text(json.dumps({"schema": 1, "monitors": {"m::orders": entry}}))
    store = StateStore(path)
    state = store.load()
    assert state.monitors == {}
    [warning] = store.warnings
    assert "monitors.m::orders: 'history' is" in warning
    assert len(list(tmp_path.glob("state.json.corrupt-*"))) == 1


# -- the settings --------------------------------------------------------------------------

BASE = """
[erpwatch]
monitors = "."

[processes.orders]
title = "Order submission"
"""


def load(tmp_path: Path, toml: str) -> None:
    path = tmp_path / "erpwatch.toml"
    path.write_text(BASE + toml)
    load_settings(path, clean_environment())


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[alerts]\nflap_changes = 10\nflap_window = 10\n", "alerts.flap_changes"),
        ("[alerts]\nflap_window = 4\n", "alerts.flap_window"),  # the default 4 changes
        (
            "[alerts]\nflap_window = 20\n[processes.orders.alerts]\nflap_changes = 20\n",
            "processes.orders.alerts.flap_changes",
        ),
        (
            "[alerts]\nflap_changes = 6\n[processes.orders.alerts]\nflap_window = 5\n",
            "processes.orders.alerts.flap_window",
        ),
    ],
)
def test_a_count_of_changes_a_window_cannot_hold_is_refused_in_one_line(
    tmp_path: Path, toml: str, key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, toml)
    assert caught.value.key == key
    assert "set flap_changes below flap_window" in caught.value.problem
    assert "\n" not in str(caught.value)


def test_a_process_can_turn_flapping_off_under_a_small_window(tmp_path: Path) -> None:
    load(
        tmp_path,
        "[alerts]\nflap_window = 3\nflap_changes = 2\n[processes.orders.alerts]\nflap_changes = 0\n",
    )


PATTERN_FR = "en échec lors de 2 des 3 dernières exécutions\u202f: ✗✓✗"


def test_a_french_reader_gets_the_unstable_mail_and_dashboard_in_french(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp
) -> None:
    schedule = flapping_schedule(
        tmp_path, sandbox, smtp, "resolve_after = 1\nflap_changes = 2\nflap_window = 4"
    )
    french = schedule.config.read_text().replace(
        '[groups.client]\nlanguage = "nl"', '[groups.client]\nlanguage = "fr"'
    )
    # The dashboard in French too; the process named in each language.
    french = french.replace("[erpwatch]\n", '[erpwatch]\nreport_language = "fr"\n', 1)
    schedule.config.write_text(
        french.replace(
            '[processes.orders]\ntitle = "Order submission"',
            '[processes.orders]\ntitle = { en = "Order submission", fr = "Commandes web" }',
        )
    )
    for step, failing in enumerate([True, False, True]):
        run(schedule, step, failing)
    mails = schedule.new_mail()
    assert (
        subjects(mails, CLIENT)[-1] == "[erpwatch] Commandes web\u202f: échecs intermittents"
    )  # a narrow no-break space
    client = text_of([m for m in mails if CLIENT in str(m["To"])][-1])
    assert "alterne sans cesse entre échec et fonctionnement" in client
    assert PATTERN_FR in client
    page = dashboard(schedule)
    assert "Instable depuis" in page
    assert PATTERN_FR in page

"""The alert policy, windows, retries, the state file and the heartbeat, as plain code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from erpwatch._vocabulary import IncidentKind
from erpwatch.alerts import (
    RetryDecision,
    State,
    StateStore,
    Track,
    decide,
    ping_heartbeat,
    retry_decision,
    silenced_by,
)
from erpwatch.capture import Exchange
from erpwatch.config import AlertRules, AlertSettings, MaintenanceWindow
from erpwatch.diagnosis import Category, Diagnosis

T0 = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
CRITICAL = AlertRules(after=1, remind_every_hours=4, resolve_after=2, resolved_mail=True)
NORMAL = AlertRules(after=2, remind_every_hours=4, resolve_after=2, resolved_mail=True)


def replay(
    outcomes: str, rules: AlertRules, *, step: timedelta = timedelta(minutes=15), silenced: str = ""
) -> list[IncidentKind | None]:
    """'F' a failed run, 'P' a passed one; what each run notifies."""
    track = Track()
    notices = []
    for index, outcome in enumerate(outcomes):
        now = T0 + step * index
        decision = decide(
            track,
            outcome == "F",
            {"category": "rejected"},
            rules,
            now,
            index in {int(i) for i in silenced.split() if i},
        )
        track = decision.track
        notices.append(decision.notify)
        assert decision.reason
    return notices


def test_a_critical_process_alerts_on_the_first_failure() -> None:
    assert replay("F", CRITICAL) == ["alert"]


def test_a_normal_process_alerts_on_the_second_failure_in_a_row() -> None:
    assert replay("FPF", NORMAL) == [None, None, None]
    assert replay("FF", NORMAL) == [None, "alert"]


def test_reminders_come_every_few_hours_while_it_keeps_failing() -> None:
    notices = replay("F" * 40, CRITICAL)  # ten hours, every 15 minutes
    assert [(i, n) for i, n in enumerate(notices) if n] == [
        (0, "alert"),
        (16, "reminder"),
        (32, "reminder"),
    ]


def test_one_pass_does_not_resolve_two_do() -> None:
    assert replay("FPFPFP", CRITICAL) == ["alert", None, None, None, None, None]
    assert replay("FPP", CRITICAL) == ["alert", None, "resolved"]


def test_an_incident_nobody_was_alerted_about_resolves_silently() -> None:
    assert replay("FPP", NORMAL) == [None, None, None]


def test_no_resolved_mail_when_the_process_does_not_want_one() -> None:
    quiet = AlertRules(after=1, remind_every_hours=0, resolve_after=1, resolved_mail=False)
    assert replay("FFFFFFFFFFFFFFFFFFFFP", quiet) == ["alert"] + [None] * 20


def test_a_silenced_alert_goes_out_when_the_silence_ends_if_still_failing() -> None:
    assert replay("FFF", CRITICAL, silenced="0 1") == [None, None, "alert"]
    assert replay("FFPP", CRITICAL, silenced="0 1") == [None, None, None, None]


def test_the_outage_ends_at_the_first_good_run() -> None:
    track = Track()
    for index, bad in enumerate([True, True, False, False]):
        before = track
        track = decide(
            track, bad, None, CRITICAL, T0 + timedelta(hours=index), silenced=False
        ).track
    assert before.recovered_at == (T0 + timedelta(hours=2)).isoformat(timespec="seconds")
    assert before.since == T0.isoformat(timespec="seconds")


# -- maintenance windows --------------------------------------------------------------------


def alert_settings(
    *windows: MaintenanceWindow, silence_until: datetime | None = None
) -> AlertSettings:
    return AlertSettings(Path("state.json"), 5, 30, windows, silence_until, None, None)


@pytest.mark.parametrize(
    ("window", "local", "inside"),
    [
        (MaintenanceWindow("04:00", "04:30", ()), "2026-11-28T04:10", True),
        (MaintenanceWindow("04:00", "04:30", ()), "2026-11-28T04:30", False),
        (MaintenanceWindow("23:00", "01:00", ()), "2026-11-28T23:30", True),
        (MaintenanceWindow("23:00", "01:00", ()), "2026-11-29T00:30", True),
        (MaintenanceWindow("23:00", "01:00", ()), "2026-11-29T01:30", False),
        (MaintenanceWindow("23:00", "01:00", (5,)), "2026-11-29T00:30", True),  # began on Saturday
        (MaintenanceWindow("23:00", "01:00", (6,)), "2026-11-29T00:30", False),
        (MaintenanceWindow("02:00", "03:00", (6,)), "2026-11-29T02:15", True),  # a Sunday
    ],
)
def test_maintenance_windows_in_local_time(
    window: MaintenanceWindow, local: str, inside: bool
) -> None:
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Europe/Brussels"))
    assert (silenced_by(alert_settings(window), moment, "Europe/Brussels") is not None) is inside


def test_a_one_off_silence_says_until_when() -> None:
    settings = alert_settings(silence_until=T0 + timedelta(hours=1))
    assert (
        silenced_by(settings, T0, "UTC")
        == "silenced until 2026-11-27T21:00+00:00 (ERPWATCH_SILENCE_UNTIL)"
    )
    assert silenced_by(settings, T0 + timedelta(hours=2), "UTC") is None


# -- retries ----------------------------------------------------------------------------------


def exchange(method: str, error: str | None = None) -> Exchange:
    return Exchange(method, "https://erp.example/x", {}, None, None if error else 503, "", {}, None, 1, "t",
                    "ConnectionError" if error else None, error)  # fmt: skip


@pytest.mark.parametrize(
    ("category", "status", "method", "error", "retry_after", "retry"),
    [
        (Category.MAINTENANCE, 503, "POST", None, None, True),
        (Category.RATE_LIMITED, 429, "POST", None, 10.0, True),
        (Category.RATE_LIMITED, 429, "POST", None, 600.0, False),
        (Category.TIMEOUT, None, "GET", "read timed out", None, True),
        (Category.TIMEOUT, None, "POST", "read timed out", None, False),
        (Category.UNREACHABLE, None, "POST", "[Errno 111] Connection refused", None, True),
        (
            Category.UNREACHABLE,
            None,
            "POST",
            "Remote end closed connection without response",
            None,
            False,
        ),
        (Category.UNREACHABLE, None, "GET", "Connection reset by peer", None, True),
        (Category.TIMEOUT, 504, "POST", None, None, True),
        (Category.REJECTED, 400, "POST", None, None, False),
        (Category.SILENT_FAILURE, 404, "GET", None, None, False),
    ],
)
def test_only_transient_failures_that_are_safe_to_repeat_are_retried(
    category: Category,
    status: int | None,
    method: str,
    error: str | None,
    retry_after: float | None,
    retry: bool,
) -> None:
    diagnosis = Diagnosis(
        category,
        "r",
        method=method,
        status=status,
        retry_after=retry_after,
        exchange_index=0,
        error=error,
    )
    decision = retry_decision(diagnosis, [exchange(method, error)], delay=2.0, retry_after_cap=60.0)
    assert decision.retry is retry, decision.reason
    assert decision.reason


def test_a_429_waits_as_long_as_the_erp_asks() -> None:
    diagnosis = Diagnosis(Category.RATE_LIMITED, "r", status=429, retry_after=12.0)
    assert retry_decision(diagnosis, [], delay=2.0, retry_after_cap=60.0) == RetryDecision(
        True, "429: the ERP asked to try again later", 12.0
    )


# -- the state file ----------------------------------------------------------------------------


def test_a_missing_state_file_starts_fresh(tmp_path: Path) -> None:
    assert StateStore(tmp_path / "state.json").load() == State()


def test_the_state_survives_a_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    state = State()
    state.pending["client"] = [
        {
            "kind": "alert",
            "process": "orders",
            "monitors": ["monitors/test_order_submission.py::test_order"],
            "first_seen": "2026-11-27T20:00:00+00:00",
            "last_seen": "2026-11-27T20:15:00+00:00",
        }
    ]
    store.save(state)
    assert json.loads((tmp_path / "state.json").read_text())["schema"] == 1
    assert store.load() == state


def test_a_state_file_of_another_schema_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"schema": 99}')
    store = StateStore(path)
    assert store.load() == State()
    assert "schema 99, expected 1" in store.warnings[0]
    assert not path.exists()


def test_a_second_run_waits_for_the_lock(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json", lock_timeout=0.2)
    other = StateStore(tmp_path / "state.json", lock_timeout=0.2)
    from erpwatch.alerts import StateLockTimeout

    with (
        store.locked(),
        pytest.raises(StateLockTimeout, match="another erpwatch run has held"),
        other.locked(),
    ):
        pass


# -- the heartbeat --------------------------------------------------------------------------------


def heartbeat_settings(url: str | None) -> AlertSettings:
    return AlertSettings(Path("s"), 5, 30, (), None, url, url + "/fail" if url else None)


def test_the_heartbeat_pings_success_and_failure_urls(
    heartbeat_server: tuple[str, list[str]],
) -> None:
    url, pings = heartbeat_server
    assert ping_heartbeat(heartbeat_settings(url), ok=True) is None
    assert ping_heartbeat(heartbeat_settings(url), ok=False) is None
    assert pings == ["/ping/abc", "/ping/abc/fail"]


def test_a_failing_heartbeat_is_reported_not_raised(
    heartbeat_server: tuple[str, list[str]],
) -> None:
    url, _ = heartbeat_server
    assert ping_heartbeat(heartbeat_settings(url + "/broken"), ok=True) == (
        "heartbeat not delivered: the service answered 500"
    )
    from .smtp_server import free_port

    closed = f"http://127.0.0.1:{free_port()}/ping"
    assert (
        ping_heartbeat(heartbeat_settings(closed), ok=True)
        == "heartbeat not delivered: could not connect (ConnectionError: Connection refused)"
    )
    assert ping_heartbeat(heartbeat_settings(None), ok=True) is None


def test_a_heartbeat_service_that_trickles_is_given_up_at_the_deadline() -> None:
    import time

    from .hostile_http import hostile_http, trickling_body

    with hostile_http(trickling_body(0.05)) as server:
        started = time.monotonic()
        problem = ping_heartbeat(heartbeat_settings(server.url + "/ping"), ok=True, timeout=1.0)
        elapsed = time.monotonic() - started
    assert problem == (
        "heartbeat not delivered: no complete answer within 1 s, the call's whole time-out"
    )
    assert elapsed < 2.5

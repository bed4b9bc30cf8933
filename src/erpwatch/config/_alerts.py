"""[alerts] and the ERPWATCH_STATE/SILENCE_UNTIL/NOW/HEARTBEAT_* variables: the
alert lifecycle's settings, maintenance windows, silences and heartbeats."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from ._schema import (
    SPANS,
    ConfigError,
    Span,
    checked_number,
    env_error,
    is_http_url,
    number,
    reject_unknown,
    table,
)


@dataclass(frozen=True)
class AlertRules:
    """When to mail about one aspect (failing, or slow) of a process's monitors."""

    after: int  # consecutive bad runs before the first alert
    remind_every_hours: float  # while still bad; 0: never remind
    resolve_after: int  # consecutive good runs before it counts as resolved
    resolved_mail: bool
    # Flapping: this many changes between failing and passing within the last
    # ``flap_window`` runs make the process unstable; 0: never.
    flap_changes: int = 0
    flap_window: int = 0


@dataclass(frozen=True)
class Lifecycle:
    """The lifecycle settings one table sets ([alerts], or [processes.NAME.alerts]
    over it). None: not set here, so the table below (or erpwatch's default) decides."""

    after: int | None = None
    remind_every_hours: float | None = None
    resolve_after: int | None = None
    resolved_mail: bool | None = None
    slow_after: int | None = None
    slow_remind_every_hours: float | None = None
    flap_changes: int | None = None
    flap_window: int | None = None

    def over(self, below: Lifecycle) -> Lifecycle:
        """These settings, and ``below``'s where these are not set."""
        return Lifecycle(
            **{
                f.name: getattr(below, f.name)
                if getattr(self, f.name) is None
                else getattr(self, f.name)
                for f in fields(self)
            }
        )


@dataclass(frozen=True)
class MaintenanceWindow:
    """A recurring slot (local time) in which failures are recorded but not mailed."""

    start: str  # "HH:MM"
    end: str  # "HH:MM"; before start: the window runs past midnight
    days: tuple[int, ...]  # 0 = Monday; all days when empty


@dataclass(frozen=True)
class AlertSettings:
    """[alerts]: where the state lives, retries, maintenance windows, silences, heartbeats."""

    state_file: Path
    retry_delay: float  # seconds before re-running a monitor that failed transiently
    retry_after_cap: float  # the most a Retry-After may make erpwatch wait
    maintenance: tuple[MaintenanceWindow, ...]
    silence_until: datetime | None
    heartbeat_url: str | None
    heartbeat_fail_url: str | None
    fixed_now: datetime | None = None  # ERPWATCH_NOW: replay a schedule with a controlled clock


FLAP_WINDOW_MAX = 100
_RUNS = Span("runs in a row", 1000.0, low=1.0, inclusive=True, whole=True)
_LIFECYCLE_SPANS = {
    "after": _RUNS,
    "remind_every_hours": SPANS["hours"],
    "resolve_after": _RUNS,
    "slow_after": _RUNS,
    "slow_remind_every_hours": SPANS["hours"],
    # 0 turns flapping detection off; a window holds at most FLAP_WINDOW_MAX runs,
    # and that many outcomes per monitor is what the alert state keeps.
    "flap_changes": Span("changes", FLAP_WINDOW_MAX - 1, inclusive=True, whole=True),
    "flap_window": Span("runs", FLAP_WINDOW_MAX, low=2.0, inclusive=True, whole=True),
}
_LIFECYCLE_KEYS = tuple(f.name for f in fields(Lifecycle))  # in the order errors are found


def lifecycle_of(
    values: Mapping[str, Any], prefix: str, where: str, also_known: tuple[str, ...] = ()
) -> Lifecycle:
    """The alert lifecycle settings of a table ([alerts] or [processes.X.alerts]), checked."""
    reject_unknown(values, {*_LIFECYCLE_KEYS, *also_known}, prefix, where)
    given: dict[str, Any] = {}
    for key in _LIFECYCLE_KEYS:
        if key not in values:
            continue
        span = _LIFECYCLE_SPANS.get(key)
        if span is not None:
            checked = checked_number(values[key], f"{prefix}{key}", where, span)
            given[key] = int(checked) if span.whole else checked
        elif isinstance(values[key], bool):
            given[key] = values[key]
        else:
            raise ConfigError(
                f"{prefix}{key}", f"must be true or false, not {values[key]!r}", where
            )
    return Lifecycle(**given)


# erpwatch's own flapping defaults (Kibana's rule is 4 changes in 20 runs; at a
# 15-minute schedule 10 runs is two and a half hours).
FLAP_CHANGES, FLAP_WINDOW = 4, 10


def check_flapping(defaults: Lifecycle, processes: Mapping[str, Lifecycle], where: str) -> None:
    """W runs hold at most W - 1 changes: a process whose flap_changes could never
    be reached is a mistake, named at the most specific table that set either."""
    tables = [("alerts.", defaults, defaults)] + [
        (f"processes.{name}.alerts.", own, own.over(defaults)) for name, own in processes.items()
    ]
    for prefix, own, chosen in tables:
        changes = FLAP_CHANGES if chosen.flap_changes is None else chosen.flap_changes
        window = FLAP_WINDOW if chosen.flap_window is None else chosen.flap_window
        if changes < window or (own.flap_changes is None and own.flap_window is None):
            continue
        key = "flap_changes" if own.flap_changes is not None else "flap_window"
        raise ConfigError(
            f"{prefix}{key}",
            f"flap_changes = {changes} cannot happen within flap_window = {window} runs "
            f"(at most {window - 1} changes); set flap_changes below flap_window, "
            "or flap_changes = 0 to turn flapping detection off",
            where,
        )


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


def _maintenance(entries: Any, where: str) -> tuple[MaintenanceWindow, ...]:
    if not isinstance(entries, list):
        raise ConfigError(
            "alerts.maintenance", "must be a list of [[alerts.maintenance]] tables", where
        )
    windows = []
    for index, entry in enumerate(entries):
        key = f"alerts.maintenance[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(key, "must be a table with start, end and optional days", where)
        reject_unknown(entry, {"start", "end", "days"}, f"{key}.", where)
        for bound in ("start", "end"):
            if not isinstance(entry.get(bound), str) or not re.match(_CLOCK, entry[bound]):
                raise ConfigError(
                    f"{key}.{bound}",
                    f'must be a time like "04:00", not {entry.get(bound)!r}',
                    where,
                )
        days = entry.get("days", [])
        if not isinstance(days, list) or any(d not in _DAY_NAMES for d in days):
            raise ConfigError(
                f"{key}.days", f"must be a list of {', '.join(_DAY_NAMES)}, not {days!r}", where
            )
        windows.append(
            MaintenanceWindow(
                entry["start"], entry["end"], tuple(_DAY_NAMES.index(d) for d in days)
            )
        )
    return tuple(windows)


def _moment(env: Mapping[str, str], name: str, example: str, zone: tzinfo) -> datetime | None:
    """A date and time from the environment; without an offset, in ``zone``."""
    raw = env.get(name, "")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise env_error(name, f"must be a date and time like {example}, not {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _heartbeat(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    urls = []
    for name in ("ERPWATCH_HEARTBEAT_URL", "ERPWATCH_HEARTBEAT_FAIL_URL"):
        value = env.get(name) or None
        if value is not None and not is_http_url(value):
            raise env_error(name, f"must be an http(s) URL, not {value!r}")
        urls.append(value)
    url, fail_url = urls
    if fail_url and not url:
        raise env_error("ERPWATCH_HEARTBEAT_URL", "is not set but ERPWATCH_HEARTBEAT_FAIL_URL is")
    # healthchecks.io and compatible services take a failure at <url>/fail.
    return url, fail_url or (url.rstrip("/") + "/fail" if url else None)


def alert_settings(
    data: Mapping[str, Any],
    root: Path,
    reports_dir: Path,
    timezone: str,
    env: Mapping[str, str],
    where: str,
) -> tuple[AlertSettings, Lifecycle]:
    """[alerts]: the settings of the alert run, and the lifecycle every process starts from."""
    values = table(data, "alerts", where)
    defaults = lifecycle_of(
        values,
        "alerts.",
        where,
        also_known=("state_file", "retry_delay", "retry_after_cap", "maintenance"),
    )
    state = env.get("ERPWATCH_STATE") or values.get("state_file")
    if state is not None and (not isinstance(state, str) or not state.strip()):
        raise ConfigError("alerts.state_file", f"must be a path, not {state!r}", where)
    state_path = Path(state) if state else reports_dir / "state.json"
    if not state_path.is_absolute():
        state_path = root / state_path
    heartbeat_url, heartbeat_fail_url = _heartbeat(env)
    from zoneinfo import ZoneInfo  # checked by load_settings; imported when settings are built

    settings = AlertSettings(
        state_file=state_path,
        retry_delay=number(
            values, "retry_delay", 5.0, "alerts.", where, span=Span("seconds", 600.0)
        ),
        retry_after_cap=number(values, "retry_after_cap", 30.0, "alerts.", where),
        maintenance=_maintenance(values.get("maintenance", []), where),
        # A silence is planned in local time; a replayed clock is given in full.
        silence_until=_moment(
            env, "ERPWATCH_SILENCE_UNTIL", "2026-11-28T06:00", ZoneInfo(timezone)
        ),
        fixed_now=_moment(env, "ERPWATCH_NOW", "2026-11-27T21:04:00+01:00", UTC),
        heartbeat_url=heartbeat_url,
        heartbeat_fail_url=heartbeat_fail_url,
    )
    return settings, defaults

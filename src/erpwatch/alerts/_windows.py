"""Maintenance windows and one-off silences: failures are recorded and
reported, but not mailed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..config import AlertSettings, MaintenanceWindow


def _inside(window: MaintenanceWindow, local: datetime) -> bool:
    clock = local.strftime("%H:%M")
    if window.start <= window.end:
        inside, day = window.start <= clock < window.end, local.weekday()
    elif clock >= window.start:  # the window runs past midnight: the evening part
        inside, day = True, local.weekday()
    else:  # the morning part belongs to the window that started the day before
        inside, day = clock < window.end, (local.weekday() - 1) % 7
    return inside and (not window.days or day in window.days)


def silenced_by(settings: AlertSettings, now: datetime, timezone: str) -> str | None:
    """Why failure mail is held back right now, or None."""
    if settings.silence_until is not None and now < settings.silence_until:
        return f"silenced until {settings.silence_until.isoformat(timespec='minutes')} (ERPWATCH_SILENCE_UNTIL)"
    window = maintenance_window(settings, now, timezone)
    if window is not None:
        return f"maintenance window {window.start}–{window.end} ({timezone})"
    return None


def maintenance_window(
    settings: AlertSettings, now: datetime, timezone: str
) -> MaintenanceWindow | None:
    """The planned maintenance window ``now`` falls in, or None."""
    local = now.astimezone(ZoneInfo(timezone))
    return next((w for w in settings.maintenance if _inside(w, local)), None)

"""Times and durations as people read them, in Dutch, French or English."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

_DAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "nl": ("ma", "di", "wo", "do", "vr", "za", "zo"),
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
}
_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    "fr": (
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ),
}
_UNITS = {"en": ("d", "h", "min"), "nl": ("d", "u", "min"), "fr": ("j", "h", "min")}


def seconds_text(seconds: float, language: str) -> str:
    """``0.52 s`` in English, ``0,52 s`` in Dutch and French."""
    text = f"{seconds:.2f} s"
    return text if language == "en" else text.replace(".", ",")


def duration_text(seconds: float, language: str) -> str:
    """``3 h 12 min`` (``3 u 12 min`` in Dutch); at least a minute."""
    day, hour, minute = _UNITS[language]
    minutes = max(1, round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days} {day}" if days else "",
        f"{hours} {hour}" if hours else "",
        f"{minutes} {minute}" if minutes else "",
    ]
    return " ".join(p for p in parts if p)


def local_time(moment: datetime, timezone: str, language: str) -> str:
    """``vr 27 nov 21:04`` / ``ven. 27 nov. 21:04`` / ``Fri 27 Nov 21:04`` in the configured zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    day = _DAYS[language][local.weekday()]
    month = _MONTHS[language][local.month - 1]
    return f"{day} {local.day} {month} {local:%H:%M}"

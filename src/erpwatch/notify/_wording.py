"""Words that depend on the language: process headlines, dates, lists of people."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from ..config import ProcessSettings

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
_AND = {"en": "and", "nl": "en", "fr": "et"}


@cache
def _defaults() -> dict[str, dict[str, dict[str, str]]]:
    text = resources.files(__package__).joinpath("wording.toml").read_text(encoding="utf-8")
    data: dict[str, dict[str, dict[str, str]]] = tomllib.loads(text)
    return data


def process_wording(
    process: str,
    settings: ProcessSettings | None,
    language: str,
    *,
    variant: str = "",
    processes: Sequence[str] = (),
) -> tuple[str, str]:
    """(headline, impact) for a process in a language. ``variant``: "" for the
    process's own wording (config overrides the defaults), or one of
    ``_monitor_error``, ``_slow``, ``_resolved``, ``_root_unreachable``, ``_root_auth``."""
    title = settings.title if settings is not None else process
    key = variant or (process if process in _defaults() else "_default")
    wording = dict(_defaults()[key][language])
    if settings is not None and not variant:
        wording.update(settings.wording.get(language, {}))
    values = {"title": title, "processes": join_names(list(processes), language)}
    return wording["headline"].format(**values), wording["impact"].format(**values)


_UNITS = {"en": ("d", "h", "min"), "nl": ("d", "u", "min"), "fr": ("j", "h", "min")}


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


def join_names(names: Sequence[str], language: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {_AND[language]} {names[-1]}"

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
    process: str, settings: ProcessSettings | None, language: str, *, monitor_error: bool = False
) -> tuple[str, str]:
    """(headline, impact) for a process in a language; config overrides the defaults."""
    title = settings.title if settings is not None else process
    key = "_monitor_error" if monitor_error else (process if process in _defaults() else "_default")
    wording = dict(_defaults()[key][language])
    if settings is not None and not monitor_error:
        wording.update(settings.wording.get(language, {}))
    return wording["headline"].format(title=title), wording["impact"].format(title=title)


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

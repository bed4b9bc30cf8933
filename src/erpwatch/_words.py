"""The languages erpwatch writes in, as data: one file per language under
``languages/`` holds every word a mail, the report's diagnosis and a date use.
Adding a language is adding that file; nothing here names a language."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from zoneinfo import ZoneInfo

# English is the reference: every other language must have exactly its keys.
REFERENCE = "en"


def _folder() -> Traversable:
    return resources.files(__package__).joinpath("languages")


def _codes() -> tuple[str, ...]:
    codes = [f.name.removesuffix(".toml") for f in _folder().iterdir() if f.name.endswith(".toml")]
    # A fixed order, so the messages that list the languages read the same on
    # every machine; reverse-alphabetical keeps the order erpwatch has always
    # printed (nl, fr, en).
    return tuple(sorted(codes, reverse=True))


LANGUAGES = _codes()


@dataclass(frozen=True)
class Language:
    """Everything erpwatch writes in one language (see ``languages/en.toml``)."""

    code: str
    days: tuple[str, ...]  # Monday first
    months: tuple[str, ...]
    units: tuple[str, str, str]  # day, hour, minute
    decimal_separator: str
    and_: str  # before the last of a list of names
    no_value: str  # where a diagnosis lacks a call, status or time
    mail: Mapping[str, str]  # labels and subject phrases
    processes: Mapping[str, Mapping[str, str]]  # headline and impact per process or variant
    diagnosis: Mapping[str, Mapping[str, str]]  # label, what, impact, action per category


class LanguageFileError(Exception):
    """A language file that erpwatch cannot use: names the file and what to fix."""


def key_paths(data: Mapping[str, object], prefix: str = "") -> set[str]:
    """Every key of a language file as a dotted path (``mail.since``)."""
    paths: set[str] = set()
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            paths |= key_paths(value, f"{path}.")
        else:
            paths.add(path)
    return paths


def _read(code: str) -> dict[str, object]:
    name = f"languages/{code}.toml"
    try:
        data = tomllib.loads(_folder().joinpath(f"{code}.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LanguageFileError(f"erpwatch: {name} cannot be read: {error}") from None
    return data


@cache
def words_of(code: str) -> Language:
    """The words of a language, checked against English the first time they are used."""
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}; erpwatch speaks {', '.join(LANGUAGES)}")
    data = _read(code)
    if code != REFERENCE:
        expected, found = key_paths(_read(REFERENCE)), key_paths(data)
        missing, extra = sorted(expected - found), sorted(found - expected)
        if missing or extra:
            problems = [f"missing {', '.join(missing)}"] if missing else []
            problems += [f"unknown {', '.join(extra)}"] if extra else []
            raise LanguageFileError(
                f"erpwatch: languages/{code}.toml does not match en.toml: {'; '.join(problems)}"
            )
    dates = data["dates"]
    assert isinstance(dates, dict)  # the key check above: en.toml has these tables
    days, months = (
        _texts(dates["days"], code, "dates.days"),
        _texts(dates["months"], code, "dates.months"),
    )
    if len(days) != 7 or len(months) != 12:
        raise LanguageFileError(
            f"erpwatch: languages/{code}.toml: dates need 7 days and 12 months, "
            f"not {len(days)} and {len(months)}"
        )
    units = _table(dates, code, "dates")
    words = _table(data["words"], code, "words")
    return Language(
        code=code,
        days=days,
        months=months,
        units=(units["day"], units["hour"], units["minute"]),
        decimal_separator=units["decimal_separator"],
        and_=words["and"],
        no_value=words["no_value"],
        mail=_table(data["mail"], code, "mail"),
        processes=_tables(data["processes"], code, "processes"),
        diagnosis=_tables(data["diagnosis"], code, "diagnosis"),
    )


def _texts(value: object, code: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LanguageFileError(f"erpwatch: languages/{code}.toml: {where} must be a list of texts")
    return tuple(value)


def _table(value: object, code: str, where: str) -> dict[str, str]:
    """The texts of a table; lists (the days and months) are read by ``_texts``."""
    if not isinstance(value, dict):
        raise LanguageFileError(f"erpwatch: languages/{code}.toml: {where} must be a table")
    texts = {k: v for k, v in value.items() if not isinstance(v, list)}
    for key, text in texts.items():
        if not isinstance(text, str):
            raise LanguageFileError(
                f"erpwatch: languages/{code}.toml: {where}.{key} must be a text in quotes"
            )
    return texts


def _tables(value: object, code: str, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        raise LanguageFileError(f"erpwatch: languages/{code}.toml: {where} must be a table")
    return {key: _table(table, code, f"{where}.{key}") for key, table in value.items()}


def seconds_text(seconds: float, code: str) -> str:
    """``0.52 s`` in English, ``0,52 s`` in Dutch and French."""
    return f"{seconds:.2f} s".replace(".", words_of(code).decimal_separator)


def duration_text(seconds: float, code: str) -> str:
    """``3 h 12 min`` (``3 u 12 min`` in Dutch); at least a minute."""
    day, hour, minute = words_of(code).units
    minutes = max(1, round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days} {day}" if days else "",
        f"{hours} {hour}" if hours else "",
        f"{minutes} {minute}" if minutes else "",
    ]
    return " ".join(p for p in parts if p)


def local_time(moment: datetime, timezone: str, code: str) -> str:
    """``vr 27 nov 21:04`` / ``ven. 27 nov. 21:04`` / ``Fri 27 Nov 21:04`` in the configured zone."""
    words = words_of(code)
    local = moment.astimezone(ZoneInfo(timezone))
    return (
        f"{words.days[local.weekday()]} {local.day} {words.months[local.month - 1]} {local:%H:%M}"
    )

"""The languages erpwatch writes in, as data: one file per language under
``languages/`` holds every word a mail, the report's diagnosis and a date use.
Adding a language is adding that file; nothing here names a language."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
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
    words: Mapping[str, str]  # small words and punctuation ([words])
    mail: Mapping[str, str]  # labels and subject phrases
    roles: Mapping[str, str]  # what each role is called
    parties: Mapping[str, Mapping[str, str]]  # who answered: label, subject, object, owner …
    wire: Mapping[str, str]  # why no answer came
    processes: Mapping[str, Mapping[str, str]]  # title, headline, impact, resolved
    diagnosis: Mapping[str, Mapping[str, str]]  # label, what, impact, advice per role, checked


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
        words=words,
        mail=_table(data["mail"], code, "mail"),
        roles=_table(data["roles"], code, "roles"),
        parties=_tables(data["parties"], code, "parties"),
        wire=_table(data["wire"], code, "wire"),
        processes=_tables(data["processes"], code, "processes"),
        diagnosis=_tables(data["diagnosis"], code, "diagnosis"),
    )


@cache
def words_table(code: str, name: str) -> Mapping[str, str]:
    """One table of a language file ([report], [dashboard], [test_mail]): the
    words of one kind of page or message, checked against English like the rest."""
    words_of(code)  # refuses an unknown language and a file that does not match en.toml
    return MappingProxyType(_table(_read(code)[name], code, name))


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


def counted(n: int, noun: str) -> str:
    """``1 monitor``, ``2 monitors``: a count in erpwatch's English log lines."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def seconds_text(seconds: float, code: str) -> str:
    """``0.52 s`` in English, ``0,52 s`` in Dutch and French."""
    return f"{seconds:.2f} s".replace(".", words_of(code).decimal_separator)


def waited_text(seconds: float, code: str) -> str:
    """How long erpwatch waited, as people say it: ``4 s``, ``0.5 s``, ``2 min``."""
    if seconds >= 120:
        return f"{round(seconds / 60)} {words_of(code).units[2]}"
    text = f"{seconds:.0f}" if seconds >= 10 or seconds == int(seconds) else f"{seconds:.1f}"
    return f"{text} s".replace(".", words_of(code).decimal_separator)


_CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}


def money_text(amount: float, currency: str, code: str) -> str:
    """``€ 233,29`` in Dutch, ``233,29 €`` in French, ``€233.29`` in English; a
    thousands separator people read (a narrow no-break space) above 9 999."""
    words = words_of(code)
    number = f"{amount:,.2f}".replace(",", "\u202f").replace(".", words.decimal_separator)
    symbol = _CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())
    return words.words["money"].format(currency=symbol, amount=number)


def exact_time(moment: datetime, timezone: str) -> str:
    """``2026-11-28 21:49:07 CET (20:49:07 UTC)``: what an engineer matches with a log."""
    local = moment.astimezone(ZoneInfo(timezone))
    utc = moment.astimezone(ZoneInfo("UTC"))
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({utc:%H:%M:%S} UTC)"


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


# A monitor's recent runs as the alert state keeps them, as a reader sees them.
_MARKS = {"F": "✗", "P": "✓"}


def run_marks(pattern: str) -> str:
    """``FPF`` as a reader sees it: ``✗✓✗``; at most a window's worth (a pending
    mail's pattern is read back from the state)."""
    return "".join(_MARKS.get(run, "") for run in pattern[-100:])


def unstable_pattern(pattern: str, code: str) -> str:
    """ "failed 3 of the last 8 runs: ✗✓✗✓✗✓✓✗" (oldest run first), in a language."""
    marks = run_marks(pattern)
    return words_table(code, "flapping")["pattern"].format(
        failed=marks.count("✗"), runs=len(marks), marks=marks
    )


# Line breaks and runs of spaces, not the no-break spaces French typography needs.
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def one_line(text: str | None, limit: int) -> str:
    """Text quoted to a person: on one line, at most ``limit`` characters, the cut marked."""
    flat = _SPACES.sub(" ", text or "").strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"

"""The one small schema layer every builder uses: tables, texts, numbers and the
error that names the setting to fix and where it was read.

A hand-written layer rather than pydantic + pydantic-settings: see
benchmarks/config_choice.py for the measurement (import time of a test worker,
and messages that stay one line naming the key and its true source)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .._words import LANGUAGES as LANGUAGES  # re-exported: the languages shipped as files

# The source of every value read from the process environment or `.env`.
WHERE_ENV = "environment or .env"


class ConfigError(Exception):
    """A setting the user must fix. ``str()`` is the one line to show them."""

    def __init__(self, key: str, problem: str, where: str = "") -> None:
        self.key = key
        self.problem = problem
        self.where = where
        location = f" ({where})" if where else ""
        super().__init__(f"{key}{location}: {problem}")


def env_error(name: str, problem: str) -> ConfigError:
    """An error about an environment variable: its source is the environment, never the file."""
    return ConfigError(name, problem, WHERE_ENV)


@dataclass(frozen=True)
class Layered:
    """A text that an environment variable may set over a TOML key, with the key and
    source of the one that gave it: an error about the value then blames its true source."""

    value: str
    key: str
    where: str

    def error(self, problem: str) -> ConfigError:
        return ConfigError(self.key, problem, self.where)


def layered_text(
    env: Mapping[str, str],
    name: str,
    values: Mapping[str, Any],
    key: str,
    default: str,
    prefix: str,
    where: str,
) -> Layered:
    """Environment variable ``name`` when set, else ``prefix + key`` from the file
    (a non-empty text), else ``default``."""
    if env.get(name):
        return Layered(env[name], name, WHERE_ENV)
    return Layered(text(values, key, default, prefix, where), f"{prefix}{key}", where)


def table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table, e.g. [" + key + "]", where)
    return value


def reject_unknown(values: Mapping[str, Any], known: set[str], prefix: str, where: str) -> None:
    for key in values:
        if key not in known:
            hint = ", ".join(sorted(known))
            raise ConfigError(f"{prefix}{key}", f"unknown setting; known: {hint}", where)


# What a number may be, per unit, unless a setting says otherwise: finite, and
# within what a monitoring schedule can sensibly use. An hour-long time-out or
# a 100 MB attachment is a typo, not a choice; inf and nan are never a choice
# (time-outs of inf overflow deep inside the HTTP and SMTP clients).
@dataclass(frozen=True)
class Span:
    """The numbers a setting accepts: ``low`` < x (or ≤ x when ``inclusive``) ≤ ``high``."""

    unit: str
    high: float
    low: float = 0.0
    inclusive: bool = False  # whether ``low`` itself is allowed
    whole: bool = False
    noun: str = ""  # what the number is, where "a number of <unit>" does not say it

    def describe(self) -> str:
        kind = f"a whole number of {self.unit}" if self.whole else f"a number of {self.unit}"
        kind = self.noun or kind
        low = f"{self.low:g}" if self.inclusive else f"more than {self.low:g}"
        return f"{kind} from {low} to {self.high:g}"

    def accepts(self, value: float) -> bool:
        above = value >= self.low if self.inclusive else value > self.low
        return math.isfinite(value) and above and value <= self.high


SPANS = {
    "seconds": Span("seconds", 3600.0),
    "minutes": Span("minutes", 7 * 24 * 60.0),
    "hours": Span("hours", 24 * 365.0, inclusive=True),
    "kilobytes": Span("kilobytes", 100 * 1024.0),
}


def checked_number(value: object, key: str, where: str, span: Span) -> float:
    """The one check every configured number goes through, from the TOML file or
    the environment: a number (not a boolean), finite, within ``span``."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if (
        number is None
        or (span.whole and not isinstance(number, int))
        or not span.accepts(float(number))
    ):
        raise ConfigError(key, f"must be {span.describe()}, not {value!r}", where)
    return float(number)


_PLAIN_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)"


def env_number(env: Mapping[str, str], name: str, default: float, span: Span) -> float:
    """A number from an environment variable (or .env), checked like a TOML one.
    Only plain decimal text is a number here: Python's float() would also take
    'inf', 'nan', '1e999' and '1_000', none of which a person means as a setting."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value: float = math.nan
    if re.fullmatch(_PLAIN_NUMBER, raw):
        value = int(raw) if span.whole and raw.lstrip("+-").isdigit() else float(raw)
    if (span.whole and not isinstance(value, int)) or not span.accepts(value):
        # The text as written: that is what the person finds in .env.
        raise env_error(name, f"must be {span.describe()}, not {raw!r}")
    return float(value)


def number(
    values: Mapping[str, Any],
    key: str,
    default: float,
    prefix: str,
    where: str,
    unit: str = "seconds",
    span: Span | None = None,
) -> float:
    """A number from a TOML table, or ``default`` when the key is absent."""
    if key not in values:
        return float(default)
    return checked_number(values[key], f"{prefix}{key}", where, span or SPANS[unit])


def optional_number(
    values: Mapping[str, Any], key: str, prefix: str, where: str, unit: str = "seconds"
) -> float | None:
    """A number from a TOML table, or None when the key is absent (the setting is off)."""
    if key not in values:
        return None
    return checked_number(values[key], f"{prefix}{key}", where, SPANS[unit])


def whole(
    values: Mapping[str, Any], key: str, default: int, prefix: str, where: str, span: Span
) -> int:
    """A whole number from a TOML table (a count, a port), or ``default``."""
    if key not in values:
        return default
    return int(checked_number(values[key], f"{prefix}{key}", where, span))


def text(values: Mapping[str, Any], key: str, default: str, prefix: str, where: str) -> str:
    value = values.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{prefix}{key}", f"must be a non-empty text, not {value!r}", where)
    return value.strip()


def flag(values: Mapping[str, Any], key: str, default: bool, prefix: str, where: str) -> bool:
    value = values.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{prefix}{key}", f"must be true or false, not {value!r}", where)
    return value


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


_ADDRESS = r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\"]+$"


def check_address(value: str, key: str, where: str) -> str:
    """An address as people write it (``Name <a@b.example>`` or ``a@b.example``), checked."""
    from email.utils import parseaddr

    _, address = parseaddr(value)
    if not address or not re.match(_ADDRESS, address) or "@" in value.replace(address, "", 1):
        raise ConfigError(key, f"{value!r} is not a valid e-mail address", where)
    return value.strip()


def check_zone(value: object, key: str, where: str, example: str = "Europe/Brussels") -> str:
    """An IANA time zone name, or one line naming ``key``."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only when settings are built

    try:
        if not isinstance(value, str) or not value:
            raise ValueError
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigError(key, f"unknown time zone {value!r}, e.g. {example!r}", where) from None
    return value

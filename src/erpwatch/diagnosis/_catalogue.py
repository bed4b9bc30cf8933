"""The human sentences for each diagnosis category, in Dutch, French and English."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .._vocabulary import Category
from ._model import Diagnosis

LANGUAGES = ("nl", "fr", "en")
_PARTS = ("label", "what", "impact", "action")
_NO_VALUE = {"nl": "—", "fr": "—", "en": "—"}


@dataclass(frozen=True)
class Explanation:
    label: str
    what: str
    impact: str
    action: str


@cache
def catalogue() -> dict[str, dict[str, dict[str, str]]]:
    text = resources.files(__package__).joinpath("catalogue.toml").read_text(encoding="utf-8")
    data: dict[str, dict[str, dict[str, str]]] = tomllib.loads(text)
    return data


def _seconds(milliseconds: float | None, language: str) -> str:
    if milliseconds is None:
        return _NO_VALUE[language]
    text = f"{milliseconds / 1000:.2f} s"
    return text.replace(".", ",") if language in ("nl", "fr") else text


def explain(diagnosis: Diagnosis, language: str = "en") -> Explanation:
    """The catalogue's sentences for this diagnosis, with its evidence filled in."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; erpwatch speaks {', '.join(LANGUAGES)}")
    entry = catalogue()[diagnosis.category.value][language]
    values = {
        "call": diagnosis.call or _NO_VALUE[language],
        "status": diagnosis.status if diagnosis.status is not None else _NO_VALUE[language],
        "duration": _seconds(diagnosis.duration_ms, language),
        "threshold": _seconds(diagnosis.threshold_ms, language),
    }
    return Explanation(**{part: entry[part].format(**values) for part in _PARTS})


def missing_entries() -> list[str]:
    """Category/language/part combinations the catalogue lacks (a test keeps this empty)."""
    data = catalogue()
    return [
        f"{category.value}.{language}.{part}"
        for category in Category
        for language in LANGUAGES
        for part in _PARTS
        if not data.get(category.value, {}).get(language, {}).get(part)
    ]

"""The human sentences for each diagnosis category, in every language erpwatch
speaks (the ``[diagnosis]`` tables of ``languages/*.toml``)."""

from __future__ import annotations

from dataclasses import dataclass

from .._vocabulary import Category
from .._words import LANGUAGES, seconds_text, words_of
from ._model import Diagnosis

_PARTS = ("label", "what", "impact", "action")


@dataclass(frozen=True)
class Explanation:
    label: str
    what: str
    impact: str
    action: str


def explain(diagnosis: Diagnosis, language: str = "en") -> Explanation:
    """The catalogue's sentences for this diagnosis, with its evidence filled in."""
    words = words_of(language)  # refuses a language erpwatch does not speak
    entry = words.diagnosis[diagnosis.category.value]

    def seconds(milliseconds: float | None) -> str:
        return (
            words.no_value
            if milliseconds is None
            else seconds_text(milliseconds / 1000, words.code)
        )

    values = {
        "call": diagnosis.call or words.no_value,
        "status": diagnosis.status if diagnosis.status is not None else words.no_value,
        "duration": seconds(diagnosis.duration_ms),
        "threshold": seconds(diagnosis.threshold_ms),
    }
    return Explanation(**{part: entry[part].format(**values) for part in _PARTS})


def missing_entries() -> list[str]:
    """Category/language/part combinations the catalogue lacks (a test keeps this empty)."""
    return [
        f"{category.value}.{code}.{part}"
        for category in Category
        for code in LANGUAGES
        for part in _PARTS
        if not words_of(code).diagnosis.get(category.value, {}).get(part)
    ]

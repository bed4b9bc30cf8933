"""The human sentences for each diagnosis, in every language erpwatch speaks
(the ``[diagnosis]`` and ``[parties]`` tables of ``languages/*.toml``), worded
for the party that answered and for the role of the reader."""

from __future__ import annotations

from dataclasses import dataclass

from .._vocabulary import Category, Party, Role
from .._words import LANGUAGES, Language, seconds_text, words_of
from ._model import Diagnosis

_PARTS = ("label", "what", "impact", "client", "erp_partner", "agency", "checked")
# Situations worded apart from their category: a 404 for the address itself is
# a wrong address (check the configuration), not a changed API.
SITUATIONS = (*(c.value for c in Category), "not_found")


@dataclass(frozen=True)
class Explanation:
    label: str
    what: str
    impact: str
    action: str  # for the reader's role
    checked: str  # what to check for the outage window, once it is over


def situation(diagnosis: Diagnosis) -> str:
    """The key of the diagnosis's sentences: its category, or a finer situation."""
    if diagnosis.category is Category.UNEXPECTED_RESPONSE and diagnosis.status in (404, 410):
        return "not_found"
    return diagnosis.category.value


def party_words(party: Party | None, words: Language) -> dict[str, str]:
    """The placeholders that name who answered: {party} {Party} {party_label} {owner}."""
    entry = words.parties[(party or Party.ERP).value]
    return {
        "party": entry["object"],
        "Party": entry["subject"],
        "party_label": entry["label"],
        "owner": entry["owner"],
    }


def explain(
    diagnosis: Diagnosis,
    language: str = "en",
    role: Role = Role.AGENCY,
    *,
    window: tuple[str, str] | None = None,
) -> Explanation:
    """The catalogue's sentences for this diagnosis, with its evidence filled in.
    ``window``: the outage's start and end as the reader reads times."""
    words = words_of(language)  # refuses a language erpwatch does not speak
    entry = words.diagnosis[situation(diagnosis)]

    def seconds(milliseconds: float | None) -> str:
        return (
            words.no_value
            if milliseconds is None
            else seconds_text(milliseconds / 1000, words.code)
        )

    start, end = window or (words.no_value, words.no_value)
    values = {
        **party_words(diagnosis.party, words),
        "call": diagnosis.call or words.no_value,
        "status": diagnosis.status if diagnosis.status is not None else words.no_value,
        "duration": seconds(diagnosis.duration_ms),
        "threshold": seconds(diagnosis.threshold_ms),
        "from": start,
        "to": end,
    }
    action = entry[role.value]
    if role is Role.ERP_PARTNER and diagnosis.party not in (None, Party.ERP):
        # Another party answered: the ERP partner is told so, not given ERP work.
        action = words.parties[diagnosis.party.value]["erp_partner"]
    return Explanation(
        label=entry["label"].format(**values),
        what=entry["what"].format(**values),
        impact=entry["impact"].format(**values),
        action=action.format(**values),
        checked=entry["checked"].format(**values),
    )


def label_of(situation_key: str, language: str, party: Party | None = None) -> str | None:
    """The few words for a category or situation (``Refused by the ERP``); None
    for a word this erpwatch does not know (an older history's)."""
    words = words_of(language)
    entry = words.diagnosis.get(situation_key)
    return entry["label"].format(**party_words(party, words)) if entry else None


def missing_entries() -> list[str]:
    """Situation/language/part combinations the catalogue lacks (a test keeps this empty)."""
    return [
        f"{key}.{code}.{part}"
        for key in SITUATIONS
        for code in LANGUAGES
        for part in _PARTS
        if not words_of(code).diagnosis.get(key, {}).get(part)
    ]

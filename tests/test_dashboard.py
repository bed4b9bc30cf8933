"""The dashboard's words and facts, without a browser: its language, its counts,
its times and what an incident tells (tests/test_dashboard_browser.py renders it)."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from pathlib import Path

import pytest

from erpwatch.report import render_dashboard
from erpwatch.report._dashboard import Words, dashboard_words

from .dashboard_history import LATEST, ninety_days, one_run, settings

# What the English dashboard says; none of it may be left on a Dutch or French one.
ENGLISH = [
    "Integration status", "Something is failing", "All processes work", "latest run",
    "in the history", "times in", "Latest run", "oldest first", "Uptime", "last 24 h",
    "last 7 days", "of 96 runs", "Slowest call", "response time", "logarithmic scale",
    "dashed line", "over the", "Incidents", "ongoing since", "earlier incident",
    "mails to", "not delivered", "Refused by the ERP", "working", "failing", " since ",
    "Fri ", " Nov ",
]  # fmt: skip


def text_of(page: str) -> str:
    """What a reader sees: no style, no tags, no-break spaces as they are."""
    text = re.sub(r"<style>.*?</style>", "", page, flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", text).replace("&amp;", "&").replace("&#39;", "'")
    return re.sub(r"[ \n]+", " ", text)


def long_page(tmp_path: Path, language: str) -> str:
    return render_dashboard(
        ninety_days(), settings(tmp_path, language), LATEST + timedelta(minutes=2)
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", ["Status van de koppeling", "werkt niet", "sinds vr 27 nov 18:00 (2 u 2 min)",
                "8640 controles in de geschiedenis", "Traagste oproep per 12 uur",
                "logaritmische schaal", "Storingen", "4 mails aan", "1 niet afgeleverd",
                "98,9\u00a0%", "van 2880 controles", "en 11 eerdere storingen"]),
        ("fr", ["État de l’intégration", "en panne", "8640 exécutions dans l’historique",
                "Appel le plus lent par tranche de 12 heures", "échelle logarithmique",
                "4 e-mails à", "1 non distribué", "98,9\u00a0%", "sur 2880 exécutions",
                "et 11 incidents antérieurs"]),
    ],
)  # fmt: skip
def test_the_dashboard_speaks_the_report_language_and_no_english(
    language: str, expected: list[str], tmp_path: Path
) -> None:
    page = long_page(tmp_path, language)
    # The ERP's own text stays as the ERP wrote it; everything else is translated.
    text = text_of(page).replace(
        "POST /companies(…)/salesOrders → 400 Application_FieldValidationException: "
        "<b>VAT Registration No.</b> must have a value",
        "",
    )
    assert f'<html lang="{language}">' in page
    for phrase in expected:
        assert phrase in text
    same = {"fr": {"Incidents"}}.get(language, set())  # the same word in French
    left = [phrase for phrase in ENGLISH if phrase in text and phrase not in same]
    assert left == []


def test_french_words_have_a_narrow_no_break_space_before_high_punctuation() -> None:
    for key, text in dashboard_words("fr").items():
        assert not re.search(r"[^\u202f][;:?!]", text), key
        assert not re.search(r"«[^\u202f]|[^\u202f]»", text), key


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("en", {0: "0 runs", 1: "1 run", 2: "2 runs"}),
        ("nl", {0: "0 controles", 1: "1 controle", 2: "2 controles"}),
        ("fr", {0: "0 exécution", 1: "1 exécution", 2: "2 exécutions"}),
    ],
)
def test_a_count_takes_its_noun_in_the_language_s_number(
    language: str, counts: dict[int, str]
) -> None:
    words = Words(language)
    for n, text in counts.items():
        assert words.count("runs", n, since="x").startswith(text + " ")


def test_one_run_says_1_run_everywhere(tmp_path: Path) -> None:
    text = text_of(render_dashboard(one_run(), settings(tmp_path), LATEST))
    assert "1 run in the history" in text
    assert "of 1 run" in text
    assert not re.search(r"\b1 (runs|mails|incidents)\b", text)


def test_a_redraw_without_a_new_run_shows_when_the_latest_run_was_not_when_it_was_drawn(
    tmp_path: Path,
) -> None:
    # A dry run redraws the page from the history it did not add to.
    text = text_of(render_dashboard(one_run(), settings(tmp_path), LATEST + timedelta(days=2)))
    assert "latest run Fri 27 Nov 20:00" in text
    assert "Sun 29 Nov" not in text


def test_an_incident_counts_the_mails_of_its_runs_and_the_resolved_notice_of_the_run_that_ended_it(
    tmp_path: Path,
) -> None:
    records = ninety_days()[:200]  # the first incident (runs 100-105) and after
    resolved = records[106]
    assert resolved["monitors"][1]["status"] == "passed"
    resolved["mails"] = [
        {"group": "client", "status": "outbox", "subject": "[erpwatch] Opgelost"},
        {"group": "maintainers", "status": "sent", "subject": "[erpwatch] Resolved"},
    ]
    text = text_of(render_dashboard(records, settings(tmp_path), LATEST))
    assert (
        "6 mails to Brasserie De Gouden Leeuw, Acme ERP Partners, the erpwatch maintainers"
        " · 2 not delivered" in text
    )
    assert "[erpwatch] Opgelost · in the outbox only (no mail server)" in text


def test_a_history_from_an_older_erpwatch_or_with_an_unknown_status_still_draws(
    tmp_path: Path,
) -> None:
    records = copy.deepcopy(one_run())
    records[0]["monitors"][0]["status"] = "some-future-status"
    del records[0]["mails"]
    text = text_of(render_dashboard(records, settings(tmp_path), LATEST))
    assert "Customer creation not checked" in text
    assert "Order submission working" in text

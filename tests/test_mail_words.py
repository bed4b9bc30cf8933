"""Every mail kind, in every language, for every role and every diagnosis: the
words a group reads are its language's and written for its role.

Golden in the sense of a native review turned into rules: no English sentence
in a Dutch or French mail, French typography, subjects a phone can scan, the
ERP partner never told to ask the ERP partner, the shop owner never given a
technician's checklist."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from erpwatch._vocabulary import Aspect, Category, IncidentKind, Party, Role, Wire
from erpwatch._words import LANGUAGES, words_of
from erpwatch.capture import Exchange
from erpwatch.config import Group, Settings, load_settings
from erpwatch.diagnosis import Diagnosis, Difference
from erpwatch.notify import Digest, Incident, RunContext
from erpwatch.notify._compose import SUBJECT_LIMIT, build_message, context
from erpwatch.notify._plan import ROOT_PROCESS

from .support import REPO, clean_environment

WHEN = datetime(2026, 11, 28, 20, 49, 7, tzinfo=UTC)
# Phrases of erpwatch's English that must never reach a Dutch or French reader.
ENGLISH = (
    "the ERP",
    "The ERP",
    "Failing call",
    "What to do",
    "no answer",
    "refused the request",
    "ConnectionError",
    "ReadTimeout",
    "works again",
    "Ask the",
    "Resolved",
    "Still failing",
    "Sent to",
    "First seen",
    "You need not",
    "connection refused",
    "not reaching",
    "Order submission",
    "Customer creation",
    "Payment status sync",
    " since ",
    " runs)",
)
# A technician's checklist, not for a shop owner.
TECHNICAL = ("DNS", "firewall", "certifica", "token", "API", "ERP_BASE_URL", "HTTP")
ASK_THE_PARTNER = (
    "ask the ERP partner",
    "vraag de ERP-partner",
    "partenaire ERP si",
    "au partenaire ERP",
)


def settings() -> Settings:
    return load_settings(REPO / "erpwatch.toml", clean_environment())


def group(role: Role, language: str) -> Group:
    return Group(
        key=role.value,
        name={Role.CLIENT: "Brasserie Zoë", Role.ERP_PARTNER: "Acme ERP"}.get(role, "Agency"),
        language=language,
        addresses=(f"{role.value}@example.org",),
        role=role,
    )


EXCHANGE = Exchange(
    method="POST",
    url="https://erp.example/api/v2.0/companies(5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21)/salesOrders",
    request_headers={"Content-Type": "application/json"},
    request_body='{"externalDocumentNumber": "WEB-1001"}',
    status=400,
    reason="Bad Request",
    response_headers={"Content-Type": "application/json"},
    response_body='{"error": {"code": "X", "message": "Nicht erlaubt"}}',
    duration_ms=120.0,
    started_at="2026-11-28T20:49:07.000+00:00",
)


def diagnosis(category: Category, party: Party = Party.ERP) -> Diagnosis:
    call = "POST /companies(…)/salesOrders"
    if category is Category.MONITOR_ERROR:
        return Diagnosis(category, "the monitor itself failed", error="NameError: name 'x'")
    if category in (Category.UNREACHABLE, Category.TIMEOUT):
        wire = Wire.REFUSED if category is Category.UNREACHABLE else Wire.TIMEOUT
        return Diagnosis(
            category,
            "no answer",
            call=call,
            error="ConnectionError: Remote end closed connection without response",
            duration_ms=4000.0,
            wire=wire,
            party=party,
        )
    if category is Category.DATA_MISMATCH:
        return Diagnosis(
            category,
            "the ERP holds other data",
            call="GET /companies(…)/salesOrders(…)",
            status=200,
            party=party,
            differences=(Difference("totalAmountIncludingTax", 233.29, 230.0),),
        )
    if category is Category.SLOW:
        return Diagnosis(
            category, "slow", call=call, status=201, duration_ms=6200.0, threshold_ms=5000.0
        )
    return Diagnosis(
        category,
        "HTTP 400: the ERP refused the request",
        call=call,
        status=404 if category is Category.UNEXPECTED_RESPONSE else 400,
        erp_code="Nicht_Erlaubt",
        erp_message="Nicht erlaubt",  # the ERP's own words, kept as they are
        party=party,
    )


def incident(kind: IncidentKind, category: Category, process: str = "orders") -> Incident:
    found = diagnosis(category)
    return Incident(
        kind=kind,
        process=process,
        diagnosis=found,
        monitors=("monitors/test_order_submission.py::test_it",),
        exchange=EXCHANGE,
        first_seen=WHEN - timedelta(hours=3),
        last_seen=WHEN,
        runs=3,
        aspect=Aspect.SLOW if category is Category.SLOW else Aspect.FAILING,
        ended_at=WHEN if kind is IncidentKind.RESOLVED else None,
    )


def render(
    incidents: tuple[Incident, ...], role: Role, language: str, *, others: bool = True
) -> tuple[str, str, str]:
    also = (group(Role.ERP_PARTNER, "en"),) if others and role is Role.CLIENT else ()
    digest = Digest(group=group(role, language), incidents=incidents, also_sent_to=also)
    run = RunContext(run_id="42-1", run_url=None, report_path=None, finished_at=WHEN)
    values = context(digest, settings(), run, report_attached=False)
    rendered = build_message(digest.kind, language, values)
    return rendered.subject, rendered.text, rendered.html


CASES = [
    (kind, category)
    for kind in IncidentKind
    for category in Category
    if not (category is Category.MONITOR_ERROR and kind is IncidentKind.RESOLVED)
]


def human_part(text: str) -> str:
    """What a person reads as erpwatch's sentences: without the technical appendix
    and without the lines quoting original, untranslated text (marked as such)."""
    human = re.split(r"\n--- .* ---\n", text)[0]
    originals = {words_of(code).mail["original"] for code in LANGUAGES}
    return "\n".join(line for line in human.splitlines() if not any(o in line for o in originals))


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
@pytest.mark.parametrize("role", list(Role))
def test_no_english_sentence_reaches_a_dutch_or_french_reader(language: str, role: Role) -> None:
    for kind, category in CASES:
        subject, text, html = render((incident(kind, category),), role, language)
        for phrase in ENGLISH:
            where = f"{kind}/{category}/{role}/{language}: {phrase!r}"
            assert phrase not in subject, where
            assert phrase not in human_part(text), where
            assert phrase not in human_part(html.split("<h3", 1)[0]), where


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_erp_partner_is_given_work_and_never_told_to_ask_the_erp_partner(
    language: str,
) -> None:
    for kind, category in CASES:
        _, text, _ = render((incident(kind, category),), Role.ERP_PARTNER, language)
        for phrase in ASK_THE_PARTNER:
            assert phrase.lower() not in text.lower(), f"{kind}/{category}/{language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_shop_owner_hears_who_acts_and_gets_no_technical_checklist(language: str) -> None:
    for kind, category in CASES:
        if kind is IncidentKind.RESOLVED:
            continue
        _, text, html = render((incident(kind, category),), Role.CLIENT, language)
        human = human_part(text)
        for word in TECHNICAL:
            assert word not in human, f"{kind}/{category}/{language}: {word}"
        assert "> POST" not in text
        assert "<pre" not in html
        assert "Acme ERP" in human  # who else was told, so who acts


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", list(Role))
def test_subjects_are_short_stable_and_say_the_state_first(language: str, role: Role) -> None:
    for kind, category in CASES:
        one = render((incident(kind, category),), role, language)[0]
        two = render(
            (incident(kind, category), incident(kind, category, "customers")), role, language
        )[0]
        for subject in (one, two):
            assert len(subject) <= SUBJECT_LIMIT, subject
            assert "→" not in subject, subject
            assert not re.search(r"\d\d:\d\d", subject), subject
        later = replace(incident(kind, category), last_seen=WHEN + timedelta(hours=4), runs=9)
        assert render((later,), role, language)[0] == one  # nothing changes per run: one thread


def test_a_reminder_subject_reads_as_a_sentence_in_each_language() -> None:
    reminder = (incident(IncidentKind.REMINDER, Category.REJECTED),)
    assert render(reminder, Role.CLIENT, "nl")[0] == (
        "[erpwatch] Nog niet opgelost: Bestellingen bereiken het ERP niet"
    )
    assert render(reminder, Role.CLIENT, "fr")[0] == (
        "[erpwatch] Toujours en panne\u202f: Les commandes n'arrivent pas dans l'ERP"
    )
    assert render(reminder, Role.CLIENT, "en")[0] == (
        "[erpwatch] Still failing: Orders are not reaching the ERP"
    )


def test_french_puts_a_narrow_no_break_space_before_double_punctuation() -> None:
    for role in Role:
        for kind, category in CASES:
            _, text, html = render((incident(kind, category),), role, "fr")
            human = human_part(text)
            # Times (21:49), addresses (https:) and the ERP's own words aside.
            prose = re.sub(r"\d:\d|https?:|‘.*?’|«\u202f.*?\u202f»", "", human)
            assert not re.search(r"[^\u202f][:;?!]", prose), (kind, category, role, prose)
            assert " :" not in html
            assert "&nbsp;:" not in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_text_labels_never_run_into_their_values(language: str) -> None:
    for role in Role:
        _, text, _ = render((incident(IncidentKind.ALERT, Category.SLOW),), role, language)
        slowest = next(line for line in text.splitlines() if "5,00" in line or "5.00" in line)
        assert re.match(r"^\S.*?\S {2,}\S", slowest), slowest


def test_amounts_are_written_as_each_language_writes_money() -> None:
    mismatch = (incident(IncidentKind.ALERT, Category.DATA_MISMATCH),)
    assert "€ 233,29" in render(mismatch, Role.CLIENT, "nl")[1]
    assert "233,29\u00a0€" in render(mismatch, Role.CLIENT, "fr")[1]
    assert "€233.29" in render(mismatch, Role.CLIENT, "en")[1]


def test_no_answer_is_said_in_words_and_the_engineers_also_get_the_original() -> None:
    down = (incident(IncidentKind.ALERT, Category.TIMEOUT),)
    client = render(down, Role.CLIENT, "fr")[1]
    assert "pas de réponse en 4 s" in client
    assert "ConnectionError" not in client
    partner = render(down, Role.ERP_PARTNER, "nl")[1]
    assert "geen antwoord binnen 4 s" in partner
    assert "ConnectionError: Remote end closed" in partner  # marked as not translated
    assert "(originele tekst, niet vertaald)" in partner


def test_the_party_that_answered_is_the_one_named() -> None:
    shop = replace(
        incident(IncidentKind.ALERT, Category.AUTH, "punchout"),
        diagnosis=replace(diagnosis(Category.AUTH), party=Party.WEBSHOP, status=401),
    )
    _, client, _ = render((shop,), Role.CLIENT, "nl")
    assert "ERP meldt" not in client
    assert "Webshop meldt" in client
    _, partner, _ = render((shop,), Role.ERP_PARTNER, "en")
    assert "not from the ERP: nothing needs to change in the ERP" in partner
    gone = replace(
        incident(IncidentKind.ALERT, Category.UNEXPECTED_RESPONSE, "punchout"),
        diagnosis=replace(diagnosis(Category.UNEXPECTED_RESPONSE), party=Party.WEBSHOP, status=410),
    )
    text = render((gone,), Role.AGENCY, "en")[1]
    assert "404" not in text.split("---")[0]
    assert "410" in text


def test_a_monitor_that_failed_at_another_process_s_call_says_what_it_saw() -> None:
    at_customers = replace(
        incident(IncidentKind.ALERT, Category.REJECTED, "payments"),
        diagnosis=replace(diagnosis(Category.REJECTED), call="POST /companies(…)/customers"),
    )
    subject, text, _ = render((at_customers,), Role.CLIENT, "en")
    assert subject == "[erpwatch] New customers are not reaching the ERP"
    assert "Payment status sync could not be checked" in text
    assert "unpaid ones shipped" not in text


def test_the_end_of_a_shared_cause_reuses_its_headline_and_says_what_to_check() -> None:
    ended = [
        replace(
            incident(IncidentKind.RESOLVED, Category.UNREACHABLE, process),
            process=ROOT_PROCESS,
            processes=("customers", "orders"),
        )
        for process in ("orders",)
    ]
    subject, text, _ = render(tuple(ended), Role.CLIENT, "nl")
    assert subject == "[erpwatch] Opgelost: Het ERP is weer bereikbaar"
    assert "Kijk na of wat de webshop tussen za 28 nov 18:49 en za 28 nov 21:49" in text


def test_process_titles_are_in_the_reader_s_language(tmp_path: Path) -> None:
    monitor_bug = (incident(IncidentKind.ALERT, Category.MONITOR_ERROR),)
    assert "Bestellingen doorsturen" in render(monitor_bug, Role.AGENCY, "nl")[0]
    assert "Transmission des commandes" in render(monitor_bug, Role.AGENCY, "fr")[0]


def test_a_flaky_pass_is_noted_in_the_reader_s_words() -> None:
    from erpwatch.notify import Note

    note = Note(
        "orders",
        "monitors/test_order_submission.py::test_it",
        WHEN,
        "POST /companies(…)/salesOrders → no answer (ConnectionError: reset) "
        "(retried: the ERP did not answer; a second try may pass)",
    )
    digest = Digest(
        group=group(Role.CLIENT, "nl"),
        incidents=(incident(IncidentKind.ALERT, Category.REJECTED),),
        also_sent_to=(),
        notes=(note,),
    )
    run = RunContext(run_id="42-1", run_url=None, report_path=None, finished_at=WHEN)
    text = build_message("alert", "nl", context(digest, settings(), run, report_attached=False))
    assert "de eerste mislukte met POST /companies(…)/salesOrders → geen antwoord" in text.text
    assert "retried" not in text.text


def test_french_never_writes_a_preposition_before_an_article_it_should_contract() -> None:
    for role in Role:
        for kind, category in CASES:
            for party in Party:
                found = replace(
                    incident(kind, category), diagnosis=replace(diagnosis(category), party=party)
                )
                _, text, _ = render((found,), role, "fr")
                for wrong in (" à le ", " à les "):
                    assert wrong not in human_part(text), (kind, category, role, party, wrong)


def test_a_mismatch_says_the_records_arrived_with_other_data_and_its_end_says_so_too() -> None:
    alert = render((incident(IncidentKind.ALERT, Category.DATA_MISMATCH),), Role.CLIENT, "nl")
    assert alert[0] == "[erpwatch] Bestellingen komen met andere gegevens in het ERP"
    assert "het ERP ontvangt ze niet" not in alert[1]
    ended = render(
        (incident(IncidentKind.RESOLVED, Category.DATA_MISMATCH),), Role.ERP_PARTNER, "en"
    )
    assert ended[0] == "[erpwatch] Resolved: Orders reach the ERP with the right data again"
    assert "Last failure" not in ended[1]  # a 200 is no failure


def test_slowness_is_never_called_an_outage() -> None:
    reminder = render((incident(IncidentKind.REMINDER, Category.SLOW),), Role.CLIENT, "fr")
    assert reminder[0].startswith("[erpwatch] Toujours lent\u202f: ")
    ended = render((incident(IncidentKind.RESOLVED, Category.SLOW),), Role.CLIENT, "nl")[1]
    assert "Storing" not in ended
    assert "Traag" in ended


def test_a_certificate_near_its_end_is_neither_an_outage_nor_slowness_in_a_reminder() -> None:
    near_end = replace(
        incident(IncidentKind.REMINDER, Category.CERTIFICATE), aspect=Aspect.SLOW
    )  # within its warning days: degraded, as a slow call is
    for language, reminder, still in (
        ("en", "[erpwatch] Reminder: ", "Not renewed yet"),
        ("nl", "[erpwatch] Herinnering: ", "Nog niet vernieuwd"),
        ("fr", "[erpwatch] Rappel\u202f: ", "Pas encore renouvelé"),
    ):
        subject, text, _ = render((near_end,), Role.CLIENT, language)
        assert subject.startswith(reminder), subject
        assert still in text
        assert not any(word in subject + text for word in ("slow", "traag", "lent"))


def test_a_cut_subject_ends_on_a_whole_word() -> None:
    for language in LANGUAGES:
        for kind, category in CASES:
            subject = render((incident(kind, category, "payments"),), Role.AGENCY, language)[0]
            if subject.endswith("…"):
                assert subject[-2] != " "
                body = render((incident(kind, category, "payments"),), Role.AGENCY, language)[1]
                assert subject[:-1].rsplit(" ", 1)[-1] in body, subject


def unstable(kind: IncidentKind) -> Incident:
    return replace(
        incident(kind, Category.REJECTED),
        aspect=Aspect.UNSTABLE,
        pattern="FPFPPF",
        exchange=None if kind is IncidentKind.RESOLVED else EXCHANGE,
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", list(Role))
def test_an_unstable_process_is_told_in_the_reader_s_words_with_its_pattern(
    language: str, role: Role
) -> None:
    pattern = {
        "en": "failed 3 of the last 6 runs: ✗✓✗✓✓✗",
        "nl": "mislukt bij 3 van de laatste 6 controles: ✗✓✗✓✓✗",
        "fr": "en échec lors de 3 des 6 dernières exécutions\u202f: ✗✓✗✓✓✗",
    }[language]
    for kind in IncidentKind:
        subject, text, html = render((unstable(kind),), role, language)
        assert len(subject) <= SUBJECT_LIMIT, subject
        assert not subject.endswith("…"), subject
        if kind is IncidentKind.RESOLVED:
            assert pattern not in text  # a steady window: no pattern to show
            assert not re.search(r"\n(Outage|Storing|Panne) ", text), text
        else:
            assert pattern in text, (kind, text)
            assert pattern in html, (kind, html)
            label = next(line for line in text.splitlines() if pattern in line)
            assert re.match(r"^\S.*?\S {2,}\S", label), label
        if language != "en":
            for phrase in (*ENGLISH, "unstable", "Unstable", "now and then", "Last runs"):
                assert phrase not in human_part(text), (kind, language, phrase)
                assert phrase not in subject, (kind, language, phrase)
        if language == "fr":
            prose = re.sub(r"\d:\d|https?:|‘.*?’|«\u202f.*?\u202f»", "", human_part(text))
            assert not re.search(r"[^\u202f][:;?!]", prose), (kind, role, prose)
    reminder = render((unstable(IncidentKind.REMINDER),), role, language)[1]
    still = {"en": "Still unstable", "nl": "Nog steeds onstabiel", "fr": "Toujours instable"}
    assert still[language] in reminder

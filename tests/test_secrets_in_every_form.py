"""No secret reaches anything a run leaves behind, in any form: a hostile ERP,
payment provider and mail server echo every secret they were sent, JSON-escaped
(Python and PHP style), URL-encoded, as Python repr and as base64 (Basic auth,
SMTP AUTH PLAIN), and the secrets are generated from arbitrary characters."""

from __future__ import annotations

import html
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from .hostile import HostileParty, echoed_forms, hostile_erp, hostile_smtp
from .support import clean_environment, run_pytest
from .test_no_secrets_leak import readable_text

CONFIG = """
[erpwatch]
environment = "test"
monitors = "monitors"

[processes.customers]
title = "Customer creation"
critical = true

[processes.payments]
title = "Payment status sync"
critical = true

[alerts]
retry_delay = 0.1

[mail]
from = "erpwatch <monitoring@agency.example>"
maintainers = "maintainers"

[groups.client]
name = "The client"
language = "nl"
addresses = ["owner@webshop.example"]

[groups.erp_partner]
name = "The ERP partner"
language = "en"
addresses = ["erp-support@partner.example"]

[groups.maintainers]
name = "the maintainers"
language = "en"
addresses = ["dev@agency.example"]

[routing]
customers = ["client", "erp_partner"]
payments = ["client", "erp_partner"]
"""

MONITORS = """
import pytest

pytestmark = pytest.mark.process("customers")


def test_the_erp_refuses_a_customer_quoting_the_secrets(erp):
    erp.create("customers", {"displayName": "Echo test"})


def test_the_erp_fails_in_plain_text_quoting_the_secrets(erp):
    erp.request("GET", "customers")


def test_a_record_that_cannot_be_removed_is_a_leftover_quoting_the_secrets(erp, synthetic):
    synthetic.create(erp, "items", {"displayName": "Echo test"})


@pytest.mark.process("payments")
def test_the_payment_provider_refuses_quoting_the_key(psp):
    psp.request("GET", "payments")
"""

CLIENT_ID = "erpwatch-client"
SMTP_USER = "erpwatch-mailer"

# Characters that other programs escape, quote or encode: slash, plus, tilde,
# quotes, backslash, percent, ampersand, blanks, non-ASCII, a newline.
AWKWARD = st.sampled_from(list("/+~\"'\\%&=?# \tä€😀\n"))
PIECE = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"]) | AWKWARD, min_size=1, max_size=6
)


def secret(core: str) -> st.SearchStrategy[str]:
    """A secret around a distinctive core, so it cannot occur in a report by chance."""
    return st.builds(lambda head, tail: f"{head}{core}{tail}", PIECE, PIECE)


def forbidden_forms(secret: str, user: str) -> set[str]:
    forms = set(echoed_forms(secret, user))
    forms |= {json.dumps(secret, ensure_ascii=False)[1:-1], html.escape(secret)}
    # A header read as Latin-1, as WSGI servers do, comes back as UTF-8 misread.
    forms |= set(echoed_forms(secret.encode().decode("latin-1"), user))
    return {form for form in forms if len(form) >= 6}


def artefacts(project: Path, junit: Path, job_summary: Path) -> dict[str, str]:
    """Everything the run left behind, as a person (or a program) reads it."""
    files = [p for p in (project / "reports").rglob("*") if p.is_file()]
    files += [p for p in (junit, job_summary) if p.exists()]
    texts = {}
    for path in files:
        text = readable_text(path)
        texts[str(path.relative_to(project))] = text
        if path.suffix in (".html", ".xml", ".eml"):
            texts[f"{path.name} (unescaped)"] = html.unescape(text)
    return texts


def run_against_hostile_parties(
    tmp: Path, erp_secret: str, token: str, psp_key: str, smtp_password: str, token_answer: str
) -> tuple[str, dict[str, str], set[str]]:
    project = tmp / "project"
    (project / "monitors").mkdir(parents=True)
    (project / "erpwatch.toml").write_text(CONFIG)
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "monitors" / "test_echo.py").write_text(MONITORS)
    junit, job_summary = project / "junit.xml", project / "job-summary.md"
    party = HostileParty(CLIENT_ID, erp_secret, token, token_answer, extra=[psp_key])
    with hostile_erp(party) as erp, hostile_smtp(SMTP_USER, smtp_password) as smtp:
        env = clean_environment(
            ERP_BASE_URL=f"{erp.url}/api/v2.0",
            ERP_TOKEN_URL=f"{erp.url}/token",
            ERP_CLIENT_ID=CLIENT_ID,
            ERP_CLIENT_SECRET=erp_secret,
            ERP_COMPANY_ID="5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21",
            PSP_BASE_URL=erp.url,
            PSP_API_KEY=psp_key,
            MAIL_FROM="erpwatch@agency.example",
            GITHUB_STEP_SUMMARY=str(job_summary),
            **smtp.env,
        )
        completed = run_pytest(
            "monitors", "-p", "no:randomly", f"--junitxml={junit}", cwd=project, env=env
        )
    forbidden = set()
    for value, user in (
        (erp_secret, CLIENT_ID),
        (token, CLIENT_ID),
        (psp_key, CLIENT_ID),
        (smtp_password, SMTP_USER),
    ):
        forbidden |= forbidden_forms(value, user)
    return completed.stdout + completed.stderr, artefacts(project, junit, job_summary), forbidden


def assert_nothing_leaked(
    output: str, written: dict[str, str], forbidden: set[str], *, token: str
) -> None:
    assert "summary.json" in " ".join(written), output
    # The run report per language (what a group's mail attaches) is checked like the rest.
    assert {"reports/report.en.html", "reports/report.nl.html"} <= set(written), sorted(written)
    assert any(name.endswith(".eml") for name in written), f"no mail was composed\n{output}"
    summary = written["reports/summary.json"]
    assert "[redacted]" in summary, "nothing was echoed, so nothing was tested"
    # A token that cannot be a header value (a newline, beyond Latin-1) stops every
    # ERP call before it is sent: then nothing is created, so nothing is left over.
    if "\n" not in token and all(ord(char) < 256 for char in token):
        left = [x for m in json.loads(summary)["monitors"] for x in m["leftovers"]]
        assert left, "no removal failed, so leftovers were not tested"
    for form in forbidden:
        assert form not in output, f"{form!r} leaked into the terminal output"
        for name, text in written.items():
            assert form not in text, f"{form!r} leaked into {name}"


@settings(
    max_examples=10,
    deadline=None,
    database=None,
    # Each example is a whole run (seconds): a failure is reported as found,
    # not shrunk over minutes of further runs.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    erp_secret=secret("ErpS3kr1t"),
    token=secret("T0k3nLive"),
    # A Mollie key is test_ and word characters (PSP_API_KEY is checked so).
    psp_key=st.text(st.characters(categories=["L", "Nd"]) | st.just("_"), max_size=8).map(
        lambda key: f"test_{key}PspK3y"
    ),
    smtp_password=secret("SmtpS3kr1t"),
)
@example(  # the newline in a token makes requests quote it as repr in its own error
    erp_secret='SEKRIT/CS-123', token="tok\nX-Evil: 1T0k3nLive", psp_key="test_aäb_PspK3y",
    smtp_password="SMTP-SEKRIT-000",
)  # fmt: skip
def test_no_generated_secret_reaches_any_artefact_in_any_form(
    erp_secret: str, token: str, psp_key: str, smtp_password: str
) -> None:
    # A folder per example: tmp_path is one per test, shared by all examples.
    with tempfile.TemporaryDirectory() as tmp:
        output, written, forbidden = run_against_hostile_parties(
            Path(tmp), erp_secret, token, psp_key, smtp_password, "json"
        )
        assert_nothing_leaked(output, written, forbidden, token=token)


@pytest.mark.parametrize("answer", ["form-as-text", "truncated-json"])
def test_a_token_answer_that_does_not_parse_is_kept_nowhere(tmp_path: Path, answer: str) -> None:
    # The live token is in it, and erpwatch never learns it as a secret to mask.
    token = "LiveT0ken/that+is~never=stored"
    output, written, _ = run_against_hostile_parties(
        tmp_path, "ErpS3kr1t-value", token, "test_PspK3y0000", "SmtpS3kr1t-value", answer
    )
    assert "POST /token → 200" in output
    for form in forbidden_forms(token, CLIENT_ID):
        assert form not in output, f"{form!r} leaked into the terminal output"
        for name, text in written.items():
            assert form not in text, f"{form!r} leaked into {name}"
    assert "[token endpoint answer not kept" in written["reports/summary.json"]

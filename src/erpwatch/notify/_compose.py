"""Mail composition: one template set for every language (a subject per message
kind, one text and one HTML body), built by one function; the words are the
language's file (``languages/*.toml``). Rendering only; the data comes from the
digest, which knows nothing of HTTP capture beyond the recorded exchange."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from typing import Any

import jinja2

from .._vocabulary import Aspect, IncidentKind, Role, Wire
from .._words import (
    duration_text,
    exact_time,
    local_time,
    money_text,
    one_line,
    seconds_text,
    unstable_pattern,
    waited_text,
    words_of,
    words_table,
)
from ..config import Group, Settings
from ..diagnosis import Category, Diagnosis, explain
from ..diagnosis._catalogue import party_words
from ..diagnosis._model import Scalar
from ._model import Digest, Incident, RunContext
from ._plan import ROOT_PROCESS, root_key
from ._wording import Wording, join_names, process_wording, title_of

ERP_TEXT_LIMIT = 600  # characters of the ERP's message near the top of a mail
EXCERPT_LIMIT = 4000  # characters of each request and answer body in the appendix
SUBJECT_LIMIT = 70  # what a phone shows of a subject, about
# Lines up to SMTP's 998-character limit: the default 78 makes Python fold a
# subject that just misses it onto a line of its own, which leaves a leading space.
_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("erpwatch.notify", "templates"),
        autoescape=autoescape,  # on for HTML: every piece of ERP-provided text is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def build_message(kind: str, language: str, context: Mapping[str, Any]) -> Rendered:
    """Render the subject, text and HTML of a message kind in a language: the
    templates are the same for every language, which only brings its words."""
    # The [flapping] words beside the mail's own, for an unstable process's lines.
    flapping = {f"unstable_{k}": v for k, v in words_table(language, "flapping").items()}
    values = {**context, "words": {**words_of(language).mail, **flapping}, "fit": _fitter(language)}
    if context.get("incidents") and context["incidents"][0]["aspect"] is Aspect.SLOW:
        # Slowness is not an outage: "Still slow", not "Still failing"; and a
        # certificate near its end is neither: "not renewed yet".
        mail = words_of(language).mail
        which = "certificate" if context["incidents"][0].get("certificate") else "slow"
        values["words"] = {
            **values["words"],
            "subject_reminder": mail[f"subject_reminder_{which}"],
            "still_failing": mail[f"still_{which}"],
        }
    if context.get("incidents") and context["incidents"][0]["aspect"] is Aspect.UNSTABLE:
        # The headline says it is unstable; "Still failing" would say it is down.
        values["words"] = {
            **values["words"],
            "subject_reminder": flapping["unstable_subject_reminder"],
        }
    subject = _environment(False).get_template(f"{kind}.subject.j2").render(values)
    return Rendered(
        subject=one_line(subject, SUBJECT_LIMIT * 2),
        text=_environment(False).get_template("mail.txt.j2").render(values),
        html=_environment(True).get_template("mail.html.j2").render(values),
    )


def _clip(text: str | None, limit: int) -> str:
    """At most ``limit`` characters, the cut marked."""
    if not text:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _word_cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut after a whole word."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return head.rstrip(" ,;:\u202f") + "…"


def short_call(call: str | None) -> str:
    """The call as a subject names it: ``POST /salesOrders`` without the company
    segment; an RPC method without its address (``model.sale.sale.create``)."""
    text = re.sub(r"/companies\(…\)", "", call or "").strip()
    return re.sub(r"^(\S+) \([A-Z]+ [^)]*\)$", r"\1", text)


def _fitter(language: str) -> Callable[[str, str, int], str]:
    def fit(frame: str, headline: str, more: int) -> str:
        """``[erpwatch] Nog niet opgelost: Bestellingen bereiken het ERP niet``:
        the state and the business impact first, nothing that changes from run
        to run (a time, a session address) so a mail client keeps one thread,
        at most SUBJECT_LIMIT characters: the headline is cut, not the count."""
        more_text = words_of(language).mail["more"].format(count=more)
        suffix = f" ({more_text})" if more else ""
        room = SUBJECT_LIMIT - len(frame.format(headline="")) - len(suffix)
        return frame.format(headline=_word_cut(one_line(headline, 1000), max(room, 10))) + suffix

    return fit


# Where a call's records belong: a monitor that fails creating the customer
# its payment needs has seen customer creation fail, not payment sync.
_RESOURCES = {
    "customers": re.compile(r"/customers\b|model\.party\.party\b"),
    "orders": re.compile(r"/salesOrders\b|model\.sale\.sale\b"),
}
_MONEY_FIELD = re.compile(r"amount|total|price|discount", re.IGNORECASE)


def observed_process(incident: Incident) -> str | None:
    """Another known process whose records the failing call was about."""
    call = incident.diagnosis.call if incident.diagnosis else None
    if not call:
        return None
    owners = [name for name, pattern in _RESOURCES.items() if pattern.search(call)]
    return owners[0] if len(owners) == 1 and owners[0] != incident.process else None


def _variant(incident: Incident) -> str:
    key = root_key(incident)
    if incident.process == ROOT_PROCESS and key is not None:
        return f"_root_{key}"
    if incident.for_maintainers_only:
        return "_monitor_error"
    if incident.aspect is Aspect.SLOW:
        certificate = incident.diagnosis and incident.diagnosis.category is Category.CERTIFICATE
        return "_certificate" if certificate else "_slow"
    return "_not_checked" if observed_process(incident) else ""


def _value(value: Scalar, field: str, language: str) -> str:
    """A value as the reader writes it: an amount as money, text in quotes."""
    words = words_of(language)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float) and _MONEY_FIELD.search(field):
        return money_text(float(value), "EUR", language)
    if isinstance(value, int | float):
        return str(value).replace(".", words.decimal_separator)
    return f"{words.words['quote_open']}{_clip(value, 200)}{words.words['quote_close']}"


def answer_text(diagnosis: Diagnosis, language: str) -> str:
    """The answer as the reader reads it: ``400 BadRequest``, ``200 UserError``
    (an error inside a success, never a bare 200), or why no answer came."""
    words = words_of(language)
    if diagnosis.status is not None:
        return " ".join(str(p) for p in (diagnosis.status, diagnosis.erp_code) if p)
    wire = diagnosis.wire or Wire.OTHER
    waited = waited_text((diagnosis.duration_ms or 0) / 1000, language)
    return words.wire[wire.value].format(waited=waited)


def _exact(moment: datetime | str | None, settings: Settings) -> str:
    if moment is None:
        return ""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return exact_time(when, settings.timezone)


def _incident_context(
    incident: Incident, settings: Settings, group: Group, others: Sequence[Group]
) -> dict[str, Any]:
    language, role = group.language, group.role
    words = words_of(language)
    diagnosis = incident.diagnosis
    variant = _variant(incident)
    party = party_words(diagnosis.party if diagnosis else None, words)
    titles = [title_of(name, settings.process(name), language) for name in incident.processes]
    observed = observed_process(incident)
    other = (
        process_wording(observed, settings.process(observed), language).headline if observed else ""
    )
    wording = process_wording(
        incident.process,
        settings.process(incident.process),
        language,
        variant=variant,
        values={
            "party": party["Party"],
            "processes": join_names(titles, language),
            "other": other,
            "call": short_call(diagnosis.call) if diagnosis else "",
        },
        mismatch=bool(diagnosis and diagnosis.category is Category.DATA_MISMATCH),
    )
    if incident.aspect is Aspect.UNSTABLE:
        wording = _unstable_wording(wording.title, language)
    ended = incident.ended_at
    window = (
        (
            local_time(incident.first_seen, settings.timezone, language),
            local_time(ended, settings.timezone, language),
        )
        if ended
        else None
    )
    explanation = explain(diagnosis, language, role, window=window) if diagnosis else None
    impact = wording.impact
    if explanation and diagnosis and diagnosis.category is Category.DATA_MISMATCH and not variant:
        impact = explanation.impact  # the records arrived: what the wrong data may cost
    technical = role is not Role.CLIENT
    exchange = incident.exchange if incident.kind is not IncidentKind.RESOLVED else None
    action = explanation.action if explanation else ""
    if role is Role.CLIENT and others:
        names = join_names([g.name for g in others], language)
        action = f"{action} {words.mail['also_told'].format(names=names)}".strip()

    def seen(moment: datetime) -> str:
        human = local_time(moment, settings.timezone, language)
        return _exact(moment, settings) if technical else human

    error = diagnosis.error if diagnosis else None
    if diagnosis is not None and (
        (diagnosis.status is None and diagnosis.call) or diagnosis.differences
    ):
        error = None  # said in the reader's words: the answer line, the differences
    return {
        "kind": incident.kind,
        "aspect": incident.aspect,
        # A certificate near its end is a warning like slowness, but not slowness.
        "certificate": bool(diagnosis and diagnosis.category is Category.CERTIFICATE),
        "process": incident.process,
        "title": wording.title,
        "headline": wording.resolved
        if incident.kind is IncidentKind.RESOLVED
        else wording.headline,
        "alert_headline": wording.headline,
        "impact": impact,
        # Only a failure is a "last failure": a slow call or a mismatch answered 2xx.
        "failed_call": bool(diagnosis and (diagnosis.status is None or diagnosis.status >= 400)),
        "category": explanation.label if explanation else "",
        "what": explanation.what if explanation else "",
        "action": action,
        "checked": explanation.checked if explanation else "",
        "call": diagnosis.call if diagnosis else None,
        # The ERP answered fine, but what it holds is wrong: the call was checked, not failed.
        "was_checked": bool(diagnosis and diagnosis.category is Category.DATA_MISMATCH),
        "answer": answer_text(diagnosis, language) if diagnosis and diagnosis.call else "",
        "status": diagnosis.status if diagnosis else None,
        # A slow call: how long it took against the agreed threshold.
        "took": seconds_text(diagnosis.duration_ms / 1000, language)
        if diagnosis and diagnosis.category is Category.SLOW and diagnosis.duration_ms
        else "",
        "threshold": seconds_text(diagnosis.threshold_ms / 1000, language)
        if diagnosis and diagnosis.threshold_ms
        else "",
        "says": words.mail["says"].format(**party),
        "holds": words.mail["holds"].format(**party),
        "erp_message": one_line(diagnosis.erp_message if diagnosis else None, ERP_TEXT_LIMIT),
        "erp_field": diagnosis.erp_field if diagnosis else None,
        "differences": [
            (
                _clip(d.field, 100),  # a field name from the answer: bounded like its values
                _value(d.expected, d.field, language),
                _value(d.actual, d.field, language),
            )
            for d in (diagnosis.differences if diagnosis else ())
        ][:10],
        "correlation_id": diagnosis.correlation_id if diagnosis else None,
        "error": one_line(error, ERP_TEXT_LIMIT),
        # The exception's own words, for the engineers, marked as not translated.
        "wire_original": one_line(diagnosis.error, ERP_TEXT_LIMIT)
        if technical and diagnosis and diagnosis.status is None and diagnosis.call
        else "",
        "first_seen": seen(incident.first_seen),
        "last_seen": seen(incident.last_seen),
        "since": local_time(incident.first_seen, settings.timezone, language),
        "ended_at": seen(ended) if ended else "",
        "duration": duration_text((ended - incident.first_seen).total_seconds(), language)
        if ended
        else "",
        "runs": incident.runs,
        # An unstable process: its last runs, "failed 3 of the last 8 runs: ✗✓✗✓✗✓✓✗".
        "pattern": unstable_pattern(incident.pattern, language)
        if incident.aspect is Aspect.UNSTABLE and incident.pattern
        else "",
        "monitors": incident.monitors,
        "exchange": exchange if technical else None,
        "sent_at": _exact(exchange.started_at, settings) if exchange and technical else "",
        "request_body": _clip(exchange.request_body, EXCERPT_LIMIT) if exchange else "",
        "response_body": _clip(exchange.response_body, EXCERPT_LIMIT) if exchange else "",
    }


def _unstable_wording(title: str, language: str) -> Wording:
    """An unstable process in the words of the language's [flapping] table."""
    words = words_table(language, "flapping")
    return Wording(
        title=title,
        headline=words["headline"].format(title=title),
        impact=words["impact"].format(title=title),
        resolved=words["resolved"].format(title=title),
    )


def _first_try(text: str, language: str) -> str:
    """A flaky pass's first failure (recorded in English for the log) as the
    reader reads it: the call and its answer; anything else marked as original."""
    words = words_of(language)
    found = re.match(r"^(.+?) → (?:(\d{3})\b|no answer)", text)
    if found:
        return f"{found[1]} → {found[2] or words.mail['no_answer']}"
    return f"{one_line(text, ERP_TEXT_LIMIT)} ({words.mail['original']})"


def context(
    digest: Digest, settings: Settings, run: RunContext, *, report_attached: bool
) -> dict[str, Any]:
    group = digest.group
    language = group.language
    others = [
        # A chat-only group is named with its channel's kind, never its webhook's address.
        f"{g.name} ({g.reached_at})"
        for g in digest.also_sent_to
    ]
    report_link = None if report_attached else settings.mail.report_url or run.run_url
    notes = [
        {
            "title": title_of(note.process, settings.process(note.process), language),
            "monitor": note.monitor,
            "at": local_time(note.at, settings.timezone, language),
            "what": _first_try(note.what, language),
        }
        for note in digest.notes
    ]
    incidents = [
        _incident_context(i, settings, group, digest.also_sent_to) for i in digest.incidents
    ]
    words = words_of(language)
    return {
        "group": group,
        "role": group.role,
        "kind": digest.kind,
        "incidents": incidents,
        "notes": notes,
        "others": others,
        "others_joined": join_names(others, language),
        "timezone": settings.timezone,
        "run_id": run.run_id,
        "run_url": run.run_url,
        "report_attached": report_attached,
        "report_link": report_link,
        "sent_at": local_time(run.finished_at, settings.timezone, language),
        "colon": words.words["colon"],
        "quote_open": words.words["quote_open"],
        "quote_close": words.words["quote_close"],
    }


def compose(digest: Digest, settings: Settings, run: RunContext) -> EmailMessage:
    """The digest as a standard-library e-mail: text, HTML alternative, report attached."""
    mail = settings.mail
    report = run.report_for(digest.group.language)
    attach = (
        report is not None
        and report.is_file()
        and report.stat().st_size <= mail.attach_report_max_bytes
    )
    rendered = build_message(
        digest.kind, digest.group.language, context(digest, settings, run, report_attached=attach)
    )
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = rendered.subject
    message["From"] = mail.sender
    if digest.group.addresses:  # a chat-only group's copy is a record, never sent
        message["To"] = ", ".join(digest.group.addresses)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Date"] = format_datetime(run.finished_at)
    domain = parseaddr(mail.sender)[1].rpartition("@")[2] or "erpwatch.invalid"
    message["Message-ID"] = make_msgid(
        idstring=f"erpwatch.{run.run_id}.{digest.group.key}", domain=domain
    )
    # RFC 3834: an automatic message; out-of-office replies should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Erpwatch-Run"] = run.run_id
    message["X-Erpwatch-Kind"] = digest.kind
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    if attach and report is not None:
        # The charset in the MIME header too: a client that trusts it over the
        # page's own <meta> would otherwise garble "é" and "€".
        message.add_attachment(
            report.read_bytes(),
            maintype="text",
            subtype="html",
            filename="erpwatch-report.html",
            params={"charset": "utf-8"},
        )
    return message

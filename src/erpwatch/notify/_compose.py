"""Mail composition: one template set for every language (a subject per message
kind, one text and one HTML body), built by one function; the words are the
language's file (``languages/*.toml``). Rendering only; the data comes from the
digest, which knows nothing of HTTP capture beyond the recorded exchange."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from typing import Any

import jinja2

from .._vocabulary import Aspect, IncidentKind
from .._words import duration_text, local_time, seconds_text, words_of
from ..config import Settings
from ..diagnosis import Category, Diagnosis, explain
from ._model import Digest, Incident, RunContext
from ._wording import join_names, process_wording

ERP_TEXT_LIMIT = 600  # characters of the ERP's message near the top of a mail
EXCERPT_LIMIT = 4000  # characters of each request and answer body in the appendix
SUBJECT_LIMIT = 200
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
    values = {**context, "words": words_of(language).mail}
    subject = _environment(False).get_template(f"{kind}.subject.j2").render(values)
    return Rendered(
        subject=_clip(" ".join(subject.split()), SUBJECT_LIMIT),
        text=_environment(False).get_template("mail.txt.j2").render(values),
        html=_environment(True).get_template("mail.html.j2").render(values),
    )


def _clip(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _one_line(text: str | None, limit: int) -> str:
    return _clip(" ".join((text or "").split()), limit)


def short_call(call: str | None) -> str:
    """The call as a subject names it: ``POST /salesOrders`` without the company
    segment; an RPC method without its address (``model.sale.sale.create``)."""
    text = re.sub(r"/companies\(…\)", "", call or "").strip()
    return re.sub(r"^(\S+) \([A-Z]+ [^)]*\)$", r"\1", text)


def subject_answer(diagnosis: Diagnosis) -> str:
    """The status, and the ERP's error class when it came inside a success
    (``200 UserError``): a bare "→ 200" would read as if all went well."""
    status = str(diagnosis.status)
    if diagnosis.status is not None and 200 <= diagnosis.status < 300 and diagnosis.erp_code:
        return f"{status} {diagnosis.erp_code}"
    return status


def _variant(incident: Incident) -> str:
    if incident.process == "_erp" and incident.diagnosis is not None:
        return f"_root_{incident.diagnosis.category.value}"
    if incident.kind is IncidentKind.RESOLVED:
        return "_resolved"
    if incident.for_maintainers_only:
        return "_monitor_error"
    return "_slow" if incident.aspect is Aspect.SLOW else ""


def _incident_context(incident: Incident, settings: Settings, language: str) -> dict[str, Any]:
    diagnosis = incident.diagnosis
    titles = [p.title if (p := settings.process(name)) else name for name in incident.processes]
    headline, impact = process_wording(
        incident.process,
        settings.process(incident.process),
        language,
        variant=_variant(incident),
        processes=titles,
    )
    explanation = explain(diagnosis, language) if diagnosis is not None else None
    exchange = incident.exchange if incident.kind is not IncidentKind.RESOLVED else None
    ended = incident.ended_at
    return {
        "kind": incident.kind,
        "aspect": incident.aspect,
        "process": incident.process,
        "headline": headline,
        "impact": impact,
        "category": explanation.label if explanation else "",
        "what": explanation.what if explanation else "",
        "action": explanation.action if explanation else "",
        "call": diagnosis.call if diagnosis else None,
        # The ERP answered fine, but what it holds is wrong: the call was checked, not failed.
        "checked": bool(diagnosis and diagnosis.category is Category.DATA_MISMATCH),
        "short_call": short_call(diagnosis.call if diagnosis else None),
        "subject_answer": subject_answer(diagnosis) if diagnosis else "",
        "status": diagnosis.status if diagnosis else None,
        # A slow call: how long it took against the agreed threshold.
        "took": seconds_text(diagnosis.duration_ms / 1000, language)
        if diagnosis and diagnosis.category is Category.SLOW and diagnosis.duration_ms
        else "",
        "threshold": seconds_text(diagnosis.threshold_ms / 1000, language)
        if diagnosis and diagnosis.threshold_ms
        else "",
        "erp_code": diagnosis.erp_code if diagnosis else None,
        "erp_message": _one_line(diagnosis.erp_message if diagnosis else None, ERP_TEXT_LIMIT),
        "erp_field": diagnosis.erp_field if diagnosis else None,
        "correlation_id": diagnosis.correlation_id if diagnosis else None,
        "error": _one_line(diagnosis.error if diagnosis else None, ERP_TEXT_LIMIT),
        "reason": diagnosis.reason if diagnosis else "",
        "first_seen": local_time(incident.first_seen, settings.timezone, language),
        "last_seen": local_time(incident.last_seen, settings.timezone, language),
        "ended_at": local_time(ended, settings.timezone, language) if ended else "",
        "duration": duration_text((ended - incident.first_seen).total_seconds(), language)
        if ended
        else "",
        "runs": incident.runs,
        "monitors": incident.monitors,
        "exchange": exchange,
        "request_body": _clip(exchange.request_body, EXCERPT_LIMIT) if exchange else "",
        "response_body": _clip(exchange.response_body, EXCERPT_LIMIT) if exchange else "",
    }


def context(
    digest: Digest, settings: Settings, run: RunContext, *, report_attached: bool
) -> dict[str, Any]:
    language = digest.group.language
    others = [
        f"{g.name} ({', '.join(parseaddr(a)[1] for a in g.addresses)})" for g in digest.also_sent_to
    ]
    report_link = None if report_attached else settings.mail.report_url or run.run_url
    notes = [
        {
            "title": p.title if (p := settings.process(note.process)) else note.process,
            "monitor": note.monitor,
            "at": local_time(note.at, settings.timezone, language),
            "what": _one_line(note.what, ERP_TEXT_LIMIT),
        }
        for note in digest.notes
    ]
    return {
        "group": digest.group,
        "kind": digest.kind,
        "incidents": [_incident_context(i, settings, language) for i in digest.incidents],
        "notes": notes,
        "others": others,
        "others_joined": join_names(others, language),
        "timezone": settings.timezone,
        "run_id": run.run_id,
        "run_url": run.run_url,
        "report_attached": report_attached,
        "report_link": report_link,
        "sent_at": local_time(run.finished_at, settings.timezone, language),
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
        message.add_attachment(
            report.read_bytes(), maintype="text", subtype="html", filename="erpwatch-report.html"
        )
    return message

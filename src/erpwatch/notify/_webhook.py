"""The chat channel: a group with a webhook (Slack, a Teams workflow, or erpwatch's
own JSON) gets a short message for each digest its mail carries, in its language:
the subject line and one line per incident, no links. When a mail is not
delivered, the maintainers' webhook says so, since their mail may be what is down.

A webhook address is a key, so it is sent only to its own host (a redirect is
refused, not followed), never quoted (errors name the host), and every call is
bounded in time and size. A failed post is reported in one line and kept in
the alert state (its words, masked; never the address) to be posted with the
next run: for a chat-only group the chat is the only record. The chat's delivery
is its own: a failed post does not resend the mail, nor a failed mail the post.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import requests

from .._calls import wire_problem
from .._http import Limits, bound, one_call
from .._vocabulary import Aspect, DeliveryStatus, IncidentKind
from .._words import one_line, words_table
from ..capture import RECORDER
from ..config import Group, Settings, Webhook, WebhookKind
from ..redact import Redactor
from ._compose import context
from ._model import Delivery, Digest, RunContext

# The version of the "json" webhook's payload; its shape is schemas/webhook.v1.json.
WEBHOOK_SCHEMA = 1
WEBHOOK_TIMEOUT = 10.0  # seconds for the whole call: a chat service answers in well under one
WEBHOOK_CONNECT_TIMEOUT = 5.0
ANSWER_LIMIT = 16 * 1024  # what is read of an answer: a status word, an error
MAX_ITEMS = 10  # lines per message; the rest is counted ("and 3 more")
LINE_LIMIT = 300  # characters per line
SLACK_HEADER_LIMIT = 150  # Slack's limit for a header block's text
SLACK_SECTION_LIMIT = 3000  # and for a section's
REASON_LIMIT = 200  # characters of a refusing answer quoted in the report


class WebhookEvent(StrEnum):
    DIGEST = "digest"  # what the group's mail says
    MAIL_FAILED = "mail_failed"  # to the maintainers: mails that were not delivered
    ERPWATCH_FAILED = "erpwatch_failed"  # to the maintainers: erpwatch itself broke
    TEST = "test"  # erpwatch test-mail: is this channel set up right?


class WebhookFailed(Exception):
    """A webhook did not take the message; the text says why in one line, naming
    the host and the variable, never the address."""


@dataclass(frozen=True)
class ChatIncident:
    kind: IncidentKind
    process: str
    aspect: Aspect
    headline: str  # in the group's language
    when: str  # "since Mon 27 Nov 21:04" or "after 25 min", in the group's language
    first_seen: datetime
    ended_at: datetime | None
    runs: int

    @property
    def line(self) -> str:
        return one_line(f"{self.headline} ({self.when})", LINE_LIMIT)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "process": self.process,
            "aspect": self.aspect.value,
            "headline": self.headline,
            "first_seen": self.first_seen.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "runs": self.runs,
        }


@dataclass(frozen=True)
class ChatFailure:
    """A mail that was not delivered, as the maintainers' channel tells it."""

    group: str
    subject: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"group": self.group, "subject": self.subject, "error": self.error}


@dataclass(frozen=True)
class ChatMessage:
    """One message to one group's webhook."""

    event: WebhookEvent
    group: Group
    kind: str  # the digest's kind (alert, reminder, resolved), or mail_failed
    subject: str
    intro: str
    incidents: tuple[ChatIncident, ...]
    failures: tuple[ChatFailure, ...]
    run_id: str
    run_url: str | None
    problems: tuple[str, ...] = ()  # erpwatch's own broken steps, one line each

    def to_dict(self, mask: Callable[[str], str]) -> dict[str, Any]:
        """As the alert state keeps a post to try again: every text through ``mask``,
        the group by its key only (its webhook's address is a key, never written)."""
        return {
            "event": self.event.value,
            "kind": self.kind,
            "subject": mask(self.subject),
            "intro": mask(self.intro),
            "incidents": [
                {**i.to_dict(), "headline": mask(i.headline), "when": mask(i.when)}
                for i in self.incidents
            ],
            "failures": [
                {"group": mask(f.group), "subject": mask(f.subject), "error": mask(f.error)}
                for f in self.failures
            ],
            "problems": [mask(p) for p in self.problems],
            "run_id": self.run_id,
            "run_url": self.run_url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], group: Group) -> ChatMessage:
        """A kept post, for ``group`` as it is configured now; KeyError, TypeError or
        ValueError when the record is not one."""
        return cls(
            event=WebhookEvent(data["event"]),
            group=group,
            kind=str(data["kind"]),
            subject=str(data["subject"]),
            intro=str(data["intro"]),
            incidents=tuple(
                ChatIncident(
                    kind=IncidentKind(i["kind"]),
                    process=str(i["process"]),
                    aspect=Aspect(i["aspect"]),
                    headline=str(i["headline"]),
                    when=str(i["when"]),
                    first_seen=datetime.fromisoformat(i["first_seen"]),
                    ended_at=datetime.fromisoformat(i["ended_at"]) if i["ended_at"] else None,
                    runs=int(i["runs"]),
                )
                for i in data["incidents"]
            ),
            failures=tuple(
                ChatFailure(str(f["group"]), str(f["subject"]), str(f["error"]))
                for f in data["failures"]
            ),
            run_id=str(data["run_id"]),
            run_url=data["run_url"] if isinstance(data["run_url"], str) else None,
            problems=tuple(str(p) for p in data["problems"]),
        )

    def lines(self, language: str) -> list[str]:
        """At most MAX_ITEMS lines, the rest counted."""
        items = [i.line for i in self.incidents]
        items += [one_line(problem, LINE_LIMIT * 2) for problem in self.problems]
        items += [
            one_line(
                words_table(language, "webhook")["mail_failed_line"].format(
                    group=f.group, subject=f.subject, error=f.error
                ),
                LINE_LIMIT * 2,
            )
            for f in self.failures
        ]
        shown = items[:MAX_ITEMS]
        if len(items) > MAX_ITEMS:
            more = words_table(language, "webhook")["more"].format(n=len(items) - MAX_ITEMS)
            shown.append(more)
        return shown


def digest_message(
    digest: Digest, subject: str, settings: Settings, run: RunContext
) -> ChatMessage:
    """The group's digest as a chat message, in the mail's own words."""
    language = digest.group.language
    words = words_table(language, "webhook")
    shown = context(digest, settings, run, report_attached=False)["incidents"]
    incidents = tuple(
        ChatIncident(
            kind=incident.kind,
            process=incident.process,
            aspect=incident.aspect,
            headline=one_line(values["headline"], LINE_LIMIT),
            when=words["lasted"].format(duration=values["duration"])
            if incident.ended_at
            else words["since"].format(when=values["since"]),
            first_seen=incident.first_seen,
            ended_at=incident.ended_at,
            runs=incident.runs,
        )
        for incident, values in zip(digest.incidents, shown, strict=True)
    )
    return ChatMessage(
        event=WebhookEvent.DIGEST,
        group=digest.group,
        kind=str(digest.kind),
        subject=one_line(subject, LINE_LIMIT),
        intro="",
        incidents=incidents,
        failures=(),
        run_id=run.run_id,
        run_url=run.run_url,
    )


def mail_failed_message(
    group: Group, failures: Sequence[ChatFailure], run: RunContext
) -> ChatMessage:
    words = words_table(group.language, "webhook")
    return ChatMessage(
        event=WebhookEvent.MAIL_FAILED,
        group=group,
        kind=WebhookEvent.MAIL_FAILED.value,
        subject=words["mail_failed_subject"],
        intro=words["mail_failed_intro"],
        incidents=(),
        failures=tuple(failures),
        run_id=run.run_id,
        run_url=run.run_url,
    )


def _reply_code(error: str) -> str:
    found = re.search(r"\b[2-5]\d\d\b", error)
    return found[0] if found else ""


def failures_fingerprint(failures: Sequence[ChatFailure]) -> str:
    """Which groups' mails failed, and why: the maintainers' channel hears again
    when this changes (or after remind_every_hours), not every run. A digest, so
    the state holds no error text."""
    # The server's reply code, not its words: many servers put a session or queue
    # id in them, which would make every run's failure look new.
    seen = sorted({(f.group, _reply_code(f.error)) for f in failures})
    return hashlib.sha256(json.dumps(seen, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]


def test_message(
    group: Group, processes: Sequence[str], maintainers: bool, run_id: str
) -> ChatMessage:
    """``erpwatch test-mail``'s short post: this channel is set up, and what it will hear of."""
    words = words_table(group.language, "chat_extra")
    said = [words["test_intro"]]
    if processes:
        said.append(words["test_watches"].format(processes=", ".join(processes)))
    if maintainers:
        said.append(words["test_maintainers"])
    said.append(words["test_nothing"])
    return ChatMessage(
        event=WebhookEvent.TEST,
        group=group,
        kind=WebhookEvent.TEST.value,
        subject=words["test_subject"].format(group=group.name),
        intro=" ".join(said),
        incidents=(),
        failures=(),
        run_id=run_id,
        run_url=None,
    )


def harness_message(
    group: Group, subject: str, problems: Sequence[str], run: RunContext
) -> ChatMessage:
    """The maintainers' mail about erpwatch itself, as a chat message: the subject
    and one line per broken step, without the tracebacks (those stay in the mail)."""
    return ChatMessage(
        event=WebhookEvent.ERPWATCH_FAILED,
        group=group,
        kind=WebhookEvent.ERPWATCH_FAILED.value,
        subject=one_line(subject, LINE_LIMIT),
        intro="",
        incidents=(),
        failures=(),
        run_id=run.run_id,
        run_url=run.run_url,
        problems=tuple(RECORDER.redactor.text(p) for p in problems),
    )


# -- payloads -----------------------------------------------------------------


def _slack_escaped(text: str) -> str:
    # Slack reads <…> as a link or a mention (<!channel> pings everyone) in
    # mrkdwn text: an ERP's words must not do either.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: ChatMessage) -> dict[str, Any]:
    """An incoming webhook's message: ``text`` for the notification and for
    clients without blocks, a header and a section in plain text (no markup, no
    links), within Slack's limits for each."""
    lines = message.lines(message.group.language)
    body = "\n".join(([message.intro] if message.intro else []) + [f"• {line}" for line in lines])
    return {
        "text": _slack_escaped(f"{message.subject}\n{body}"),
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": one_line(message.subject, SLACK_HEADER_LIMIT),
                    "emoji": False,
                },
            },
            {
                "type": "section",
                "text": {
                    "type": "plain_text",
                    "text": body[:SLACK_SECTION_LIMIT],
                    "emoji": False,
                },
            },
        ],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _card_text(text: str) -> str:
    # A TextBlock reads a subset of Markdown: "[words](address)" would become a
    # link, so the pair is parted; the words stay as they are.
    return text.replace("](", "] (")


def teams_payload(message: ChatMessage) -> dict[str, Any]:
    """What a Teams workflow started by "When a Teams webhook request is received"
    posts with "Post card in a chat or channel": a message holding one Adaptive Card."""
    texts = ([message.intro] if message.intro else []) + message.lines(message.group.language)
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": _card_text(message.subject),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        *({"type": "TextBlock", "text": _card_text(text), "wrap": True} for text in texts),
    ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                },
            }
        ],
    }


def json_payload(message: ChatMessage) -> dict[str, Any]:
    """erpwatch's own payload, schemas/webhook.v1.json: typed fields for a
    receiver that routes or pages on them, and the text a person reads."""
    return {
        "schema": WEBHOOK_SCHEMA,
        "event": message.event.value,
        "run_id": message.run_id,
        "run_url": message.run_url,
        "group": message.group.key,
        "language": message.group.language,
        "kind": message.kind,
        "subject": message.subject,
        "text": "\n".join(
            [message.subject]
            + ([message.intro] if message.intro else [])
            + message.lines(message.group.language)
        ),
        "incidents": [i.to_dict() for i in message.incidents[:MAX_ITEMS]],
        "failures": [f.to_dict() for f in message.failures[:MAX_ITEMS]],
        "problems": [one_line(p, LINE_LIMIT * 2) for p in message.problems[:MAX_ITEMS]],
        "more": max(
            0,
            len(message.incidents) + len(message.failures) + len(message.problems) - MAX_ITEMS,
        ),
    }


PAYLOADS = {
    WebhookKind.SLACK: slack_payload,
    WebhookKind.TEAMS: teams_payload,
    WebhookKind.JSON: json_payload,
}


# -- sending ------------------------------------------------------------------


def channel_name(hook: Webhook) -> str:
    """How the run's summary and terminal name this channel."""
    return f"webhook-{hook.kind.value}"


def post(hook: Webhook, message: ChatMessage) -> None:
    """Post ``message`` to ``hook``, once: bounded by WEBHOOK_TIMEOUT in all, no
    redirect followed, any answer but 2xx a `WebhookFailed`."""
    where = f"the {hook.kind.value} webhook at {hook.host} ({hook.variable})"
    body = json.dumps(PAYLOADS[hook.kind](message), ensure_ascii=False).encode("utf-8")
    session = bound(
        requests.Session(), Limits(WEBHOOK_TIMEOUT, WEBHOOK_CONNECT_TIMEOUT, ANSWER_LIMIT)
    )
    try:
        with session, one_call():
            answer = session.post(
                hook.url,
                data=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
                allow_redirects=False,
            )
    except requests.RequestException as error:
        raise WebhookFailed(f"{where}: {_masked(wire_problem(error), hook)}") from None
    if answer.is_redirect or 300 <= answer.status_code < 400:
        raise WebhookFailed(
            f"{where} answered {answer.status_code}, a redirect elsewhere; erpwatch sends the "
            f"address's key to its own host only: check {hook.variable}"
        )
    if not 200 <= answer.status_code < 300:
        said = one_line(answer.content.decode("utf-8", "replace"), REASON_LIMIT)
        raise WebhookFailed(
            f"{where} answered {answer.status_code}"
            + (f": {_masked(said, hook)}" if said else "")
            + _hint(answer.status_code, hook)
        )


def _hint(status: int, hook: Webhook) -> str:
    if status in (401, 403, 404, 410):
        return f"; check {hook.variable} (the webhook may have been removed or its key renewed)"
    return ""


def _masked(text: str, hook: Webhook) -> str:
    # The hook's own key masked here, whoever calls: the fleet's parent process,
    # which tells of a client's crash, has not registered that client's secrets.
    return Redactor(hook.secrets).text(RECORDER.redactor.text(text))


FAILURE_LIMIT = 300


def failures_of(deliveries: Sequence[Delivery], groups: Mapping[str, Group]) -> list[ChatFailure]:
    """The mails of this run that were not delivered, named as their groups are."""
    return [
        ChatFailure(
            groups[d.group].name if d.group in groups else d.group,
            one_line(d.subject, FAILURE_LIMIT),
            one_line(d.error, FAILURE_LIMIT),  # the mail server's words: bounded in every payload
        )
        for d in deliveries
        if d.channel == "mail" and d.status is DeliveryStatus.FAILED
    ]

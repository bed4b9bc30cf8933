"""Notify: who gets which mail, in which language, and getting it to them.

It works from incidents (built by the alert lifecycle from the run result)
and knows nothing of HTTP capture beyond the recorded exchange it quotes in
the technical appendix.
"""

from __future__ import annotations

from ._compose import Rendered, build_message, compose, context
from ._deliver import deliver, outbox_of, summary_lines
from ._model import Delivery, Digest, Incident, Note, RunContext
from ._plan import incidents_of, merge_incidents, plan_digests, recipients_of, root_cause_first
from ._transport import MailDeliveryFailed

__all__ = [
    "Delivery",
    "Digest",
    "Incident",
    "MailDeliveryFailed",
    "Note",
    "Rendered",
    "RunContext",
    "build_message",
    "compose",
    "context",
    "deliver",
    "incidents_of",
    "merge_incidents",
    "outbox_of",
    "plan_digests",
    "recipients_of",
    "root_cause_first",
    "summary_lines",
]

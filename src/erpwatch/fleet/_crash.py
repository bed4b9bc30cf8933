"""When a client's run ends abruptly (killed, or a crash of the interpreter), it
could not tell anyone itself: the fleet tells that client's maintainers, and pings
its heartbeat's failure address, so a dead client is news, not silence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .._fold import ci_run_url
from ..redact import Redactor
from ._results import log_tail

if TYPE_CHECKING:
    from ._runner import Prepared

LOG_LINES = 60  # the end of the client's log, quoted to the maintainers


def tell_of_abrupt_end(prepared: Prepared, line: str, log: Path) -> str:
    """Mail the client's maintainers and ping its heartbeat failure address; what
    became of each, as a few words for the fleet's line."""
    from ..alerts import ping_heartbeat
    from ..notify import RunContext
    from ..notify._harness import NoMaintainers, tell_maintainers, tell_maintainers_in_chat

    settings = prepared.settings
    told = []
    now = datetime.now(UTC)
    context = RunContext(
        run_id=f"fleet {now:%Y-%m-%d %H:%M} UTC", run_url=ci_run_url(settings.env),
        report_path=None, finished_at=now,
    )  # fmt: skip
    detail = Redactor(settings.secrets).text(_tail(log))
    problems = [(f"erpwatch: client {prepared.client.label} failed: {line}", detail)]
    try:
        delivery = tell_maintainers(settings, context, problems)
        told.append(f"maintainers: {delivery.status}")
    except NoMaintainers:
        told.append("no maintainers group to mail")
    except OSError as error:
        told.append(f"maintainers not told: {error.strerror or error}")
    chat = tell_maintainers_in_chat(settings, context, problems)
    if chat is not None:
        told.append(f"{chat.channel}: {chat.status}")
    if not settings.dry_run and settings.alerts.heartbeat_fail_url:
        failed = ping_heartbeat(settings.alerts, ok=False)
        told.append("heartbeat fail URL " + ("not reached" if failed else "pinged"))
    return "; ".join(told)


def _tail(log: Path) -> str:
    try:
        lines = log_tail(log, 16_000)
    except OSError as error:
        return f"(the log {log} cannot be read: {error.strerror})"
    return "\n".join(lines[-LOG_LINES:]) or "(the log is empty)"

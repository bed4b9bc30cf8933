"""The dead man's switch: a ping at the end of every run, so an outside service
notices when the schedule itself stops. Its failure never fails the run."""

from __future__ import annotations

from .._calls import CallFailed, bounded_session, send
from .._http import Limits
from ..capture import call_label
from ..config import AlertSettings


class HeartbeatFailed(CallFailed):
    party = "the heartbeat service"


def ping_heartbeat(settings: AlertSettings, ok: bool, timeout: float = 10.0) -> str | None:
    """Ping the success or the failure URL; what went wrong, or None. Bounded like
    every other call: a service that answers a byte at a time ends by ``timeout``."""
    url = settings.heartbeat_url if ok else settings.heartbeat_fail_url
    if not url:
        return None
    session = bounded_session(Limits(timeout, timeout))
    try:
        response = send(
            session, "POST", url, call=call_label("POST", url), failure=HeartbeatFailed, data=b""
        )
    except HeartbeatFailed as error:
        return f"heartbeat not delivered: {error.problem}"
    finally:
        session.close()
    if response.status_code >= 400:
        return f"heartbeat not delivered: the service answered {response.status_code}"
    return None

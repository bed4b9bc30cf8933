"""The dead man's switch: a ping at the end of every run, so an outside service
notices when the schedule itself stops. Its failure never fails the run."""

from __future__ import annotations

import requests

from ..config import AlertSettings


def ping_heartbeat(settings: AlertSettings, ok: bool, timeout: float = 10.0) -> str | None:
    """Ping the success or the failure URL; what went wrong, or None."""
    url = settings.heartbeat_url if ok else settings.heartbeat_fail_url
    if not url:
        return None
    try:
        response = requests.post(url, timeout=timeout, data=b"")
    except requests.RequestException as error:
        return f"heartbeat not delivered: {type(error).__name__}"
    if response.status_code >= 400:
        return f"heartbeat not delivered: the service answered {response.status_code}"
    return None

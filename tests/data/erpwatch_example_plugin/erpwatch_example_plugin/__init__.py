"""Acme ERP for erpwatch: its error dialect, a channel and a client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from erpwatch import Settings
from erpwatch.extensions import (
    Answer,
    CallFailed,
    ChannelFailed,
    ErpError,
    ErpErrorKind,
    Limits,
    Notice,
    answer_failed,
    bounded_session,
    send,
)


def decode_acme(answer: Answer) -> ErpError | None:
    """Acme ERP answers ``{"acme": {"fault": "ACME-042", "text": "…", "field": "…"}}``."""
    body = answer.json
    if not isinstance(body, dict) or not isinstance(body.get("acme"), dict):
        return None
    fault = body["acme"]
    if not isinstance(fault.get("fault"), str):
        return None
    return ErpError(
        dialect="Acme ERP",
        code=fault["fault"],
        message=fault.get("text"),
        field=fault.get("field"),
        kind=ErpErrorKind.VALIDATION if fault["fault"].startswith("ACME-0") else None,
    )


class JsonFileChannel:
    """Writes each notice to ``<ACME_NOTICE_DIR>/<run id>-<group>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, notice: Notice) -> None:
        if not self.folder.is_dir():
            raise ChannelFailed(f"{self.folder} is not a folder")
        record: dict[str, Any] = {
            "group": notice.group,
            "recipients": list(notice.recipients),
            "kind": notice.kind,
            "subject": notice.subject,
            "text": notice.text,
            "incidents": list(notice.incidents),
            "run_id": notice.run_id,
        }
        path = self.folder / f"{notice.run_id}-{notice.group}.json"
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")


def json_file_channel(settings: Settings) -> JsonFileChannel | None:
    """Configured by ACME_NOTICE_DIR, from the environment or erpwatch's .env."""
    folder = settings.env.get("ACME_NOTICE_DIR")
    return JsonFileChannel(Path(folder)) if folder else None


class AcmeCallFailed(CallFailed):
    party = "Acme ERP"


class AcmeClient:
    """Acme ERP's order API, bounded and failing as erpwatch's own clients do."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.session: requests.Session = bounded_session(Limits(timeout, timeout))

    def create_order(self, order: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/orders"
        call = "POST /orders"
        response = send(self.session, "POST", url, call=call, failure=AcmeCallFailed, json=order)
        if response.status_code != 201:
            raise answer_failed(call, response, AcmeCallFailed)
        created: dict[str, Any] = response.json()
        return created

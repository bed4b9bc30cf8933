"""A real Tryton for the tests, and what breaks it the way life does.

The database is built once by scripts/tryton_lab.py (the same script .ci/run
and the README use); every server runs on its own copy.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import requests
from werkzeug.serving import make_server

from erpwatch.config import TrytonSettings
from erpwatch.redact import Redactor
from erpwatch.tryton import TrytonClient

from .support import REPO


def _load_lab() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tryton_lab", REPO / "scripts" / "tryton_lab.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


lab = _load_lab()


def start_tryton(
    directory: Path, *, session_max_age: int | None = None, queue: str = "held"
) -> Any:
    """A Tryton server on a fresh copy of the lab database (a tryton_lab.RunningTryton).

    ``queue="held"``: queued tasks wait for a worker that never comes, so a
    confirmed sale stays confirmed; ``queue="inline"``: Tryton's default, a
    confirmed sale is processed (invoiced) before ``confirm`` answers."""
    server = lab.start(directory, session_max_age=session_max_age, queue=queue)
    # A suite that ends without the fixture's own stop (an error in between, a
    # KeyboardInterrupt) still stops it; a suite that dies outright is covered by
    # the server's parent-death signal (tryton_lab).
    atexit.register(server.stop)
    return server


def client_of(
    tryton: Any, *, admin: bool = False, redactor: Redactor | None = None
) -> TrytonClient:
    """A client of a lab server: as the monitor user, or as the administrator."""
    return client_from(tryton.settings(), admin=admin, redactor=redactor)


def client_from(
    settings: dict[str, str], *, admin: bool = False, redactor: Redactor | None = None
) -> TrytonClient:
    """A client from the four TRYTON_* settings."""
    return TrytonClient(
        TrytonSettings(
            url=settings["TRYTON_URL"],
            database=settings["TRYTON_DATABASE"],
            user=lab.ADMIN_LOGIN if admin else settings["TRYTON_USER"],
            password=lab.ADMIN_PASSWORD if admin else settings["TRYTON_PASSWORD"],
            timeout=30,
            connect_timeout=5,
        ),
        redactor=redactor,
    )


def admin_of(tryton: Any) -> TrytonClient:
    """Tryton's administrator: who changes rights and rules, as an ERP partner does."""
    return client_of(tryton, admin=True)


@contextmanager
def groups_taken_away(admin: TrytonClient, login: str, names: Sequence[str]) -> Iterator[None]:
    """The monitor user loses these groups for a while (an ERP partner tidying up rights)."""
    [user] = admin.search_read("res.user", [("login", "=", login)], ["id"])
    group_ids = [
        g["id"] for g in admin.search_read("res.group", [("name", "in", list(names))], ["id"])
    ]
    assert len(group_ids) == len(names)
    admin.write("res.user", [user["id"]], {"groups": [["remove", group_ids]]})
    try:
        yield
    finally:
        admin.write("res.user", [user["id"]], {"groups": [["add", group_ids]]})


@contextmanager
def configuration_changed(
    admin: TrytonClient, model: str, values: dict[str, Any]
) -> Iterator[None]:
    """A singleton configuration (``party.configuration``…) changed, then put back."""
    fields = list(values)
    before = admin.read(model, 1, fields)
    admin.write(model, [1], values)
    try:
        yield
    finally:
        admin.write(model, [1], {field: before[field] for field in fields})


class DelayingProxy:
    """An HTTP proxy in front of Tryton that answers every call ``delay`` seconds late,
    as a slow network, an overloaded ERP or a congested reverse proxy does. The RPC
    methods in ``swallow`` are answered "done" (a null result) without reaching
    Tryton, as a customisation or middleware that drops a step would."""

    def __init__(self, upstream: str, delay: float, swallow: Sequence[str] = ()) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.swallow = set(swallow)
        self._session = requests.Session()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if self.swallow:
            call = json.loads(body or b"{}")
            if call.get("method") in self.swallow:
                start_response("200 OK", [("Content-Type", "application/json")])
                return [json.dumps({"id": call.get("id"), "result": None}).encode()]
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key not in ("HTTP_HOST", "HTTP_CONNECTION")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        time.sleep(self.delay)
        answer = self._session.request(
            environ["REQUEST_METHOD"],
            self.upstream + environ.get("PATH_INFO", "/"),
            data=body,
            headers=headers,
            timeout=30,
        )
        passed = [
            (key, value)
            for key, value in answer.headers.items()
            if key.lower()
            not in ("content-length", "connection", "transfer-encoding", "content-encoding")
        ]
        start_response(f"{answer.status_code} {answer.reason}", passed)
        return [answer.content]

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

"""Records every HTTP call made through `requests`, patched in at one place.

`requests.Session.send` is wrapped once per process. Any client built on
requests (our ERP client, the Mollie client, a monitor's own session) is
recorded without knowing it. Calls go to the log that is current; with no
log current, nothing is recorded and the wrapper costs one attribute check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests

from .._http import answer_cut
from ..redact import Redactor, is_token_request, login_session
from ._exchange import Exchange, ExchangeLog
from ._naming import rpc_name

Namer = Callable[[requests.PreparedRequest], str | None]

# What an exchange keeps of a body: every real error answer fits; a huge answer
# must not make a huge summary.json, report or mail (each keeps up to 100 exchanges).
BODY_LIMIT = 64 * 1024


def _kept(body: str | None, cut_at: int | None = None) -> str | None:
    if body is None:
        return None
    if len(body) > BODY_LIMIT:
        return f"{body[:BODY_LIMIT]}… [cut: {len(body) - BODY_LIMIT} more characters]"
    if cut_at is not None:
        return f"{body}… [cut: the answer was larger than {cut_at // 1024} KB]"
    return body


class Recorder:
    def __init__(self) -> None:
        self.redactor = Redactor()
        self.namers: list[Namer] = [rpc_name]
        self._log: ExchangeLog | None = None
        self._lock = threading.Lock()
        self._original: Callable[..., requests.Response] | None = None

    # -- the one patch ------------------------------------------------------

    def install(self) -> None:
        if self._original is not None:
            return
        original = requests.Session.send
        recorder = self

        def send(
            session: requests.Session, request: requests.PreparedRequest, **kwargs: Any
        ) -> requests.Response:
            if recorder._log is None:
                return original(session, request, **kwargs)
            return recorder._record(original, session, request, **kwargs)

        self._original = original
        requests.Session.send = send  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            requests.Session.send = self._original  # type: ignore[method-assign]
            self._original = None

    # -- logs ---------------------------------------------------------------

    def start(self) -> ExchangeLog:
        """Begin a fresh log for the monitor phase about to run."""
        with self._lock:
            self._log = ExchangeLog()
            return self._log

    def stop(self) -> ExchangeLog:
        with self._lock:
            log, self._log = self._log, None
        return log if log is not None else ExchangeLog()

    @contextmanager
    def recording(self) -> Iterator[ExchangeLog]:
        log = self.start()
        try:
            yield log
        finally:
            self.stop()

    # -- recording ----------------------------------------------------------

    def _record(
        self,
        original: Callable[..., requests.Response],
        session: requests.Session,
        request: requests.PreparedRequest,
        **kwargs: Any,
    ) -> requests.Response:
        log = self._log
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        try:
            response = original(session, request, **kwargs)
        except Exception as error:
            duration_ms = (time.perf_counter() - started) * 1000
            if log is not None:
                # A refused redirect is an answer: keep it (status, Location) as evidence.
                answer = getattr(error, "response", None)
                answer = answer if isinstance(answer, requests.Response) else None
                if answer is not None and answer.history:
                    answer = answer.history[0]
                log.append(self._exchange(request, answer, started_at, duration_ms, error, False))
            raise
        duration_ms = (time.perf_counter() - started) * 1000
        if log is not None:
            # A followed redirect records its own hops through this wrapper;
            # this call's own answer is the first of the history.
            first = response.history[0] if response.history else response
            if response.history:
                duration_ms = first.elapsed.total_seconds() * 1000
            streamed = bool(kwargs.get("stream")) and first is response
            log.append(self._exchange(request, first, started_at, duration_ms, None, streamed))
        return response

    def exchange_of(self, response: requests.Response) -> Exchange:
        """The record capture keeps of ``response`` (masked, bounded), whether or
        not a log is current: a client decodes the party's error from it, as the
        diagnosis does from the recorded one."""
        started_at = datetime.now(UTC) - response.elapsed
        request = response.request or requests.Request("GET", response.url or "").prepare()
        duration_ms = response.elapsed.total_seconds() * 1000
        return self._exchange(request, response, started_at, duration_ms, None, False)

    def _exchange(
        self,
        request: requests.PreparedRequest,
        response: requests.Response | None,
        started_at: datetime,
        duration_ms: float,
        error: BaseException | None,
        streamed: bool,
    ) -> Exchange:
        redact = self.redactor
        request_type = str(request.headers.get("Content-Type", ""))
        response_body: str | None = None
        response_headers: dict[str, str] = {}
        name = None
        for namer in self.namers:
            name = namer(request)
            if name:
                break
        if response is not None and not streamed:
            redact.add_secret(login_session(name, response.content))
        if response is not None:
            response_headers = redact.headers(response.headers)
            response_type = response.headers.get("Content-Type", "")
            if streamed:
                # Reading it here would take the body away from the caller.
                response_body = "[streamed body not captured]"
            elif is_token_request(request.body):
                # A token endpoint's answer holds a live token, possibly in a form
                # no mask knows (truncated JSON, a form as text/plain): only its
                # OAuth error is kept.
                response_body = redact.token_answer(response.content, response_type)
            else:
                response_body = _kept(
                    redact.body(response.content, response_type), answer_cut(response)
                )
        return Exchange(
            method=str(request.method),
            url=redact.url(str(request.url)),
            request_headers=redact.headers(request.headers),
            request_body=_kept(redact.body(request.body, request_type)),
            status=response.status_code if response is not None else None,
            reason=(response.reason or "") if response is not None else "",
            response_headers=response_headers,
            response_body=response_body,
            duration_ms=round(duration_ms, 2),
            started_at=started_at.isoformat(timespec="milliseconds"),
            error_type=type(error).__name__ if error is not None else None,
            error=redact.text(str(error))[:2000] if error is not None else None,
            name=name,
        )


RECORDER = Recorder()

"""Bounds on every conversation with another server: a total deadline per call
(connect plus the whole answer), a cap on the answer's size, and a strict
reading of ``Retry-After``.

requests' time-out is per socket read: a server that sends one byte a second
never trips it, so how long a call takes would be up to the server. Here a
watchdog shuts the call's socket down when the call's deadline passes, in
whatever phase it is (TLS handshake, headers, body); the blocked read then
returns at once and the call fails as a time-out. The same watchdog bounds an
SMTP session (notify/_transport.py).
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# An answer is read into memory up to this size; more is cut off and the call
# reported as too large. A page of a listing is far below (erpwatch asks for
# small pages); an endless or hostile answer is not.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024
# The longest wait a Retry-After may ask for that is still read as a number: far
# beyond any retry cap, so "over the cap" is what a person reads, not a date in 2099.
RETRY_AFTER_MOST = 24 * 3600.0


@dataclass(frozen=True)
class Limits:
    """How long one call may take in all (``timeout``), of which connecting at
    most ``connect_timeout``, and how much of an answer is read."""

    timeout: float
    connect_timeout: float
    max_bytes: int = MAX_ANSWER_BYTES


class TotalTimeout(requests.Timeout):
    """The call's whole deadline passed before the answer was complete."""


# -- the watchdog -------------------------------------------------------------


class Watch:
    """Shuts down every socket registered with it once ``seconds`` have passed.

    It keeps its own duplicate of each socket's descriptor: shutting down a
    duplicate ends the connection for every holder, and the duplicate cannot
    be reused for another connection while the watch holds it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        try:
            duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except OSError:
            return  # already closed: nothing left to bound
        with self._lock:
            if self.fired:
                _shut(duplicate)
            self._sockets.append(duplicate)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):  # the other side closed it first
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


def register_socket(sock: socket.socket | None) -> None:
    """Put ``sock`` under the deadline of the `watched` block this thread is in, if any."""
    watch: Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.add(sock)


def deadline_passed() -> bool:
    """Whether the `watched` block this thread is in has run out of time."""
    watch: Watch | None = getattr(_current, "watch", None)
    return watch is not None and watch.fired


@contextmanager
def watched(seconds: float) -> Iterator[Watch]:
    """Every socket opened or used in this thread inside the block is shut down
    after ``seconds``; ``watch.fired`` tells afterwards whether that happened."""
    watch = Watch(seconds)
    outer = getattr(_current, "watch", None)
    _current.watch = watch
    watch.start()
    try:
        yield watch
    finally:
        _current.watch = outer
        watch.stop()


class _WatchedConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        register_socket(sock)  # before TLS: the handshake is bounded too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        register_socket(self.sock)  # a kept-alive connection, used again
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        register_socket(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        register_socket(self.sock)
        super().request(*args, **kwargs)


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


@dataclass
class _CallDeadline:
    deadline: float | None = None  # monotonic, set by the call's first hop
    total: float = 0.0


_CALL = threading.local()


@contextmanager
def one_call() -> Iterator[None]:
    """One call, however many redirects it follows: its first hop's time-out is
    the deadline of all of them, so a chain of slow redirects cannot stretch it."""
    if getattr(_CALL, "state", None) is not None:
        yield  # already inside a call: the outer deadline holds
        return
    _CALL.state = _CallDeadline()
    try:
        yield
    finally:
        _CALL.state = None


class BoundedAdapter(HTTPAdapter):
    """An adapter whose calls end by a deadline and read a bounded answer.

    The time-out a caller passes is read as ``(connect, total)`` or ``total``;
    none means the adapter's own limits, so a monitor that uses a client's
    session directly is bounded too."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        connect, total = self._split(timeout)
        started = time.monotonic()
        call: _CallDeadline | None = getattr(_CALL, "state", None)
        if call is not None:
            if call.deadline is None:
                call.deadline, call.total = started + total, total
            elif started >= call.deadline:
                raise self._late(request, call.total)
            else:
                total = call.deadline - started
        shown = call.total if call is not None else total  # the time-out as configured
        with watched(total) as watch:
            try:
                response = super().send(
                    request,
                    stream=True,
                    timeout=(min(connect, total), total),
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                )
                if not stream:
                    self._read(response)
            except requests.RequestException as error:
                if watch.fired:
                    raise self._late(request, shown) from error
                raise
            if watch.fired or time.monotonic() - started > total:
                response.close()
                raise self._late(request, shown)
        return response

    def _split(self, timeout: object) -> tuple[float, float]:
        if isinstance(timeout, tuple) and len(timeout) == 2:
            connect, total = timeout
            return float(connect or self.limits.connect_timeout), float(
                total or self.limits.timeout
            )
        if isinstance(timeout, int | float) and not isinstance(timeout, bool):
            return min(self.limits.connect_timeout, float(timeout)), float(timeout)
        return self.limits.connect_timeout, self.limits.timeout

    def _read(self, response: requests.Response) -> None:
        """The body into memory, at most ``max_bytes`` of it; the rest is left
        unread and the answer marked as cut (``answer_cut``)."""
        most = self.limits.max_bytes
        chunks: list[bytes] = []
        size = 0
        cut = False
        for chunk in response.iter_content(_CHUNK):
            if size + len(chunk) > most:
                chunks.append(chunk[: most - size])
                cut = True
                break
            chunks.append(chunk)
            size += len(chunk)
        if cut:
            response.close()  # never reads the rest: the connection is dropped
            response.erpwatch_cut_at = most  # type: ignore[attr-defined]
        response._content = b"".join(chunks)
        response._content_consumed = True  # type: ignore[attr-defined]

    @staticmethod
    def _late(request: requests.PreparedRequest, total: float) -> TotalTimeout:
        return TotalTimeout(
            f"no complete answer within {total:g} s, the call's whole time-out",
            request=request,
        )


def bound(session: requests.Session, limits: Limits) -> requests.Session:
    """``session`` with every http(s) call bounded by ``limits``."""
    adapter = BoundedAdapter(limits)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def answer_cut(response: requests.Response) -> int | None:
    """The size an answer was cut at, or None when it was read whole."""
    cut = getattr(response, "erpwatch_cut_at", None)
    return cut if isinstance(cut, int) else None


# -- Retry-After ----------------------------------------------------------------


def retry_after(raw: str | None, *, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds, or None when it
    asks for nothing usable.

    Seconds (RFC 9110: digits; a decimal is tolerated) or an HTTP date. Negative,
    not finite or not a number at all: ignored. A date in the past: 0. Anything
    beyond a day is read as a day, which every retry cap refuses."""
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _date_wait(text, now)
    return wait_seconds(seconds)


def wait_seconds(seconds: float | None) -> float | None:
    """A wait another party asked for, made safe to sleep: None unless it is a
    finite number not below zero, and at most ``RETRY_AFTER_MOST``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, RETRY_AFTER_MOST)


def _date_wait(text: str, now: datetime | None) -> float | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())

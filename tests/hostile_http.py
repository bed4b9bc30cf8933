"""Hostile servers on loopback, on raw sockets, for the bounds erpwatch keeps: an
HTTP server whose answers trickle, never end, link to themselves or are huge, and
an SMTP server that answers a byte at a time."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query
    headers: dict[str, str]
    body: bytes


# A behaviour writes the whole answer itself, so it can trickle, stall or lie.
Behaviour = Callable[[Request, socket.socket], None]


@dataclass
class HostileServer:
    url: str
    requests: list[Request] = field(default_factory=list)


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)


@contextmanager
def accepting(
    listener: socket.socket, serve: Callable[[socket.socket], None], stopping: threading.Event
) -> Iterator[None]:
    """Serve each connection ``listener`` accepts on a thread of its own until the
    block ends; a hostile server must not make the test wait on its clients."""

    def accept() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield
    finally:
        stopping.set()
        listener.close()


@contextmanager
def hostile_http(behaviour: Behaviour) -> Iterator[HostileServer]:
    """A loopback HTTP/1.1 server; each connection serves requests until the
    client closes it or the behaviour fails writing (the client gave up)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    server = HostileServer(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stopping = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                while not stopping.is_set():
                    request = _read_request(conn)
                    if request is None:
                        return
                    server.requests.append(request)
                    behaviour(request, conn)
            except OSError:
                return  # the client hung up: what a bounded client does

    with accepting(listener, serve, stopping):
        yield server


def answer(
    conn: socket.socket, status: int, body: bytes | dict[str, object], **headers: str
) -> None:
    """A complete, honest answer."""
    payload = json.dumps(body).encode() if isinstance(body, dict) else body
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}"]
    if isinstance(body, dict):
        head.append("Content-Type: application/json")
    head += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)


def trickle(conn: socket.socket, data: bytes, every: float) -> None:
    """``data`` one byte at a time, ``every`` seconds apart: never a read time-out."""
    for byte in data:
        conn.sendall(bytes([byte]))
        time.sleep(every)


def trickling_body(every: float) -> Behaviour:
    """Headers at once, then a 1,000-byte JSON body a byte at a time."""

    def behave(request: Request, conn: socket.socket) -> None:
        body = b'{"value": "' + b"x" * 985 + b'"}'
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        trickle(conn, body, every)

    return behave


def trickling_headers(every: float) -> Behaviour:
    """The status line and headers a byte at a time: the call never even gets an answer."""

    def behave(request: Request, conn: socket.socket) -> None:
        trickle(conn, b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"y" * 500 + b"\r\n\r\n", every)

    return behave


@contextmanager
def slow_smtp(every: float) -> Iterator[int]:
    """An SMTP server that answers everything correctly, a byte every ``every`` seconds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stopping = threading.Event()

    def say(conn: socket.socket, line: str) -> None:
        trickle(conn, line.encode() + b"\r\n", every)

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                say(conn, "220 slow.example ESMTP")
                reader = conn.makefile("rb")
                in_data = False
                for raw in reader:
                    line = raw.decode("latin-1").rstrip("\r\n")
                    if in_data:
                        if line == ".":
                            in_data = False
                            say(conn, "250 queued")
                        continue
                    verb = line.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        say(conn, "250 slow.example")
                    elif verb == "DATA":
                        in_data = True
                        say(conn, "354 go on")
                    elif verb == "QUIT":
                        say(conn, "221 bye")
                        return
                    else:
                        say(conn, "250 ok")
            except OSError:
                return

    with accepting(listener, serve, stopping):
        yield listener.getsockname()[1]

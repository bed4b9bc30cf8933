"""Plain HTTP servers on loopback for tests that attack erpwatch from outside:
each serves a function of the request and keeps every request it got."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from wsgiref.types import StartResponse, WSGIEnvironment

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Received:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Loopback:
    url: str  # without a trailing slash
    received: list[Received] = field(default_factory=list)


@contextmanager
def serve(handler: Handler) -> Iterator[Loopback]:
    """A threaded server on a free loopback port answering with ``handler``."""
    server_box: list[Loopback] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data()
        server_box[0].received.append(
            Received(request.method, request.url, dict(request.headers), body)
        )
        return handler(request)(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    server_box.append(Loopback(f"http://127.0.0.1:{server.port}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_box[0]
    finally:
        server.shutdown()
        server.server_close()


def redirect_to(target: str, status: int = 302) -> Handler:
    """Answer every request with a redirect to ``target`` plus the request's path."""

    def handler(request: Request) -> Response:
        return Response(
            "", status=status, headers={"Location": target + request.full_path.rstrip("?")}
        )

    return handler

from __future__ import annotations

import importlib.util
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from erpwatch.capture import Recorder
from erpwatch.sandbox import RunningSandbox, SandboxApp, start

if TYPE_CHECKING:
    from .smtp_server import RunningSmtp


# The suite needs the test extras; without them every test file would stop with its
# own "No module named …". Say once what to run instead.
_EXTRAS = ("responses", "aiosmtpd", "trustme", "mollie", "hypothesis", "jsonschema", "yaml")


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


_MISSING = [name for name in _EXTRAS if not _installed(name)]
if _MISSING:
    pytest.exit(
        f"erpwatch's test suite needs its test extras (missing: {', '.join(_MISSING)}); "
        "install them: .venv/bin/python -m pip install -e '.[test]'",
        returncode=pytest.ExitCode.USAGE_ERROR,
    )


pytest_plugins = ["pytester"]

# A suite started in the background by a shell without job control (`pytest … &`,
# nohup) inherits SIGINT ignored, and so does every run a test starts: the Ctrl+C
# tests then wait a minute for an interruption that never comes, and fail. As from
# a terminal, then: Python's own handler here, the default in the runs it starts.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `-n`, work stealing instead of xdist's default "load": a few tests here
    replay whole sequences of runs (a minute each), and "load" hands tests out in
    batches, so one worker could be left with several of them at the end while the
    other idles. A worker that runs out takes half of the other's waiting tests."""
    if config.getvalue("dist") != "load":
        return None  # a --dist asked for on the command line
    from xdist.scheduler import WorkStealingScheduling  # type: ignore[import-untyped]

    return WorkStealingScheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` for this suite: two workers per CPU, at most 8. Most of its tests
    wait on a subprocess run, a loopback server or a deadline, so a CPU is idle
    half the time with one worker; measured on 2 CPUs: 420 s with 4 workers
    against 480 s with 2. (The monitors' own `-n auto` is xdist's: one per CPU.)"""
    return min(8, 2 * (os.cpu_count() or 1))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A recorder of its own, patched into requests for this test only."""
    recorder = Recorder()
    recorder.install()
    yield recorder
    recorder.uninstall()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[RunningSmtp]:
    """A real SMTP server on loopback (no TLS, no login) that keeps what it receives."""
    from .smtp_server import start_smtp  # after the extras check: it needs aiosmtpd

    server = start_smtp(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """A fresh sandbox ERP on a free loopback port."""
    with start(SandboxApp()) as running:
        yield running


class Api:
    """A thin, authenticated HTTP helper for testing the sandbox from outside."""

    def __init__(self, running: RunningSandbox) -> None:
        self.settings = running.settings()
        self.root = running.root_url
        self.session = requests.Session()
        token = self.session.post(
            self.settings["ERP_TOKEN_URL"],
            data={
                "grant_type": "client_credentials",
                "client_id": self.settings["ERP_CLIENT_ID"],
                "client_secret": self.settings["ERP_CLIENT_SECRET"],
            },
            timeout=5,
        ).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.company = (
            f"{self.settings['ERP_BASE_URL']}/companies({self.settings['ERP_COMPANY_ID']})"
        )

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.company}/{path}"
        kwargs.setdefault("timeout", 5)
        return self.session.request(method, url, **kwargs)

    def all(self, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every record of a collection, following @odata.nextLink page by page."""
        records: list[dict[str, Any]] = []
        url: str | None = path
        while url is not None:
            body = self("GET", url, **kwargs).json()
            records += body["value"]
            url, kwargs = body.get("@odata.nextLink"), {}
        return records


@pytest.fixture
def api(sandbox: RunningSandbox) -> Api:
    return Api(sandbox)


@pytest.fixture
def heartbeat_server() -> Iterator[tuple[str, list[str]]]:
    """A healthchecks.io-like ping endpoint on loopback; it answers 500 under /broken."""
    pings: list[str] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        pings.append(request.path)
        status = 500 if request.path.endswith("/broken") else 200
        return Response("OK", status=status)(environ, start_response)

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/ping/abc", pings
    server.shutdown()

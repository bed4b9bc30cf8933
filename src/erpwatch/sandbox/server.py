"""Running the sandbox: in a background thread (tests) or as its own program."""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server

from .app import API_ROOT, TOKEN_PATH, Credentials, SandboxApp
from .faults import TARGETS, FaultSpecError, kinds_help, parse_fault


@dataclass
class RunningSandbox:
    """A sandbox server listening on a real loopback socket."""

    app: SandboxApp
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def root_url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def settings(self) -> dict[str, str]:
        """The environment variables that point monitors at this sandbox."""
        buyer = self.app.punchout.buyer
        return {
            "ERP_BASE_URL": self.root_url + API_ROOT,
            "ERP_TOKEN_URL": self.root_url + TOKEN_PATH,
            "ERP_CLIENT_ID": self.app.credentials.client_id,
            "ERP_CLIENT_SECRET": self.app.credentials.client_secret,
            "ERP_COMPANY_ID": self.app.erp.default_company_id,
            "PSP_BASE_URL": self.root_url,
            "PSP_API_KEY": self.app.psp.api_key,
            "PAYMENT_WEBHOOK_URL": self.root_url + "/_shop/mollie-webhook",
            "PUNCHOUT_SETUP_URL": self.root_url + "/punchout/setup",
            "PUNCHOUT_ORDER_URL": self.root_url + "/punchout/order",
            "PUNCHOUT_FROM_DOMAIN": buyer.domain,
            "PUNCHOUT_FROM_IDENTITY": buyer.identity,
            "PUNCHOUT_TO_DOMAIN": buyer.supplier_domain,
            "PUNCHOUT_TO_IDENTITY": buyer.supplier_identity,
            "PUNCHOUT_SHARED_SECRET": buyer.shared_secret,
            "OCI_URL": self.root_url + "/oci/catalog",
            "OCI_USERNAME": buyer.oci_username,
            "OCI_PASSWORD": buyer.oci_password,
        }

    def stop(self) -> None:
        self.app.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start(app: SandboxApp | None = None, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Serve ``app`` on ``host:port`` (0: a free port) from a daemon thread."""
    # Werkzeug logs every request at INFO; a sandbox under load must stay quiet.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = app or SandboxApp()
    # Bind here rather than in Werkzeug, which exits the process when the
    # port is taken; the caller gets an OSError it can explain instead.
    listener = socket.create_server((host, port))
    try:
        server = make_server(host, port, app, threaded=True, fd=listener.fileno())
    finally:
        listener.close()  # make_server holds its own duplicate of the socket
    # A short poll interval makes stop() quick; idle cost is negligible.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="erpwatch-sandbox",
        daemon=True,
    )
    thread.start()
    return RunningSandbox(app=app, server=server, thread=thread)


# What --help says after the options: how to write a fault, and every kind.
HELP_EPILOG = f"""\
A fault is KIND[:TARGET[:METHOD]][,option=value...], e.g.
  --fault vat_required:salesOrders:POST
  --fault slow:customers,delay=2,times=3
or JSON posted to /_sandbox/faults: {{"kind": "throttle", "target": "salesOrders"}}.
{
    textwrap.fill(
        f"TARGET is one of {', '.join(TARGETS)} (default *); METHOD one of GET, POST, PATCH, "
        "PUT, DELETE (default all); times=N limits it to N requests (default: until cleared). "
        "Shop kinds (payments, punchout) take no target or method.",
        78,
    )
}

Fault kinds and their options:
{kinds_help()}
"""


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        prog="erpwatch sandbox",
        description="Run the built-in sandbox ERP.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--token-ttl",
        type=int,
        default=3599,
        metavar="SECONDS",
        help="lifetime of access tokens (default: 3599, as Entra ID's)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:TARGET[:METHOD]][,option=value…]",
        help="inject a fault from the start, e.g. throttle:salesOrders:POST; "
        "repeat for more faults (the kinds and their options are listed below)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON line with the settings, for programs"
    )
    parser.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="stop when standard input closes (the parent went away)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    app = SandboxApp(token_ttl=args.token_ttl, credentials=Credentials())
    try:
        faults = [parse_fault(spec) for spec in args.fault]
    except FaultSpecError as error:
        print(f"erpwatch sandbox: {error}", file=sys.stderr)
        return 2
    try:
        sandbox = start(app, args.host, args.port)
    except OSError as error:
        print(
            f"erpwatch sandbox: cannot listen on {args.host}:{args.port}: {error.strerror}",
            file=sys.stderr,
        )
        return 2
    for fault in faults:
        app.add_fault(fault, sandbox.root_url)
    if args.json:
        print(json.dumps(sandbox.settings()), flush=True)
    else:
        print(f"erpwatch sandbox ERP listening on {sandbox.root_url}")
        print("Put these lines in .env to point the monitors at it:\n")
        for key, value in sandbox.settings().items():
            print(f"{key}={value}")
        print(f"\nFaults: {sandbox.root_url}/_sandbox/faults   Stop: Ctrl+C", flush=True)
    try:
        if args.exit_with_stdin:
            sys.stdin.read()
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))

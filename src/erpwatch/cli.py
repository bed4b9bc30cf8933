"""The ``erpwatch`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from . import _preview as preview
from .sandbox import server as sandbox_server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="erpwatch",
        description="Synthetic monitoring of webshop-ERP business processes. "
        "Run the monitors with pytest; this command holds the tools around them.",
    )
    parser.add_argument("--version", action="version", version=f"erpwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sandbox = commands.add_parser(
        "sandbox",
        help="run the built-in sandbox ERP (Business Central API v2.0 subset) on loopback",
        description="Run the built-in sandbox ERP and print the .env lines that point monitors at it.",
    )
    sandbox_server.build_parser(sandbox)
    sandbox.set_defaults(handler=sandbox_server.run)
    preview_command = commands.add_parser(
        "preview",
        help="render the mails a run would send, without sending them",
        description="Render the mails of the last run (or an example) per recipient group, without sending.",
    )
    preview.build_parser(preview_command)
    preview_command.set_defaults(handler=preview.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

"""The ``erpwatch`` command."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence

from . import __version__
from . import _history_branch as history_branch
from . import _preview as preview
from . import _test_mail as test_mail
from .fleet import _command as fleet
from .monthly import _command as monthly
from .sandbox import server as sandbox_server

EPILOG = """\
The monitors themselves run with pytest:
  pytest                              run every monitor, mail what is due
  pytest --erpwatch-dry-run           the same, mail only into the outbox
  pytest --erpwatch-processes orders  only some processes

Exit status of `erpwatch COMMAND`: 0 done, 1 a test mail failed,
2 a usage or configuration mistake (one line on stderr says what to fix).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="erpwatch",
        description=textwrap.fill(
            "Synthetic monitoring of webshop-ERP business processes. "
            "The monitors run with pytest; this command holds the tools around them.",
            78,
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"erpwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sandbox = commands.add_parser(
        "sandbox",
        help="run the built-in sandbox ERP, payment provider and punchout shop on loopback, "
        "with faults on request",
        description=textwrap.fill(
            "Run the built-in sandbox ERP (Business Central API v2.0 subset), payment "
            "provider and punchout shop on loopback, and print the .env lines that point the "
            "monitors at it. Faults make it misbehave, to see what an alert looks like.",
            78,
        ),
        epilog=sandbox_server.HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sandbox_server.build_parser(sandbox)
    sandbox.set_defaults(handler=sandbox_server.run)
    preview_command = commands.add_parser(
        "preview",
        help="render the mails the last run sent (or an example), per group, without sending",
        description="Render the mails of the last run (or an example) per recipient group, "
        "exactly as the run composed them, without sending.",
    )
    preview.build_parser(preview_command)
    preview_command.set_defaults(handler=preview.run)
    test_command = commands.add_parser(
        "test-mail",
        help="send one short test mail to each recipient group, through the configured SMTP, "
        "and one short test post to each group's webhook",
        description="Send one short mail to each recipient group, in its language, through the "
        "same SMTP delivery as the real mails, and one short post to each group's webhook "
        "(a chat-only group gets the post alone); one line per mail and per post says sent, "
        "or what to change. Exit status 1 when any was not delivered.",
    )
    test_mail.build_parser(test_command)
    test_command.set_defaults(handler=test_mail.run)
    fleet_command = commands.add_parser(
        "fleet",
        help="run every client of clients/<name>/ (each its own pytest session), then write "
        "the agency overview reports/index.html",
        description=textwrap.fill(
            "Run the monitors of every client (clients/<name>/erpwatch.toml) or of some, each "
            "as its own pytest session with its own settings, alert state, mail and "
            "reports/<name>/, several at a time; then write the agency overview "
            "(reports/index.html, reports/fleet.json).",
            78,
        ),
        epilog=fleet.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fleet.build_parser(fleet_command)
    fleet_command.set_defaults(handler=fleet.run)
    report_command = commands.add_parser(
        "report",
        help="the monthly service report per client and group: availability, outages, "
        "slowest calls, mails sent; --mail mails it",
        description=textwrap.fill(
            "Compute a month's service report from the run history (per process: availability "
            "with planned maintenance left out, each outage with its failing call and the ERP's "
            "words, time to detect and to recover, the slowest calls, the mails sent) and write "
            "it per group, in its language and time zone, to reports/…/monthly/<month>/; with "
            "--mail, mail it. In a repository with clients/, every client (or --client NAME).",
            78,
        ),
        epilog="Exit status: 0 done, 1 a report mail was not sent, 2 a usage or configuration "
        "mistake (one line on stderr says what to fix).",
    )
    monthly.build_parser(report_command)
    report_command.set_defaults(handler=monthly.run)
    history_command = commands.add_parser(
        "history",
        help="keep the run history's month files in a git branch (save), or bring them back "
        "into the state folder (restore)",
        description=textwrap.fill(
            "Keep the run history (history-YYYY-MM.jsonl, 13 full months) in a git branch of "
            "this repository, as the Actions cache cannot keep it that long: save merges the "
            "state's month files into the branch and pushes; restore merges the branch's into "
            "the state. Exit status 1 when git failed, 2 for a usage mistake.",
            78,
        ),
    )
    history_branch.build_parser(history_command)
    history_command.set_defaults(handler=history_branch.run)
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

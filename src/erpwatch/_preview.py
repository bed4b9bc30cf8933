"""``erpwatch preview``: the mails a run sent (or would send), rendered but not sent.

For the last run it renders the digests that run planned (notify's mail plan,
written by ``deliver``), so the preview cannot differ from the real mail: the
same incidents, with the alert state's count of runs and kind of mail."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from ._command import NoProject, add_config_option, settings_here
from ._vocabulary import Outcome
from .capture import Exchange
from .config import ConfigError, Settings
from .diagnosis import Category, Diagnosis
from .notify import RunContext, compose, incidents_of, plan_digests
from .notify._plan import PLAN_FILE, load_plan
from .report._run_report import languages_to_report, report_name
from .result import MonitorResult, RunResult


def build_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    add_config_option(parser)
    parser.add_argument(
        "--summary",
        metavar="PATH",
        help="the run result to preview (default: <reports>/summary.json)",
    )
    parser.add_argument(
        "--example",
        action="store_true",
        help="preview a typical alert (orders refused by the ERP) instead",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="where to write the previews (default: <reports>/preview)"
    )
    parser.add_argument(
        "--show", action="store_true", help="also print the plain-text part of each mail"
    )
    return parser


def _fail(message: str) -> int:
    print(f"erpwatch preview: {message}", file=sys.stderr)
    return 2


def example_run(settings: Settings) -> RunResult:
    """A typical alert: the ERP started refusing orders after a stricter VAT rule."""
    routed = [p for p, groups in settings.mail.routing.items() if groups]
    process = "orders" if "orders" in routed or not routed else routed[0]
    url = "https://api.businesscentral.dynamics.com/v2.0/tenant/production/api/v2.0/companies(5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21)/salesOrders"
    message = "VAT Registration No. must have a value in Customer: No.=C10001. It cannot be zero or empty."
    exchange = Exchange(
        method="POST",
        url=url,
        request_headers={"Authorization": "[redacted]", "Content-Type": "application/json"},
        request_body='{"externalDocumentNumber": "WEB-1001", "customerNumber": "C10001", "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 2}]}',
        status=400,
        reason="Bad Request",
        response_headers={"Content-Type": "application/json; odata.metadata=minimal"},
        response_body=json.dumps(
            {
                "error": {
                    "code": "Application_FieldValidationException",
                    "message": message + "  CorrelationId:  2b0d5a9e-8a8c-4d6b-9d0e-64e4e2a1c0f7.",
                }
            }
        ),
        duration_ms=212.0,
        started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
    )
    diagnosis = Diagnosis(
        category=Category.REJECTED,
        reason="HTTP 400: the ERP refused the request",
        call="POST /companies(…)/salesOrders",
        method="POST",
        url=url,
        status=400,
        erp_dialect="Business Central",
        erp_code="Application_FieldValidationException",
        erp_message=message,
        erp_field="VAT Registration No.",
        correlation_id="2b0d5a9e-8a8c-4d6b-9d0e-64e4e2a1c0f7",
        duration_ms=212.0,
        exchange_index=0,
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return RunResult(
        run_id="example",
        started_at=now,
        finished_at=now,
        environment=settings.environment,
        erp_base_url=None,
        erp_sandbox=False,
        monitors=[
            MonitorResult(
                nodeid=f"monitors/test_{process}.py::test_example",
                name="test_example",
                process=process,
                critical=True,
                outcome=Outcome.FAILED,
                exchanges=[exchange],
                failing_exchange=0,
                diagnosis=diagnosis,
            )
        ],
    )


def run(args: argparse.Namespace) -> int:
    try:
        config_path, settings = settings_here(args.config, args.client)
    except (ConfigError, NoProject) as error:
        return _fail(str(error))
    mail = settings.mail
    if not mail.groups:
        return _fail(
            f"{config_path.name} has no recipient groups ([groups.NAME]); nothing would be sent"
        )
    if args.example:
        result = example_run(settings)
    else:
        summary = Path(args.summary) if args.summary else settings.reports_dir / "summary.json"
        if not summary.is_file():
            return _fail(f"no run result at {summary}: run the monitors first, or use --example")
        try:
            result = RunResult.from_dict(json.loads(summary.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as error:
            return _fail(f"{summary} is not a run result erpwatch can read ({error})")
    finished = datetime.fromisoformat(result.finished_at)
    planned = (
        None if args.example else load_plan(settings.reports_dir / PLAN_FILE, result.run_id, mail)
    )
    if planned is not None:
        # The digests the run itself planned and mailed, state and all: the same
        # reminder, the same "2 runs", rendered by the same compose.
        digests = planned
        if not digests:
            print(f"Run {result.run_id} sent no mail: nothing was due for any group.")
            print("Use --example to see what an alert looks like.")
            return 0
    else:
        if not args.example:
            print(
                f"Run {result.run_id}'s own mail plan is not kept (another run came after it): "
                "each failure is shown as a first alert."
            )
        digests = plan_digests(incidents_of(result, finished), mail)
        if not digests:
            print(f"Run {result.run_id} has no failure routed to a group: it would send no mail.")
            print("Use --example to see what an alert looks like.")
            return 0
    out = Path(args.out) if args.out else settings.reports_dir / "preview"
    out.mkdir(parents=True, exist_ok=True)
    # The run's own reports, as its mails attached them: each group's language.
    written = {
        language: path
        for language in languages_to_report(settings)
        if (path := settings.reports_dir / report_name(language)).is_file()
    }
    context = RunContext(
        result.run_id, result.run_url, settings.reports_dir / "report.html", finished, written
    )
    for digest in digests:
        message = compose(digest, settings, context)
        stem = out / f"{result.run_id}-{digest.kind}-{digest.group.key}"
        stem.with_suffix(".eml").write_bytes(message.as_bytes())
        html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
        assert html_part is not None
        assert text_part is not None
        stem.with_suffix(".html").write_text(str(html_part.get_content()), encoding="utf-8")
        stem.with_suffix(".txt").write_text(str(text_part.get_content()), encoding="utf-8")
        # A chat-only group's mail is the record of its post: say where it goes,
        # by the channel's kind (the webhook's address is a key).
        to = message["To"] or f"{digest.group.reached_at} (chat only: no mail)"
        print(f"{digest.group.key} ({digest.group.language}) → {to}")
        print(f"  Subject: {message['Subject']}")
        print(f"  {stem}.html  .txt  .eml")
        if args.show:
            print()
            print(str(text_part.get_content()))
    return 0

"""Run histories for the dashboard's tests, as the finishing step records them
(``record_of``'s shape): one first run, and ninety days of runs; and the
settings of the repository's erpwatch.toml in a report language."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from erpwatch.config import Settings, load_settings

from .support import REPO, clean_environment

# The latest run of every history: Friday 27 November, 20:00 in Brussels.
LATEST = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)


def settings(tmp_path: Path, language: str = "en") -> Settings:
    config = (REPO / "erpwatch.toml").read_text(encoding="utf-8")
    path = tmp_path / "erpwatch.toml"
    path.write_text(
        config.replace('report_language = "en"', f'report_language = "{language}"'),
        encoding="utf-8",
    )
    return load_settings(path, clean_environment(ERPWATCH_REPORTS=str(tmp_path / "reports")))


def monitor(process: str, status: str, ms: list[int], failing: bool = False) -> dict[str, Any]:
    return {
        "nodeid": f"monitors/test_{process}.py::test_{process}",
        "process": process,
        "status": status,
        "category": "rejected" if failing else None,
        # ERP text, as the ERP sent it: it must reach the page as text.
        "call": "POST /companies(…)/salesOrders → 400 Application_FieldValidationException: "
        "<b>VAT Registration No.</b> must have a value"
        if failing
        else None,
        "ms": ms,
    }


def one_run() -> list[dict[str, Any]]:
    """The first run on a sandbox: every call answered in milliseconds."""
    return [
        {
            "run_id": "first",
            "at": LATEST.isoformat(),
            "url": None,
            "monitors": [
                monitor("customers", "passed", [12, 31, 9]),
                monitor("orders", "passed", [18, 44]),
                monitor("payments", "passed", [7, 25, 11]),
                monitor("punchout", "passed", [35, 60]),
            ],
            "mails": [],
        }
    ]


def ninety_days() -> list[dict[str, Any]]:
    """Runs every 15 minutes for 90 days: calls that grow from tens to hundreds of
    milliseconds, a payment call over its limit now and then, an order incident
    every week (alert and reminder mails to two groups, one not delivered) and
    one going on now."""
    records = []
    runs = 90 * 96
    for index in range(runs):
        at = LATEST - timedelta(minutes=15 * (runs - 1 - index))
        trend = 20 * math.exp(3 * index / runs)  # 20 ms → 400 ms
        wave = 1 + 0.3 * math.sin(index / 40)
        incident = index % 672 in range(100, 106) or index >= runs - 9
        slow = index % 500 == 250
        mails = []
        if incident and (index % 672 in (100, 104) or index in (runs - 9, runs - 1)):
            mails = [
                {"group": "client", "status": "sent", "subject": "[erpwatch] Bestellingen bereiken het ERP niet"},
                {"group": "erp_partner", "status": "failed" if index % 672 == 104 else "sent",
                 "subject": "[erpwatch] Orders do not reach the ERP"},
            ]  # fmt: skip
        records.append(
            {
                "run_id": str(index),
                "at": at.isoformat(),
                "url": None,
                "monitors": [
                    monitor("customers", "passed", [round(trend * wave), 15]),
                    monitor(
                        "orders",
                        "failed" if incident else "passed",
                        [round(trend * wave * 1.2), 30],
                        failing=incident,
                    ),
                    monitor("payments", "degraded" if slow else "passed", [6200 if slow else round(trend), 12]),
                    monitor("punchout", "passed", [round(trend * 1.5 * wave), 40]),
                ],
                "mails": mails,
            }
        )  # fmt: skip
    return records

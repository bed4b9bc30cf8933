"""Helpers shared by tests that run monitors the way a user or the schedule does."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema

from erpwatch.result import summary_schema

REPO = Path(__file__).resolve().parent.parent


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any erpwatch or ERP setting, plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ERP_", "ERPWATCH_", "PYTEST_"))
    }
    env.update(extra)
    return env


def run_pytest(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in its own process, as the README runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env if env is not None else clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_summary(path: Path) -> dict[str, Any]:
    """A run's summary.json, checked against the schema erpwatch publishes for it:
    every test that reads a summary this way proves that run's summary valid."""
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    check_summary(data)
    return data


def check_summary(data: object) -> None:
    """Raise if ``data`` is not a summary as schemas/summary.v1.json describes it. Held
    stricter than readers are: a property the schema does not name fails here, so a
    new field cannot reach summary.json without being published."""
    errors = sorted(_strict_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        shown = "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors[:5]
        )
        raise AssertionError(f"summary.json does not match its schema: {shown}")


@functools.cache
def _strict_validator() -> jsonschema.Draft202012Validator:
    schema = _closed(summary_schema())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _closed(schema: Any) -> Any:
    """The schema with no properties beyond those it names, at every level."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


# The Business Central order monitor (the Tryton one lives beside it).
ORDER_MONITOR_FILE = "monitors/test_order_submission.py"


def ran(monitors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The monitors that ran: the Tryton ones skip when no Tryton is configured."""
    return [m for m in monitors if m["status"] != "skipped"]

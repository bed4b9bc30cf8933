"""Helpers shared by tests that run monitors the way a user or the schedule does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return data


# The Business Central order monitor (the Tryton one lives beside it).
ORDER_MONITOR_FILE = "monitors/test_order_submission.py"


def ran(monitors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The monitors that ran: the Tryton ones skip when no Tryton is configured."""
    return [m for m in monitors if m["status"] != "skipped"]

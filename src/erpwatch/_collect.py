"""Which monitors a run takes, and what each one guards.

A monitor names its business process with ``@pytest.mark.process``; the
process's criticality comes from erpwatch.toml when it is declared there. A
monitor that names no process, or an undeclared one, fails at its setup with
one line saying what to fix, and the run ends with exit status 4 (a usage
error): a configuration mistake, not a broken monitor nor a failing process.
``--erpwatch-processes`` deselects the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from .config import Settings
from .result import RunResult


@dataclass(frozen=True)
class Guard:
    """The process a monitor guards, or the problem with its marker."""

    process: str | None
    critical: bool
    problem: str | None = None


def guard_of(item: pytest.Item, settings: Settings) -> Guard:
    marker = item.get_closest_marker("process")
    if marker is None or not marker.args or not isinstance(marker.args[0], str):
        return Guard(
            None,
            False,
            f"{item.nodeid} does not say which process it guards: mark it with "
            "@pytest.mark.process('orders') or set pytestmark in its module",
        )
    name = marker.args[0]
    critical = marker.kwargs.get("critical")
    declared = settings.process(name)
    if declared is None and settings.processes:
        known = ", ".join(sorted(settings.processes))
        return Guard(
            name,
            False,
            f"process '{name}' of {item.nodeid} is not declared in "
            f"{settings.config_path.name}; declared processes: {known}",
        )
    if declared is not None and declared.critical is not None:
        critical = declared.critical
    return Guard(name, bool(critical))


def misconfigured(run: RunResult, settings: Settings) -> dict[str, str]:
    """Per monitor of the run whose process marker is a configuration mistake (no
    process, or one erpwatch.toml does not declare), the line that says so."""
    where = settings.config_path.name
    known = ", ".join(sorted(settings.processes))
    lines = {}
    for monitor in run.monitors:
        if monitor.process is None:
            lines[monitor.nodeid] = (
                f"{monitor.nodeid} does not say which process it guards: mark it with "
                "@pytest.mark.process('orders')"
            )
        elif settings.processes and settings.process(monitor.process) is None:
            lines[monitor.nodeid] = (
                f"process '{monitor.process}' of {monitor.nodeid} is not declared in {where}; "
                f"declared processes: {known}"
            )
    return lines


def chosen(items: list[pytest.Item], settings: Settings) -> list[pytest.Item]:
    """The monitors of the processes the run is limited to (all without a limit)."""
    only = settings.only_processes
    if not only:
        return list(items)
    return [item for item in items if guard_of(item, settings).process in only]


def refuse_to_start(item: pytest.Item, settings: Settings) -> None:
    """Fail or skip a monitor, before its fixtures run, that must not run here."""
    problem = guard_of(item, settings).problem
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    permanent = item.get_closest_marker("leaves_records")
    if permanent is not None and settings.environment == "live":
        reason = permanent.args[0] if permanent.args else "it leaves records that cannot be removed"
        pytest.skip(f"not on a live ERP: {reason} (erpwatch.environment is live)")

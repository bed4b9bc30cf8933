"""Deciding whether a pytest run is a monitoring run, and setting it up.

A run is a monitoring run when a config file is found (``--erpwatch-config``,
``$ERPWATCH_CONFIG``, or ``erpwatch.toml`` in the rootdir) and the paths the
run collects include the monitors directory it names. Anything else, such as
erpwatch's own test suite, leaves the plugin dormant: no sandbox, no reports.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ._run import MonitorRun
from ._sandbox_process import SandboxProcess, SandboxStartError, start_sandbox
from .capture import RECORDER
from .config import (
    SECRET_VARIABLES,
    ConfigError,
    find_config,
    load_settings,
    prepare_folders,
    read_environment,
    wants_sandbox,
    with_sandbox,
)
from .extensions import ExtensionError, check_installed


@dataclass(frozen=True)
class WorkerInput:
    """What the controller hands every xdist worker (as ``workerinput["erpwatch"]``)."""

    run_id: str
    sandbox: dict[str, str] | None  # the built-in sandbox's endpoints, when it runs
    deadline_at: float  # epoch seconds: one deadline for the whole run

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "sandbox": self.sandbox, "deadline_at": self.deadline_at}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkerInput:
        # Written by this very controller a moment ago: a mismatch is a bug, said plainly.
        sandbox = data["sandbox"]
        if not (
            isinstance(data["run_id"], str)
            and isinstance(data["deadline_at"], int | float)
            and (sandbox is None or isinstance(sandbox, dict))
        ):
            raise TypeError(f"erpwatch's worker input is not what the controller sends: {data!r}")
        return cls(data["run_id"], sandbox, float(data["deadline_at"]))


@dataclass
class Activation:
    run: MonitorRun | None
    dormant_reason: str = ""
    sandbox: SandboxProcess | None = None

    def for_workers(self) -> WorkerInput:
        assert self.run is not None
        return WorkerInput(
            run_id=self.run.run_id,
            sandbox=self.sandbox.settings if self.sandbox is not None else None,
            deadline_at=self.run.deadline_at,
        )

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self.run is not None:
            self.run.stop()
            RECORDER.uninstall()


def new_run_id(env: Mapping[str, str]) -> str:
    """GitHub's run id when there is one, so reports link to the run."""
    if env.get("ERPWATCH_RUN_ID"):
        return str(env["ERPWATCH_RUN_ID"])
    if env.get("GITHUB_RUN_ID"):
        return f"{env['GITHUB_RUN_ID']}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    return datetime.now(UTC).strftime("%y%m%d%H%M") + "-" + secrets.token_hex(2).upper()


def includes_monitors(config: pytest.Config, monitors: tuple[Path, ...]) -> bool:
    invocation_dir = config.invocation_params.dir
    for arg in config.args:
        path = (invocation_dir / arg.split("::", 1)[0]).resolve()
        for monitor in monitors:
            if path == monitor or monitor in path.parents or path in monitor.parents:
                return True
    return False


def activate(config: pytest.Config) -> Activation:
    try:
        return _activate(config)
    except ConfigError as error:
        raise pytest.UsageError(f"erpwatch: {error}") from None
    except SandboxStartError as error:
        raise pytest.UsageError(f"erpwatch: {error}") from None
    except ExtensionError as error:
        raise pytest.UsageError(f"erpwatch: {error}") from None


def _activate(config: pytest.Config) -> Activation:
    rootdir = Path(config.rootpath)
    config_path = find_config(rootdir, config.getoption("erpwatch_config"), os.environ)
    if config_path is None:
        return Activation(None, f"no erpwatch.toml in {rootdir} (or set --erpwatch-config)")
    env = read_environment(config_path.parent)
    # Command-line choices travel like the environment's, to xdist workers too.
    if config.getoption("erpwatch_processes"):
        env["ERPWATCH_PROCESSES"] = config.getoption("erpwatch_processes")
    if config.getoption("erpwatch_dry_run"):
        env["ERPWATCH_DRY_RUN"] = "1"
    settings = load_settings(config_path, env)
    if not includes_monitors(config, settings.monitors):
        where = ", ".join(str(path) for path in settings.monitors)
        return Activation(None, f"this run does not include the monitors ({where})")
    check_installed()  # a broken partner package stops the run here, in one line

    sent = getattr(config, "workerinput", {}).get("erpwatch")
    workerinput = WorkerInput.from_json(sent) if sent is not None else None
    sandbox: SandboxProcess | None = None
    summary = config.getoption("erpwatch_summary")
    if workerinput is None:
        prepare_folders(settings, Path(summary) if summary else None)
    if workerinput is not None:
        run_id, sandbox_settings = workerinput.run_id, workerinput.sandbox
    else:
        run_id = new_run_id(env)
        sandbox_settings = None
        # A live run must never turn green on a stand-in ERP.
        if wants_sandbox(env) and settings.environment != "live":
            sandbox = start_sandbox()
            sandbox_settings = sandbox.settings
    if sandbox_settings is not None:
        # The sandbox's endpoints stand in for the parties that are not configured.
        settings = with_sandbox(settings, sandbox_settings)

    RECORDER.install()
    for secret in settings.secrets:
        RECORDER.redactor.add_secret(secret)
    if settings.erp is not None:
        RECORDER.redactor.add_secret(settings.erp.client_secret)
    # The sandbox's own test credentials are masked like real ones.
    for name, value in (sandbox_settings or {}).items():
        if name in SECRET_VARIABLES:
            RECORDER.redactor.add_secret(value)

    summary_path = Path(summary) if summary else settings.reports_dir / "summary.json"
    if config.pluginmanager.hasplugin("html") and not config.getoption("htmlpath", None):
        config.option.htmlpath = str(settings.reports_dir / "report.html")
        config.option.self_contained_html = True
    run = MonitorRun(config, settings, run_id, summary_path)
    if workerinput is not None:
        run.deadline_at = workerinput.deadline_at  # one deadline for the whole run
    return Activation(run, sandbox=sandbox)

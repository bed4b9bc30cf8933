"""What the subcommands (preview, test-mail) share: the project's settings,
found from the current folder, or one line saying what is missing."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .config import Settings, find_config, load_settings, read_environment


class NoProject(Exception):
    """No erpwatch.toml here: ``str()`` is the one line to show."""


def settings_here(config: str | None, client: str | None = None) -> tuple[Path, Settings]:
    """erpwatch.toml (or ``config``, or the fleet client ``client``) and its
    settings. Raises ConfigError or NoProject, whose text names what to fix."""
    if client:
        return _client_settings(client)
    config_path = find_config(Path.cwd(), config, read_environment(Path.cwd()))
    if config_path is None:
        raise NoProject(f"no erpwatch.toml in {Path.cwd()}; give --config PATH")
    return config_path, load_settings(config_path, read_environment(config_path.parent))


def _client_settings(name: str) -> tuple[Path, Settings]:
    """A fleet client's settings exactly as ``erpwatch fleet`` gives them to its run."""
    from .fleet import FleetError, discover, run_environment, select

    root = Path.cwd()
    try:
        (client,) = select(discover(root), name)
    except (FleetError, ValueError) as error:
        raise NoProject(str(error).replace("--clients", "--client")) from None
    env = run_environment(client, root, os.environ, root / "reports", None)
    return client.config_path, load_settings(
        client.config_path, read_environment(client.config_path.parent, env)
    )


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config PATH`` or ``--client NAME``, as every subcommand that reads the project takes it."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--config", metavar="PATH", help="the erpwatch config file (default: erpwatch.toml here)"
    )
    which.add_argument(
        "--client", metavar="NAME", help="a client of the fleet: clients/NAME/, with its settings"
    )

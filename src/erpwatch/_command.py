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
    from .fleet import FleetError, client_settings, discover, select

    root = Path.cwd()
    try:
        chosen = select(discover(root), name)
    except FleetError as error:
        raise NoProject(str(error).replace("--clients", "--client")) from None
    if len(chosen) != 1:
        raise NoProject("--client: name one client (a folder name under clients/)")
    client = chosen[0]
    _, settings, _ = client_settings(client, root, os.environ, root / "reports", None)
    return client.config_path, settings


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config PATH`` or ``--client NAME``, as every subcommand that reads the project takes it."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--config", metavar="PATH", help="the erpwatch config file (default: erpwatch.toml here)"
    )
    which.add_argument(
        "--client", metavar="NAME", help="a client of the fleet: clients/NAME/, with its settings"
    )

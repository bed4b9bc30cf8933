"""What the subcommands (preview, test-mail) share: the project's settings,
found from the current folder, or one line saying what is missing."""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import Settings, find_config, load_settings, read_environment


class NoProject(Exception):
    """No erpwatch.toml here: ``str()`` is the one line to show."""


def settings_here(config: str | None) -> tuple[Path, Settings]:
    """erpwatch.toml (or ``config``) and its settings. Raises ConfigError or
    NoProject, whose text names what to fix."""
    config_path = find_config(Path.cwd(), config, read_environment(Path.cwd()))
    if config_path is None:
        raise NoProject(f"no erpwatch.toml in {Path.cwd()}; give --config PATH")
    return config_path, load_settings(config_path, read_environment(config_path.parent))


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config PATH``, as every subcommand that reads the project takes it."""
    parser.add_argument(
        "--config", metavar="PATH", help="the erpwatch config file (default: erpwatch.toml here)"
    )

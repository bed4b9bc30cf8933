"""The clients of a fleet: `clients/<name>/erpwatch.toml` each, and the settings
each client's run gets, layered from the fleet's environment, the shared `.env`
text and the client's own (a local file, or a CI secret holding its text)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config import (
    CONFIG_FILE_NAME,
    SECRET_VARIABLES,
    SETTING_NAMES,
    WHERE_ENV,
    ConfigError,
    Settings,
    dotenv_text,
    load_config_file,
    load_settings,
    parse_dotenv,
    read_environment,
)
from ..redact import Redactor

CLIENTS_DIR = "clients"
# GitHub secret names are letters, digits and underscores: a folder name must map
# onto one, so a client's secret is found without anyone writing it down.
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
SHARED_SECRET = "ERPWATCH_ENV"
ALL_SECRETS = "ERPWATCH_SECRETS"  # ${{ toJSON(secrets) }} in the workflow
# The fleet's own secrets: every client's, and the status pages' key.
FLEET_SECRETS = frozenset({ALL_SECRETS, SHARED_SECRET, "ERPWATCH_PAGES_KEY"})
CLIENT_SECRETS = f"{SHARED_SECRET}_"  # the prefix of each client's
# Set by the fleet per client, or meant for the fleet alone: never inherited.
_FLEET_ONLY = {ALL_SECRETS, SHARED_SECRET, "ERPWATCH_CONFIG", "ERPWATCH_DOTENV",
               "ERPWATCH_REPORTS", "ERPWATCH_STATE", "GITHUB_STEP_SUMMARY",
               "ERPWATCH_PAGES", "ERPWATCH_PAGES_KEY"}  # fmt: skip


class FleetError(Exception):
    """A fleet that cannot start: ``str()`` is the one line saying what to fix."""


@dataclass(frozen=True)
class Client:
    """One client: its folder's name ("" for a project with one erpwatch.toml) and config."""

    name: str
    config_path: Path

    @property
    def secret_name(self) -> str:
        """The CI secret that holds this client's `.env` text."""
        if not self.name:
            return SHARED_SECRET
        return f"{SHARED_SECRET}_{self.name.upper().replace('-', '_')}"

    @property
    def label(self) -> str:
        return self.name or "(this project)"


def discover(root: Path) -> list[Client]:
    """Every client under ``root/clients``; without that folder, the project's own
    erpwatch.toml as the one client. Raises FleetError saying what is missing."""
    folder = root / CLIENTS_DIR
    if not folder.is_dir():
        if (root / CONFIG_FILE_NAME).is_file():
            return [Client("", root / CONFIG_FILE_NAME)]
        raise FleetError(
            f"no {CLIENTS_DIR}/<name>/{CONFIG_FILE_NAME} and no {CONFIG_FILE_NAME} in {root}"
        )
    clients = []
    for entry in sorted(folder.iterdir()):
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        if not _NAME.fullmatch(entry.name):
            raise FleetError(
                f"{CLIENTS_DIR}/{entry.name}: a client's folder name is lower-case letters, "
                "digits, - and _ (at most 63), starting with a letter or digit; rename it"
            )
        if (entry / CONFIG_FILE_NAME).is_file():
            clients.append(Client(entry.name, entry / CONFIG_FILE_NAME))
    if not clients:
        raise FleetError(f"no {CLIENTS_DIR}/<name>/{CONFIG_FILE_NAME} in {root}")
    seen: dict[str, str] = {}
    for client in clients:
        other = seen.setdefault(client.secret_name, client.name)
        if other != client.name:
            raise FleetError(
                f"{CLIENTS_DIR}/{other} and {CLIENTS_DIR}/{client.name} would share the secret "
                f"{client.secret_name}; rename one"
            )
    return clients


def select(clients: list[Client], wanted: str | None) -> list[Client]:
    """The clients named in ``--clients a,b`` (all when None), in the fleet's order."""
    if not wanted:
        return clients
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    if not names:
        raise FleetError("--clients: name at least one client (folder names, comma-separated)")
    known = {client.name for client in clients}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise FleetError(
            f"--clients: no client {unknown[0]!r}; clients: {', '.join(sorted(known)) or '(none)'}"
        )
    return [client for client in clients if client.name in names]


def secrets_of(environ: Mapping[str, str]) -> dict[str, str]:
    """The CI secrets handed over as one JSON object (``ERPWATCH_SECRETS``)."""
    raw = environ.get(ALL_SECRETS, "")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        # Its text is secrets: the error says what it should be, never what it holds.
        raise FleetError(
            f"{ALL_SECRETS} must be a JSON object of texts, as ${{{{ toJSON(secrets) }}}} gives"
        )
    return {str(key).upper(): value for key, value in data.items()}


def client_environment(client: Client, root: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables ``client``'s run starts with (``layered`` without the origins)."""
    return layered(client, root, environ)[0]


def layered(
    client: Client, root: Path, environ: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The variables ``client``'s run starts with, and where each came from.

    From least to most specific: the fleet's own environment, the shared `.env`
    text (``clients/.env``, secret ERPWATCH_ENV), the client's own
    (``clients/<name>/.env``, secret ERPWATCH_ENV_<NAME>): the more specific wins.
    A project with one erpwatch.toml reads its `.env` itself, as pytest would, and
    takes the CI secrets named like a setting (a one-client repository's
    ``ERP_BASE_URL``); a fleet's clients do not, so a left-over secret of one
    client never reaches another."""
    secrets = secrets_of(environ)
    env = {
        name: value
        for name, value in environ.items()
        if name not in _FLEET_ONLY and not name.startswith(f"{SHARED_SECRET}_")
    }
    origins = dict.fromkeys(env, "the environment erpwatch fleet runs in")
    if not client.name:
        for name in SETTING_NAMES:
            if name in secrets and name not in env:
                env[name], origins[name] = secrets[name], f"secret {name}"
    layers: list[tuple[str, str | None]] = []
    if client.name:
        layers.append(_file_layer(root, root / CLIENTS_DIR / ".env"))
    layers.append(
        (f"secret {SHARED_SECRET}", environ.get(SHARED_SECRET) or secrets.get(SHARED_SECRET))
    )
    if client.name:
        layers.append(_file_layer(root, client.config_path.parent / ".env"))
        secret = client.secret_name
        layers.append((f"secret {secret}", environ.get(secret) or secrets.get(secret)))
    for where, text in layers:
        if text:
            values = parse_dotenv(text, where)
            env.update(values)
            origins.update(dict.fromkeys(values, where))
    return env, origins


def declared_processes(client: Client) -> list[str] | None:
    """The processes ``client`` declares; None when its config cannot be read (its
    own run says why)."""
    try:
        processes = load_config_file(client.config_path).get("processes", {})
    except ConfigError:
        return None
    return [str(name) for name in processes] if isinstance(processes, dict) else None


def choose_processes(clients: list[Client], environ: Mapping[str, str]) -> dict[str, str | None]:
    """ERPWATCH_PROCESSES for a fleet (the workflow's "processes" input): per client,
    the chosen processes it has (None: none of them, it sits this run out). A name
    no client declares is a typo, said in one line."""
    wanted = [p.strip() for p in environ.get("ERPWATCH_PROCESSES", "").split(",") if p.strip()]
    if not wanted or not any(client.name for client in clients):
        return {}
    declared = {client.name: declared_processes(client) for client in clients}
    known = {name for names in declared.values() if names for name in names}
    unknown = [name for name in wanted if known and name not in known]
    if unknown:
        raise FleetError(
            f"ERPWATCH_PROCESSES: no client declares {unknown[0]!r}; declared: "
            + ", ".join(sorted(known))
        )
    chosen: dict[str, str | None] = {}
    for name, names in declared.items():
        if names is not None:  # an unreadable config: its own run reports it
            mine = [process for process in wanted if process in names]
            chosen[name] = ",".join(mine) or None
    return chosen


def client_settings(
    client: Client, root: Path, environ: Mapping[str, str], reports: Path, state: Path | None
) -> tuple[dict[str, str], Settings, tuple[str, ...]]:
    """The environment and settings of ``client``'s run, and the values its lines
    must never quote; a ConfigError names the layer to fix, values masked."""
    env, origins = layered(client, root, environ)
    # Never quoted back: what came from a CI secret, whatever its name (GitHub
    # masks a secret's lines, not a value within one), the secrets by name,
    # and the heartbeat addresses, which are keys.
    from_secrets = [value for name, value in env.items() if origins[name].startswith("secret")]
    keys = (*SECRET_VARIABLES, "ERPWATCH_HEARTBEAT_URL", "ERPWATCH_HEARTBEAT_FAIL_URL")
    masked = (*from_secrets, *(env[name] for name in keys if env.get(name)))
    env.update(fleet_sets(client, reports, state))
    try:
        settings = load_settings(
            client.config_path, read_environment(client.config_path.parent, env)
        )
        missing = [path for path in settings.monitors if not path.exists()]
        if missing:
            raise ConfigError(
                "erpwatch.monitors", f"{missing[0]} is not there", str(client.config_path)
            )
    except ConfigError as error:
        where = error.where
        if where == WHERE_ENV:
            # The layer that gave the value; for a value not given, where to give it.
            own = f"{CLIENTS_DIR}/{client.name}/.env or secret {client.secret_name}"
            where = origins.get(error.key) or (own if client.name else where)
        # Paths as the agency sees them in its repository, not from the machine's root.
        here = f"{root.resolve()}{os.sep}"
        problem = Redactor(masked).text(error.problem).replace(here, "")
        raise ConfigError(error.key, problem, where.replace(here, "")) from None
    return env, settings, masked


def fleet_sets(client: Client, reports: Path, state: Path | None) -> dict[str, str]:
    """What the fleet sets for a client's run, over anything the client's own
    settings say: its reports folder (``reports/<name>``), its state
    (``state/<name>/state.json`` when given) and its config."""
    sets = {"ERPWATCH_CONFIG": str(client.config_path.resolve())}
    if client.name:
        sets["ERPWATCH_REPORTS"] = str(reports / client.name)
        if state is not None:
            sets["ERPWATCH_STATE"] = str(state / client.name / "state.json")
    return sets


def _file_layer(root: Path, path: Path) -> tuple[str, str | None]:
    """A `.env` file's text, named as the agency sees it in its repository."""
    try:
        where = str(path.relative_to(root))
    except ValueError:
        where = str(path)
    return where, dotenv_text(path) if path.is_file() else None

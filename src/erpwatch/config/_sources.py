"""Where settings come from: the config file (found by discovery), the process
environment and `.env`. Nothing is written to ``os.environ``: the values are
passed explicitly, and an error names the source that gave the bad value."""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._schema import ConfigError, env_error, is_http_url

CONFIG_FILE_NAME = "erpwatch.toml"
# Every variable erpwatch reads, as .env.example lists them (a test keeps the two
# equal): a fleet takes these from the CI secrets without a line per variable.
SETTING_NAMES = (
    "ERP_BASE_URL", "ERP_COMPANY_ID", "ERP_TOKEN_URL", "ERP_CLIENT_ID", "ERP_CLIENT_SECRET",
    "ERP_SCOPE", "ERP_TEST_ITEM", "TRYTON_URL", "TRYTON_DATABASE", "TRYTON_USER",
    "TRYTON_PASSWORD", "ERPWATCH_ENVIRONMENT", "ERPWATCH_CONFIG", "ERPWATCH_REPORTS",
    "ERPWATCH_DOTENV", "ERPWATCH_RUN_ID", "ERPWATCH_STATE", "ERPWATCH_SILENCE_UNTIL",
    "ERPWATCH_HEARTBEAT_URL", "ERPWATCH_HEARTBEAT_FAIL_URL", "ERPWATCH_RUN_DEADLINE_MINUTES",
    "ERPWATCH_PROCESSES", "ERPWATCH_DRY_RUN", "ERPWATCH_NOW", "SMTP_HOST", "SMTP_PORT",
    "SMTP_SECURITY", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TIMEOUT", "SMTP_CA_FILE",
    "MAIL_FROM", "MAIL_REPLY_TO", "CLIENT_EMAILS", "ERP_PARTNER_EMAILS", "MAINTAINER_EMAILS",
    "PSP_BASE_URL", "PSP_API_KEY", "PAYMENT_WEBHOOK_URL", "PUNCHOUT_SETUP_URL",
    "PUNCHOUT_ORDER_URL", "PUNCHOUT_FROM_DOMAIN", "PUNCHOUT_FROM_IDENTITY",
    "PUNCHOUT_TO_DOMAIN", "PUNCHOUT_TO_IDENTITY", "PUNCHOUT_SENDER_DOMAIN",
    "PUNCHOUT_SENDER_IDENTITY", "PUNCHOUT_SHARED_SECRET", "PUNCHOUT_DEPLOYMENT_MODE",
    "OCI_URL", "OCI_USERNAME", "OCI_PASSWORD",
)  # fmt: skip


def find_config(root: Path, explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """The config file the run uses: ``--erpwatch-config``, then ``ERPWATCH_CONFIG``,
    then `erpwatch.toml` in the pytest rootdir; None when there is none."""
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.is_file():
            raise ConfigError("--erpwatch-config", f"no file at {path}")
        return path
    from_env = environ.get("ERPWATCH_CONFIG")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError("ERPWATCH_CONFIG", f"no file at {path}")
        return path
    default = root / CONFIG_FILE_NAME
    return default if default.is_file() else None


def load_config_file(path: Path) -> dict[str, Any]:
    import tomllib  # only when there is a file: a dormant plugin (no erpwatch.toml) needs none

    where = str(path)
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path.name, f"is not valid TOML: {error}", where) from None
    except OSError as error:
        raise ConfigError(path.name, f"cannot be read: {error.strerror}", where) from None


def read_environment(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment over `.env`: a real variable wins."""
    environ = os.environ if environ is None else environ
    dotenv_path = Path(environ.get("ERPWATCH_DOTENV", root / ".env"))
    values: dict[str, str] = {}
    if dotenv_path.is_file():
        values.update(parse_dotenv(dotenv_text(dotenv_path), str(dotenv_path)))
    values.update(environ)
    return {key: value.strip() for key, value in values.items()}


def parse_dotenv(text: str, where: str) -> dict[str, str]:
    """The variables of `.env` text (a file, or a secret holding a file's text),
    checked the same way wherever the text comes from; ``where`` names it in errors."""
    from dotenv import dotenv_values  # only when there is .env text: it imports a lot
    from dotenv.parser import parse_stream

    text = text.removeprefix("\ufeff")  # a byte-order mark pasted along with the text
    # python-dotenv skips a line it cannot read with a log message nobody sees;
    # a setting lost that way would quietly change what is watched.
    broken = next((b.original.line for b in parse_stream(io.StringIO(text)) if b.error), None)
    if broken is not None:
        raise ConfigError(
            f"line {broken}", "is not NAME=value (quote a value that spans lines)", where
        )
    # A value is what it says: no ${NAME} taken from the environment, where a fleet
    # holds every client's secrets (and a password may well contain "${").
    read = {
        k: v
        for k, v in dotenv_values(stream=io.StringIO(text), interpolate=False).items()
        if v is not None
    }
    for name, value in read.items():
        if "\0" in name or "\0" in value:
            # No program takes a NUL in a name, path or password: it is damage.
            raise ConfigError(
                name.replace("\0", "\\0"),
                "holds a NUL character; save .env as plain UTF-8 text",
                where,
            )
    return {name: value.strip() for name, value in read.items()}


# Text that says what it is: a byte-order mark leaves no doubt about the encoding.
# PowerShell 5's `>` and Notepad's "Unicode" write UTF-16 with one; decoding it is
# exact, not a guess. Without a mark only UTF-8 is read: guessing another
# encoding could silently change a password's characters.
_MARKS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
          (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip


def dotenv_text(path: Path) -> str:
    """A `.env` file's text: UTF-8, or UTF-8/UTF-16 that starts with a byte-order mark."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(path.name, f"cannot be read: {error.strerror}", str(path)) from None
    encoding = next((name for mark, name in _MARKS if raw.startswith(mark)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise ConfigError(
            path.name,
            f"is not {'UTF-16' if encoding == 'utf-16' else 'UTF-8'} text (byte {raw[error.start]:#04x} at offset "
            f"{error.start}); save it as UTF-8",
            str(path),
        ) from None


def party(
    env: Mapping[str, str],
    sandbox: Mapping[str, str] | None,
    names: tuple[str, ...],
    urls: tuple[str, ...],
) -> dict[str, str] | None:
    """A party's variables: all from the environment, or all from the sandbox when its
    first variable is unset; None when neither. A half-configured party is an error."""
    given = [name for name in names if env.get(name)]
    if not given:
        return {name: sandbox[name] for name in names} if sandbox and names[0] in sandbox else None
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise env_error(missing[0], f"is not set; it is needed because {given[0]} is set")
    for name in urls:
        if not is_http_url(env[name]):
            raise env_error(name, f"must be an http(s) URL, not {env[name]!r}")
    return {name: env[name] for name in names}


def needs(name: str, because: str) -> ConfigError:
    """The one wording for a variable that another one requires."""
    return env_error(name, f"is not set; it is needed because {because} is set")

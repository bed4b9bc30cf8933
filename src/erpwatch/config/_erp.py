"""[erp] and the ERP_* variables: the Business Central ERP, or the sandbox standing in.

The [erp] time-outs are every party's time-outs: the payment provider, the
punchout shop and Tryton are called with them too."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import env_error, is_http_url, number, reject_unknown, table
from ._sources import needs

DEFAULT_TEST_ITEM = "1896-S"
DEFAULT_SCOPE = "https://api.businesscentral.dynamics.com/.default"
ERP_VARIABLES = (
    "ERP_BASE_URL",
    "ERP_COMPANY_ID",
    "ERP_TOKEN_URL",
    "ERP_CLIENT_ID",
    "ERP_CLIENT_SECRET",
    "ERP_SCOPE",
)
_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


@dataclass(frozen=True)
class Timeouts:
    """Per call: connecting within ``connect_timeout``, the whole answer within ``timeout``."""

    timeout: float = 30.0
    connect_timeout: float = 5.0


@dataclass(frozen=True)
class ErpSettings:
    """The Business Central ERP (or the sandbox standing in), from the ERP_* variables."""

    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    scope: str
    company_id: str | None
    test_item: str
    timeout: float
    connect_timeout: float
    sandbox: bool  # the built-in sandbox, started by erpwatch


def timeouts_of(data: Mapping[str, Any], where: str) -> Timeouts:
    erp = table(data, "erp", where)
    reject_unknown(erp, {"timeout", "connect_timeout"}, "erp.", where)
    return Timeouts(
        number(erp, "timeout", 30.0, "erp.", where),
        number(erp, "connect_timeout", 5.0, "erp.", where),
    )


def wants_sandbox(env: Mapping[str, str]) -> bool:
    """True when no ERP is configured, so the built-in sandbox stands in."""
    return not env.get("ERP_BASE_URL")


def erp_settings(
    env: Mapping[str, str], sandbox: Mapping[str, str] | None, timeouts: Timeouts
) -> ErpSettings | None:
    """None when no ERP is configured and no sandbox stands in (a live run without ERP_BASE_URL)."""
    from_sandbox = wants_sandbox(env)
    if from_sandbox:
        stray = [name for name in ERP_VARIABLES if env.get(name)]
        if stray:
            raise env_error(
                "ERP_BASE_URL",
                f"is not set but {', '.join(stray)} is; set ERP_BASE_URL to use your ERP, "
                "or remove the others to use the built-in sandbox",
            )
        if sandbox is None:
            return None
        env = {**env, **sandbox}
    values = {}
    for name in ("ERP_BASE_URL", "ERP_TOKEN_URL", "ERP_CLIENT_ID", "ERP_CLIENT_SECRET"):
        value = env.get(name, "")
        if not value:
            raise needs(name, "ERP_BASE_URL")
        values[name] = value
    for name in ("ERP_BASE_URL", "ERP_TOKEN_URL"):
        if not is_http_url(values[name]):
            raise env_error(name, f"must be an http(s) URL, not {values[name]!r}")
    company_id = env.get("ERP_COMPANY_ID") or None
    if company_id is not None and not re.match(_GUID, company_id):
        raise env_error(
            "ERP_COMPANY_ID",
            f"must be a company GUID like 5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21, not {company_id!r}",
        )
    return ErpSettings(
        base_url=values["ERP_BASE_URL"].rstrip("/"),
        token_url=values["ERP_TOKEN_URL"],
        client_id=values["ERP_CLIENT_ID"],
        client_secret=values["ERP_CLIENT_SECRET"],
        scope=env.get("ERP_SCOPE") or DEFAULT_SCOPE,
        company_id=company_id,
        test_item=env.get("ERP_TEST_ITEM") or DEFAULT_TEST_ITEM,
        timeout=timeouts.timeout,
        connect_timeout=timeouts.connect_timeout,
        sandbox=from_sandbox,
    )


DEFAULT_TIMEOUTS = Timeouts()

"""The TRYTON_* variables: a Tryton ERP reached over JSON-RPC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from ._erp import Timeouts
from ._schema import env_error
from ._sources import party


@dataclass(frozen=True)
class TrytonSettings:
    """A Tryton ERP, reached over JSON-RPC at ``<url><database>/rpc/``."""

    url: str  # ends in "/"
    database: str
    user: str
    password: str = field(repr=False)
    timeout: float
    connect_timeout: float

    @property
    def rpc_url(self) -> str:
        return f"{self.url}{quote(self.database)}/rpc/"


def tryton_settings(env: Mapping[str, str], timeouts: Timeouts) -> TrytonSettings | None:
    """None when no Tryton is configured (TRYTON_URL unset)."""
    names = ("TRYTON_URL", "TRYTON_DATABASE", "TRYTON_USER", "TRYTON_PASSWORD")
    values = party(env, None, names, urls=names[:1])
    if values is None:
        return None
    url = values["TRYTON_URL"]
    if urlsplit(url).path.rstrip("/").endswith("/rpc"):
        raise env_error(
            "TRYTON_URL",
            f"must be the server's address without /<database>/rpc/ (e.g. http://erp.example:8000/), not {url!r}",
        )
    return TrytonSettings(
        url=url.rstrip("/") + "/",
        database=values["TRYTON_DATABASE"],
        user=values["TRYTON_USER"],
        password=values["TRYTON_PASSWORD"],
        timeout=timeouts.timeout,
        connect_timeout=timeouts.connect_timeout,
    )

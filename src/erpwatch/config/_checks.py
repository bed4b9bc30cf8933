"""[[checks.urls]]: the addresses watched for their answer, speed and TLS certificate
(the shop, the ERP API's base, the payment webhook), each as a monitor of a process."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._processes import ProcessSettings
from ._schema import ConfigError, Span, flag, is_http_url, optional_number, reject_unknown, whole

DEFAULT_PROCESS = "website"
CERT_WARN_DAYS = 21
CERT_FAIL_DAYS = 7
_DAYS = Span("days", 365, inclusive=True, whole=True)
_STATUS = Span("status", 599, low=100, inclusive=True, whole=True, noun="an HTTP status")
_KEYS = {"url", "name", "process", "expect_status", "latency_threshold", "cert_warn_days",
         "cert_fail_days", "require_https_redirect", "http_url"}  # fmt: skip


@dataclass(frozen=True)
class UrlCheck:
    """One [[checks.urls]] entry: what its monitor asks of the address."""

    name: str  # the monitor's id: test_url[shop]
    url: str
    process: str
    expect_status: int = 200  # after following redirects
    latency_threshold: float | None = None  # seconds; None: the process's
    cert_warn_days: int = CERT_WARN_DAYS  # fewer days left: degraded
    cert_fail_days: int = CERT_FAIL_DAYS  # fewer days left: failed
    # The http:// address that must send the reader to https:// (None: not checked).
    http_url: str | None = None

    @property
    def https(self) -> bool:
        return urlsplit(self.url).scheme == "https"


def url_checks_of(
    data: Mapping[str, Any], processes: Mapping[str, ProcessSettings], where: str
) -> tuple[UrlCheck, ...]:
    checks = data.get("checks", {})
    if not isinstance(checks, dict):
        raise ConfigError("checks", "must be a table with [[checks.urls]] entries", where)
    reject_unknown(checks, {"urls"}, "checks.", where)
    entries = checks.get("urls", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError("checks.urls", "must be [[checks.urls]] tables with a url each", where)
    found: list[UrlCheck] = []
    for number, entry in enumerate(entries, 1):
        found.append(_check(entry, f"checks.urls[{number}].", processes, where))
    names = [check.name for check in found]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(
            "checks.urls", f"two entries are named {twice[0]!r}: give each its own name", where
        )
    return tuple(found)


def _check(
    entry: Mapping[str, Any], prefix: str, processes: Mapping[str, ProcessSettings], where: str
) -> UrlCheck:
    reject_unknown(entry, _KEYS, prefix, where)
    url = entry.get("url")
    if not isinstance(url, str) or not is_http_url(url.strip()):
        raise ConfigError(
            f"{prefix}url", f"must be an http:// or https:// address, not {url!r}", where
        )
    url = url.strip()
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - a port out of range or not a number raises here
    except ValueError:
        raise ConfigError(
            f"{prefix}url", f"has a port that is not a number from 1 to 65535: {url!r}", where
        ) from None
    if parts.username is not None or parts.password is not None:
        # The check is a GET anyone may make; a password in the address would
        # also go, in clear, to the derived http:// address.
        raise ConfigError(f"{prefix}url", "must not carry a user or password", where)
    name = entry.get("name", parts.hostname)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigError(
            f"{prefix}name", f"must be a short name (letters, digits, . _ -), not {name!r}", where
        )
    process = entry.get("process", DEFAULT_PROCESS)
    if not isinstance(process, str) or process not in processes:
        known = ", ".join(sorted(processes)) or "none"
        raise ConfigError(
            f"{prefix}process",
            f"{process!r} is not declared: add [processes.{process}] (declared: {known})",
            where,
        )
    warn = whole(entry, "cert_warn_days", CERT_WARN_DAYS, prefix, where, _DAYS)
    fail = whole(entry, "cert_fail_days", CERT_FAIL_DAYS, prefix, where, _DAYS)
    if fail > warn:
        raise ConfigError(
            f"{prefix}cert_fail_days",
            f"({fail}) must not be more than cert_warn_days ({warn})",
            where,
        )
    return UrlCheck(
        name=name,
        url=url,
        process=process,
        expect_status=whole(entry, "expect_status", 200, prefix, where, _STATUS),
        latency_threshold=optional_number(entry, "latency_threshold", prefix, where),
        cert_warn_days=warn,
        cert_fail_days=fail,
        http_url=_http_url(entry, parts.scheme, url, prefix, where),
    )


def _http_url(
    entry: Mapping[str, Any], scheme: str, url: str, prefix: str, where: str
) -> str | None:
    if not flag(entry, "require_https_redirect", False, prefix, where):
        if "http_url" in entry:
            raise ConfigError(
                f"{prefix}http_url", "is only used with require_https_redirect = true", where
            )
        return None
    if scheme != "https":
        raise ConfigError(
            f"{prefix}require_https_redirect", "needs an https:// url to redirect to", where
        )
    given = entry.get("http_url")
    if given is not None:
        if not isinstance(given, str) or urlsplit(given.strip()).scheme != "http":
            raise ConfigError(
                f"{prefix}http_url", f"must be an http:// address, not {given!r}", where
            )
        return given.strip()
    parts = urlsplit(url)
    if parts.port is not None:
        raise ConfigError(
            f"{prefix}http_url",
            "is needed when the url names a port: the http:// address cannot be guessed",
            where,
        )
    return urlunsplit(("http", parts.netloc, parts.path, parts.query, ""))

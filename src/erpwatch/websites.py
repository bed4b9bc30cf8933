"""Website, API and certificate checks: one monitor per [[checks.urls]] entry.

A monitor file that imports ``url_monitor`` as ``test_url`` makes pytest collect it; the plugin
parametrizes it with the configured addresses (``test_url[shop]``), each marked
with its process, so routing, the alert lifecycle, mail, the dashboard and the
history treat it as any monitor. Per address:

- the TLS certificate, read from a real, verified handshake (the CA bundle
  requests uses): not trusted, expired or for another name fails; fewer than
  ``cert_fail_days`` days left fails; fewer than ``cert_warn_days`` makes the
  monitor degraded, as a slow call does;
- a GET (redirects followed, bounded like every call) must answer
  ``expect_status``; its time is checked against the latency threshold;
- with ``require_https_redirect``, the http:// address must redirect to https://
  on the same host.
"""

from __future__ import annotations

import math
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from ._attempts import THRESHOLD_KEY, WARNING_KEY
from ._calls import CallFailed, answer_failed, bounded_session, send
from ._http import Limits, register_socket, watched
from ._vocabulary import Category
from ._words import one_line
from .capture import call_label
from .checks import CheckFailed
from .config import Settings, UrlCheck
from .diagnosis import Diagnosis

FIXTURE = "url_check"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class WebsiteCallFailed(CallFailed):
    party = "the website"


@dataclass(frozen=True)
class Certificate:
    """What the handshake showed of the server's certificate."""

    host: str
    not_after: datetime

    def days_left(self, now: datetime) -> int:
        # Whole days, rounded down: "7 days left" is never less than seven days.
        return math.floor((self.not_after - now).total_seconds() / 86400)


# -- the monitor ---------------------------------------------------------------


def url_monitor(
    url_check: UrlCheck, erpwatch_settings: Settings, request: pytest.FixtureRequest
) -> None:
    """The address answers as configured, in time, over a certificate with days to spare."""
    if url_check.latency_threshold is not None:
        request.node.stash[THRESHOLD_KEY] = url_check.latency_threshold
    warning = check_url(url_check, erpwatch_settings)
    if warning is not None:
        request.node.stash[WARNING_KEY] = warning


def check_url(check: UrlCheck, settings: Settings, now: datetime | None = None) -> Diagnosis | None:
    """Raise on what fails the address; the finding that makes it degraded (a
    certificate within the warning window), or None."""
    limits = Limits(settings.erp_timeout, settings.erp_connect_timeout)
    certificate = peer_certificate(check.url, limits) if check.https else None
    session = bounded_session(limits)
    session.headers["User-Agent"] = "erpwatch website check"
    with session:
        call = f"GET {check.url}"
        response = send(session, "GET", check.url, call=call, failure=WebsiteCallFailed)
        if response.status_code != check.expect_status:
            if response.status_code >= 400:
                raise answer_failed(call, response, WebsiteCallFailed)
            raise CheckFailed(
                Category.UNEXPECTED_RESPONSE,
                f"HTTP {response.status_code} where {check.expect_status} was expected",
                url=response.url,
                detail=f"{check.url} answered HTTP {response.status_code}, "
                f"not the expected {check.expect_status}",
            )
        if check.http_url is not None:
            _expect_https_redirect(session, check)
    if check.https and certificate is None:
        # The address answered, but not to erpwatch's own TLS handshake (a network
        # that only lets a proxy through, a dropped connection): its end date is
        # unknown, which is said, not passed over as a certificate with days to spare.
        host = urlsplit(check.url).hostname
        return Diagnosis(
            category=Category.CERTIFICATE,
            reason="the certificate's end date could not be read: the TLS connection "
            f"to {host} itself failed although the address answered",
            call=call_label("GET", check.url),
            method="GET",
            url=check.url,
            status=response.status_code,
            duration_ms=response.elapsed.total_seconds() * 1000,
            error=f"the TLS certificate of {host} was not checked this run",
        )
    if certificate is None:
        return None
    return _certificate_verdict(check, certificate, response, now or datetime.now(UTC))


def _expect_https_redirect(session: requests.Session, check: UrlCheck) -> None:
    http_url = str(check.http_url)
    response = send(
        session,
        "GET",
        http_url,
        call=f"GET {http_url}",
        failure=WebsiteCallFailed,
        allow_redirects=False,
    )
    location = response.headers.get("Location", "")
    target = urlsplit(urljoin(http_url, location)) if location else None
    if (
        response.status_code in _REDIRECTS
        and target is not None
        and target.scheme == "https"
        and target.hostname == urlsplit(check.url).hostname
    ):
        return
    # The server's Location header is its text, of any length: quoted bounded.
    where = f" to {one_line(urljoin(http_url, location), 200)}" if location else ""
    got = f"redirects{where}" if response.status_code in _REDIRECTS else "answers"
    raise CheckFailed(
        Category.UNEXPECTED_RESPONSE,
        f"the http:// address {got} with HTTP {response.status_code} instead of "
        "redirecting to https:// on the same host",
        url=http_url,
        detail=f"{http_url} {got} with HTTP {response.status_code}: "
        "visitors who type the address stay on an unencrypted connection",
    )


def _certificate_verdict(
    check: UrlCheck, certificate: Certificate, response: requests.Response, now: datetime
) -> Diagnosis | None:
    days = certificate.days_left(now)
    date = f"{certificate.not_after:%Y-%m-%d %H:%M} UTC"
    said = f"the TLS certificate of {certificate.host} expires on {date}, in {days} days"
    if days < check.cert_fail_days:
        raise CheckFailed(
            Category.CERTIFICATE,
            f"{days} days left, fewer than the {check.cert_fail_days} allowed (cert_fail_days)",
            url=check.url,
            detail=f"{said}: renew it now",
        )
    if days < check.cert_warn_days:
        return Diagnosis(
            category=Category.CERTIFICATE,
            reason=f"{days} days left, fewer than the {check.cert_warn_days} "
            "of the warning (cert_warn_days)",
            # The call that went over this certificate, as a slow call names its own.
            call=call_label("GET", check.url),
            method="GET",
            url=check.url,
            status=response.status_code,
            duration_ms=response.elapsed.total_seconds() * 1000,
            error=f"{said}: renew it before then",
        )
    return None


# -- the handshake ---------------------------------------------------------------


def peer_certificate(url: str, limits: Limits) -> Certificate | None:
    """The certificate ``url``'s server shows in a verified TLS handshake, with the
    trust requests uses for the call itself (its CA bundle, REQUESTS_CA_BUNDLE).

    A certificate that is not accepted fails the check with the verifier's
    words; no connection at all is left to the call, which then says why."""
    parts = urlsplit(url)
    host = str(parts.hostname)
    port = parts.port or 443
    context = _context(url)
    started = time.monotonic()
    with watched(limits.timeout):  # the handshake has a deadline like any call
        try:
            with socket.create_connection((host, port), timeout=limits.connect_timeout) as raw:
                register_socket(raw)
                raw.settimeout(max(0.1, limits.timeout - (time.monotonic() - started)))
                with context.wrap_socket(raw, server_hostname=host) as tls:
                    seen: dict[str, Any] = tls.getpeercert() or {}
        except ssl.SSLCertVerificationError as error:
            words = error.verify_message or error.reason or str(error)
            raise CheckFailed(
                Category.CERTIFICATE,
                f"the certificate is not accepted: {words}",
                url=url,
                detail=f"the TLS certificate of {host} is not accepted: {words}",
            ) from None
        except ssl.SSLError as error:
            words = error.reason or str(error)
            raise CheckFailed(
                Category.CERTIFICATE,
                f"the TLS handshake failed: {words}",
                url=url,
                detail=f"the TLS handshake with {host}:{port} failed: {words}",
            ) from None
        except OSError:
            return None  # refused, unknown name, time-out: the GET records it as evidence
    not_after = seen.get("notAfter")
    if not isinstance(not_after, str):
        return None
    return Certificate(host, datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC))


def _context(url: str) -> ssl.SSLContext:
    verify = requests.Session().merge_environment_settings(url, {}, None, True, None)["verify"]
    bundle = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
    if Path(bundle).is_dir():
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


# -- wiring helpers (called from the plugin's hooks) ---------------------------------


def parametrize(metafunc: pytest.Metafunc, settings: Settings) -> None:
    """One ``test_url`` per configured address, marked with its process."""
    metafunc.parametrize(
        FIXTURE,
        [
            pytest.param(check, id=check.name, marks=pytest.mark.process(check.process))
            for check in settings.url_checks
        ],
    )


def unconfigured(items: list[pytest.Item]) -> list[pytest.Item]:
    """``test_url`` items without an address: collected where no [[checks.urls]] is set."""
    return [item for item in items if FIXTURE in _fixtures(item) and _address(item) is None]


def not_collected(items: list[pytest.Item], settings: Settings, args: list[Path]) -> str | None:
    """The line that says so when addresses are configured but no collected monitor
    checks them, in a run of all the configured monitors (a run of one file is
    someone's choice)."""
    if not settings.url_checks or any(FIXTURE in _fixtures(item) for item in items):
        return None
    if not all(any(arg == m or arg in m.parents for arg in args) for m in settings.monitors):
        return None
    return (
        f"{settings.config_path.name} has [[checks.urls]] but no monitor checks them: add a "
        "monitor file with 'from erpwatch import url_monitor as test_url' to erpwatch.monitors "
        "(erpwatch's own is monitors/test_websites.py)"
    )


def _fixtures(item: pytest.Item) -> tuple[str, ...]:
    return tuple(getattr(item, "fixturenames", ()))


def _address(item: pytest.Item) -> UrlCheck | None:
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get(FIXTURE) if callspec is not None else None
    return value if isinstance(value, UrlCheck) else None

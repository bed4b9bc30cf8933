"""Credentials stay with their host: a session that carries them never follows
a redirect to another origin (scheme, host and port).

requests drops ``Authorization`` when a redirect changes the host, but not an
API key in another header, not a ``client_secret`` in a body that a 307 or 308
sends again, and not ``Authorization`` when only the port changes to the default
one. So a redirect elsewhere is refused outright, before anything is sent there.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from .redact import SENSITIVE_HEADERS

Origin = tuple[str, str, int | None]


def origin(url: str) -> Origin:
    """``(scheme, host, port)`` with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme)


def shown(url: str) -> str:
    """The origin as people write it: ``https://erp.example:8443``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class RedirectRefused(requests.RequestException):
    """A call carrying credentials was redirected to another origin; not followed."""


def keep_credentials_home(session: requests.Session, *, browsing: bool = False) -> requests.Session:
    """Make ``session`` refuse redirects that leave the origin they were sent to.

    An API client (``browsing=False``) refuses every such redirect: its answer
    must come from the configured host. A client that plays a browser in a shop
    (OCI, a punchout StartPage) follows one as a browser would, unless the next
    hop would still carry a credential: a credential header, or the body a 307
    or 308 sends again (an OCI password, a cXML SharedSecret).

    Checked where requests prepares a redirect's next hop (``rebuild_auth``), so a
    call made with ``allow_redirects=False`` still sees its own 30x answer.
    """
    rebuild_auth = session.rebuild_auth
    if getattr(rebuild_auth, "keeps_credentials_home", False):
        return session

    def checked(prepared: requests.PreparedRequest, response: requests.Response) -> None:
        source, target = str(response.request.url), str(prepared.url)
        rebuild_auth(prepared, response)  # type: ignore[no-untyped-call]
        if origin(target) == origin(source):
            return
        carried = prepared.body or any(
            name.lower() in SENSITIVE_HEADERS and name.lower() != "cookie"
            for name in prepared.headers
        )
        if not browsing or carried:
            raise RedirectRefused(
                f"{response.status_code} redirect to {shown(target)} refused: erpwatch sends "
                f"this call's credentials only to {shown(source)}",
                response=response,
                request=response.request,
            )

    checked.keeps_credentials_home = True  # type: ignore[attr-defined]
    session.rebuild_auth = checked  # type: ignore[method-assign]
    return session

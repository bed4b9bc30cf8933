"""A Business Central API v2.0 client for monitors: OAuth2 token handling,
per-call timeouts, and failures that say which call failed and how."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from ._bc_rules import stored_form
from ._calls import CallFailed, answer_failed, bounded_session, send
from ._http import Limits
from ._origin import keep_credentials_home, origin, shown
from .capture import call_label
from .checks import NotPersisted, expect_same_fields
from .config import ErpSettings
from .redact import Redactor

# Records per page erpwatch asks Business Central for (Prefer: odata.maxpagesize):
# its own default of 20,000 makes pages larger than an answer may be.
PAGE_SIZE = 1000
# A listing that is still sending @odata.nextLink after this many pages is
# broken, not big: Business Central pages at 20,000 records.
MAX_PAGES = 500
# The whole listing may take this many per-call time-outs.
PAGING_TIME_FACTOR = 10


class ErpCallFailed(CallFailed):
    """A call to the ERP (Business Central) that did not give the expected answer."""

    party = "the ERP"


class ErpAuthFailed(ErpCallFailed):
    """The token endpoint refused erpwatch's credentials."""


class ErpClient:
    """Talks to one Business Central company.

    Paths are relative to the company (``customers``, ``salesOrders(…)``)
    unless they start with ``/``, then they are relative to ERP_BASE_URL.
    """

    def __init__(
        self,
        settings: ErpSettings,
        *,
        redactor: Redactor | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self.session = keep_credentials_home(
            bounded_session(Limits(settings.timeout, settings.connect_timeout), session)
        )
        self.session.headers["Accept"] = "application/json"
        self._redactor = redactor
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self._company_id = settings.company_id

    # -- authentication -------------------------------------------------------

    def token(self, *, refresh: bool = False) -> str:
        with self._token_lock:
            if refresh or self._token is None or time.monotonic() >= self._token_expires:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _fetch_token(self) -> None:
        call = call_label("POST", self.settings.token_url)
        response = send(
            self.session,
            "POST",
            self.settings.token_url,
            call=call,
            failure=ErpAuthFailed,
            data={
                "grant_type": "client_credentials",
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret,
                "scope": self.settings.scope,
            },
            timeout=self._timeout(None),
        )
        if response.status_code != 200:
            # Decoded from what capture keeps of a token answer: its OAuth error
            # and description only, as anything else in it may hold a token.
            raise answer_failed(call, response, ErpAuthFailed)
        try:
            payload = response.json()
            token = str(payload["access_token"])
            lifetime = float(payload.get("expires_in", 3599))
        except (ValueError, KeyError, TypeError, RecursionError):
            raise ErpAuthFailed(
                call, status=200, problem="the answer has no access_token"
            ) from None
        if self._redactor is not None:
            self._redactor.add_secret(token)
        self._token = token
        # Renew a minute early so a token never expires in the middle of a call.
        self._token_expires = time.monotonic() + max(lifetime - 60, lifetime / 2)

    # -- raw calls ------------------------------------------------------------

    def _timeout(self, timeout: float | None) -> tuple[float, float]:
        """(connect, total): the call's whole answer must be in within the total."""
        return (self.settings.connect_timeout, timeout or self.settings.timeout)

    def company_id(self) -> str:
        if self._company_id is None:
            companies = self.request("GET", "/companies").json().get("value", [])
            if len(companies) != 1:
                names = ", ".join(str(c.get("name")) for c in companies) or "none"
                raise ErpCallFailed(
                    "GET /companies",
                    status=200,
                    problem=f"set ERP_COMPANY_ID: the ERP has {len(companies)} companies ({names})",
                )
            self._company_id = str(companies[0]["id"])
        return self._company_id

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if path.startswith("/"):
            return self.settings.base_url + path
        return f"{self.settings.base_url}/companies({self.company_id()})/{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        expect: Collection[int] = (200, 201, 204),
    ) -> requests.Response:
        """One call; raises `ErpCallFailed` unless the status is in ``expect``.

        A 401 is answered by renewing the token and sending once more: the
        ERP did not process the first attempt, so even a POST is safe to repeat.
        """
        url = self.url(path)
        call = call_label(method, url)
        if origin(url) != origin(self.settings.base_url):
            # The token is the ERP's: a full URL elsewhere (a link from an answer) gets none.
            raise ErpCallFailed(
                call,
                status=None,
                problem=(
                    f"{shown(url)} is not the ERP's own address ({shown(self.settings.base_url)}); "
                    "erpwatch does not send the ERP's token there"
                ),
            )
        for attempt in (1, 2):
            all_headers = {"Authorization": f"Bearer {self.token(refresh=attempt == 2)}"}
            all_headers.update(headers or {})
            response = send(
                self.session,
                method,
                url,
                call=call,
                failure=ErpCallFailed,
                json=json,
                params=params,
                headers=all_headers,
                timeout=self._timeout(timeout),
            )
            if response.status_code != 401 or attempt == 2:
                break
        if response.status_code not in expect:
            raise answer_failed(call, response, ErpCallFailed)
        return response

    # -- the API's verbs, as a monitor speaks them ----------------------------

    def request_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A call whose answer must be a JSON object; anything else is an unexpected answer."""
        response = self.request(method, path, **kwargs)
        try:
            body = response.json()
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            content_type = response.headers.get("Content-Type", "none")
            raise ErpCallFailed(
                call_label(method, response.url),
                status=response.status_code,
                problem=f"the answer is not a JSON object (Content-Type: {content_type})",
                unexpected_body=True,
            )
        return body

    def create(self, entity_set: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request_json("POST", entity_set, json=body, expect=(201,))

    def read(self, entity_set: str, entity_id: str, *, expand: str | None = None) -> dict[str, Any]:
        params = {"$expand": expand} if expand else None
        return self.request_json("GET", f"{entity_set}({entity_id})", params=params, expect=(200,))

    def read_back(
        self,
        entity_set: str,
        created: Mapping[str, Any],
        *,
        sent: Mapping[str, Any] | None = None,
        fields: Iterable[str] = (),
        find_by: Mapping[str, str] | None = None,
        expand: str | None = None,
    ) -> dict[str, Any]:
        """Prove a write reached the ERP, in one line: read the record back by its id,
        compare ``fields`` with what was ``sent`` (default: the create's answer) and,
        with ``find_by``, find it by its reference too. Returns the stored record.
        """
        record_id = str(created["id"])
        try:
            stored = self.read(entity_set, record_id, expand=expand)
        except ErpCallFailed as error:
            if error.status == 404:
                raise NotPersisted(
                    error.call,
                    f"the ERP accepted the record (id {record_id}) but does not know it when read back",
                    status=404,
                ) from error
            raise
        expect_same_fields(
            sent if sent is not None else created,
            stored,
            fields,
            call=call_label("GET", self.url(f"{entity_set}(…)")),
            stored_as=lambda field, value: stored_form(entity_set, field, value),
        )
        if find_by:
            found = self.find(entity_set, **find_by)
            if [str(record.get("id")) for record in found] != [record_id]:
                criteria = ", ".join(f"{k} = {v!r}" for k, v in find_by.items())
                raise NotPersisted(
                    f"GET /companies(…)/{entity_set}?$filter",
                    f"searching by {criteria} found {len(found)} record(s) instead of the one just created",
                    status=200,
                )
        return stored

    def find(
        self, entity_set: str, *, expand: str | None = None, **equals: str
    ) -> list[dict[str, Any]]:
        """Entities whose fields equal the given values (an OData ``$filter``), from
        every page: Business Central pages large collections (``@odata.nextLink``).
        Values of Code fields are sent as BC keeps them, upper-case."""
        params = {}
        if equals:
            params["$filter"] = " and ".join(
                f"{field} eq '{_odata_text(stored_form(entity_set, field, str(value)))}'"
                for field, value in equals.items()
            )
        if expand:
            params["$expand"] = expand
        found: list[dict[str, Any]] = []
        path: str = entity_set
        query: Mapping[str, str] | None = params
        # Paging has a deadline of its own: a slow ERP must not hold a run for
        # the per-call time-out once per page.
        limit_s = PAGING_TIME_FACTOR * self.settings.timeout
        deadline = time.monotonic() + limit_s
        read: set[str] = set()
        pages = 0
        problem = None
        while problem is None:
            pages += 1
            collection = self.request_json(
                "GET", path, params=query, headers=_PAGE_SIZE_HEADER, expect=(200,)
            )
            value = collection.get("value")
            if not isinstance(value, list):
                raise ErpCallFailed(
                    call_label("GET", self.url(path)),
                    status=200,
                    problem="the answer has no 'value' list",
                    unexpected_body=True,
                )
            found += value
            next_link = collection.get("@odata.nextLink")
            if next_link is None:
                return found
            read.add(self.url(path) if query is None else path)
            path, query = self._next_page(entity_set, next_link), None
            if path in read:
                problem = "its @odata.nextLink leads back to a page already read (a paging loop)"
            elif not value:
                problem = "an empty page still sends @odata.nextLink"
            elif pages >= MAX_PAGES:
                problem = f"it still sends @odata.nextLink after {pages} pages"
            elif time.monotonic() > deadline:
                problem = f"it still sends @odata.nextLink after {limit_s:g} s of paging"
        raise ErpCallFailed(
            call_label("GET", self.url(entity_set)),
            status=200,
            problem=(
                f"stopped listing after {pages} pages and {len(found)} records: {problem}, "
                "so the list would be incomplete"
            ),
            unexpected_body=True,
        )

    def _next_page(self, entity_set: str, next_link: object) -> str:
        """The next page's URL, only if it is on the ERP's own origin: the token goes nowhere else."""
        base = urlsplit(self.settings.base_url)
        link = urlsplit(str(next_link)) if isinstance(next_link, str) else None
        if link is None or (link.scheme, link.netloc) != (base.scheme, base.netloc):
            raise ErpCallFailed(
                call_label("GET", self.url(entity_set)),
                status=200,
                problem=(
                    f"the next-page link {str(next_link)[:200]!r} is not on the ERP's own address "
                    f"({base.scheme}://{base.netloc}); erpwatch does not send the ERP's token there"
                ),
                unexpected_body=True,
            )
        return str(next_link)

    def delete(self, entity_set: str, entity: Mapping[str, Any]) -> None:
        """Delete with the entity's own etag, so a concurrent change is not overwritten."""
        etag = str(entity.get("@odata.etag") or "*")
        self.request(
            "DELETE", f"{entity_set}({entity['id']})", headers={"If-Match": etag}, expect=(204,)
        )


_PAGE_SIZE_HEADER = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}


def _odata_text(value: str) -> str:
    return value.replace("'", "''")

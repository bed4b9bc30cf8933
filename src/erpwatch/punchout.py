"""Clients for a shop's B2B punchout, for monitors: cXML (setup, StartPage,
OrderRequest) and OCI (catalog and the NEW_ITEM-* transfer)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin

import requests
from lxml import html as lxml_html

from . import cxml
from .capture import call_label
from .config import OciSettings, PunchoutSettings
from .erp import ErpCallFailed, answer_failed, wire_problem

# UN/CEFACT Recommendation 20 codes shops commonly send in NEW_ITEM-UNIT.
ISO_UNITS = frozenset(
    {"PCE", "EA", "C62", "H87", "PR", "SET", "BX", "PK", "KGM", "GRM", "MTR", "LTR", "MTK", "HUR"}
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DECIMAL_POINT = re.compile(r"^\d+(\.\d+)?$")


def _send(
    session: requests.Session, method: str, url: str, call: str, **kwargs: object
) -> requests.Response:
    try:
        return session.request(method, url, timeout=(5, 30), **kwargs)  # type: ignore[arg-type]
    except requests.RequestException as error:
        raise ErpCallFailed(call, status=None, problem=wire_problem(error)) from error


class PunchoutClient:
    def __init__(self, settings: PunchoutSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.party = cxml.Party(
            settings.from_domain, settings.from_identity, settings.shared_secret
        )

    def _post(self, url: str, document: bytes, message: str) -> cxml.Answer:
        call = f"{message} ({call_label('POST', url)})"
        response = _send(
            self.session,
            "POST",
            url,
            call,
            data=document,
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        if response.status_code != 200:
            raise answer_failed(call, response)
        try:
            answer = cxml.parse_answer(response.content)
        except ValueError as error:
            raise ErpCallFailed(
                call, status=200, problem=str(error), unexpected_body=True
            ) from None
        if not answer.ok:
            # cXML says what went wrong inside an HTTP 200.
            detail = f"{answer.text}: {answer.detail}" if answer.detail else answer.text
            raise ErpCallFailed(
                call, status=200, erp_code=f"cXML {answer.code}", erp_message=detail
            )
        return answer

    def setup(self, buyer_cookie: str, browser_form_post: str) -> str:
        """A PunchOutSetupRequest; the StartPage URL the shop answers with."""
        document = cxml.punchout_setup_request(self.party, buyer_cookie, browser_form_post)
        answer = self._post(self.settings.setup_url, document, "PunchOutSetupRequest")
        if not answer.start_page:
            raise ErpCallFailed(
                f"PunchOutSetupRequest ({call_label('POST', self.settings.setup_url)})",
                status=200,
                problem="the PunchOutSetupResponse has no StartPage URL",
                unexpected_body=True,
            )
        return answer.start_page

    def open(self, start_page: str) -> str:
        """The StartPage, as the buyer's browser opens it."""
        call = call_label("GET", start_page)
        response = _send(self.session, "GET", start_page, call)
        if response.status_code != 200:
            raise answer_failed(call, response)
        return response.text

    def order(self, order_id: str, lines: Sequence[cxml.OrderLine]) -> None:
        """An OrderRequest (a purchase order from the buyer's procurement system)."""
        self._post(
            self.settings.order_url, cxml.order_request(self.party, order_id, lines), "OrderRequest"
        )


def _page(text: str) -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(text)


class OciClient:
    def __init__(self, settings: OciSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()

    def transfer(self, hook_url: str) -> dict[str, str]:
        """Open the catalog, check out, and return the NEW_ITEM-* fields the shop sends back."""
        params = {
            "USERNAME": self.settings.username,
            "PASSWORD": self.settings.password,
            "HOOK_URL": hook_url,
        }
        call = call_label("GET", self.settings.url)
        catalog = _send(self.session, "GET", self.settings.url, call, params=params)
        if catalog.status_code != 200:
            raise answer_failed(call, catalog)
        forms = _page(catalog.text).forms
        checkout = next((f for f in forms if f.get("id") == "checkout"), None)
        if checkout is None:
            raise ErpCallFailed(
                call, status=200, problem="the catalog has no checkout form", unexpected_body=True
            )
        action = urljoin(catalog.url, checkout.action or "")
        call = call_label("POST", action)
        transfer = _send(self.session, "POST", action, call, data=dict(checkout.form_values()))
        if transfer.status_code != 200:
            raise answer_failed(call, transfer)
        page = _page(transfer.text)
        posted = next((f for f in page.forms if (f.action or "") == hook_url), None)
        if posted is None:
            raise ErpCallFailed(
                call,
                status=200,
                problem=f"the transfer form does not post to HOOK_URL {hook_url}",
                unexpected_body=True,
            )
        return {name: str(value) for name, value in posted.form_values()}


def oci_problems(fields: Mapping[str, str], line: int = 1) -> dict[str, tuple[str, str]]:
    """What is wrong with one transferred OCI line: field → (expected, got)."""

    def value(name: str) -> str:
        return fields.get(f"NEW_ITEM-{name}[{line}]", "").strip()

    problems: dict[str, tuple[str, str]] = {}
    for name in ("DESCRIPTION", "VENDORMAT"):
        if not value(name):
            problems[f"NEW_ITEM-{name}[{line}]"] = ("a value", "nothing")
    quantity = value("QUANTITY")
    try:
        if Decimal(quantity) <= 0:
            raise InvalidOperation
    except InvalidOperation:
        problems[f"NEW_ITEM-QUANTITY[{line}]"] = ("a positive number", quantity or "nothing")
    if value("UNIT") not in ISO_UNITS:
        problems[f"NEW_ITEM-UNIT[{line}]"] = (
            "an ISO unit code (e.g. PCE)",
            value("UNIT") or "nothing",
        )
    if not _DECIMAL_POINT.match(value("PRICE")):
        problems[f"NEW_ITEM-PRICE[{line}]"] = (
            "a decimal with a point (1000.80)",
            value("PRICE") or "nothing",
        )
    if not _CURRENCY.match(value("CURRENCY")):
        problems[f"NEW_ITEM-CURRENCY[{line}]"] = (
            "an ISO 4217 currency (EUR)",
            value("CURRENCY") or "nothing",
        )
    return problems

"""Clients for a shop's B2B punchout, for monitors: cXML (setup, StartPage,
OrderRequest) and OCI (catalogue, basket and the NEW_ITEM-* transfer to SAP)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cache
from importlib import resources
from urllib.parse import urljoin, urlsplit

import requests
from lxml import html as lxml_html

from . import cxml
from ._calls import CallFailed, answer_failed, bounded_session, party_error, send
from ._http import Limits
from ._origin import keep_credentials_home
from .capture import call_label
from .config import OciSettings, PunchoutSettings


class PunchoutCallFailed(CallFailed):
    """A call to the shop's punchout (cXML or OCI) that did not give the expected
    answer; a cXML Status of 400 or more inside an HTTP 200 is a failure too."""

    party = "the punchout shop"


@cache
def unit_codes() -> frozenset[str]:
    """UN/ECE Rec 20 common codes and the older ISO codes SAP still ships (source in the file)."""
    text = resources.files("erpwatch.oci_data").joinpath("unit_codes.txt").read_text("utf-8")
    return frozenset(code for line in text.splitlines() for code in line.split("#", 1)[0].split())


_UNIT_FORMAT = re.compile(r"^[0-9A-Za-z]{1,3}$")  # OCI's UNIT is CHAR 3, as SAP's ISO code
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# OCI: a decimal point, at most 11 digits before it and 3 after (QUANTITY and PRICE, CHAR 15).
_OCI_DECIMAL = re.compile(r"^\d{1,11}(\.\d{1,3})?$")
_WHOLE = re.compile(r"^\d{1,5}$")  # LEADTIME, in days
_LINE = re.compile(r"^NEW_ITEM-[A-Z_]+\[(\d+)\]$")
# OCI names the item in one of these; VENDORMAT is optional (real shops send EXT_PRODUCT_ID).
ITEM_IDS = ("VENDORMAT", "MANUFACTMAT", "EXT_PRODUCT_ID", "MATNR")


class PunchoutClient:
    def __init__(self, settings: PunchoutSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = keep_credentials_home(
            bounded_session(Limits(settings.timeout, settings.connect_timeout), session),
            browsing=True,
        )
        self.party = cxml.Party.from_settings(settings)

    def _post(self, url: str, document: bytes, message: str) -> cxml.Answer:
        call = f"{message} ({call_label('POST', url)})"
        response = send(
            self.session,
            "POST",
            url,
            call=call,
            failure=PunchoutCallFailed,
            data=document,
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        if response.status_code != 200:
            raise answer_failed(call, response, PunchoutCallFailed)
        try:
            answer = cxml.parse_answer(response.content)
        except ValueError as unreadable:
            raise PunchoutCallFailed(
                call, status=200, problem=str(unreadable), unexpected_body=True
            ) from None
        if not answer.ok:
            # cXML says what went wrong inside an HTTP 200; its words as the diagnosis reads them.
            said = party_error(response)
            if said is None:
                raise PunchoutCallFailed(call, status=200, code=f"cXML {answer.code}")
            words = [w for w in (said.message, said.detail) if w]
            raise PunchoutCallFailed(
                call,
                status=200,
                code=f"cXML {said.code}",
                message=": ".join(words) or None,
                error=said,
            )
        return answer

    def setup(self, buyer_cookie: str, browser_form_post: str) -> str:
        """A PunchOutSetupRequest; the StartPage URL the shop answers with."""
        document = cxml.punchout_setup_request(
            self.party,
            buyer_cookie,
            browser_form_post,
            ship_to=self.settings.ship_to,
            user_email=self.settings.user_email,
        )
        answer = self._post(self.settings.setup_url, document, "PunchOutSetupRequest")
        if not answer.start_page:
            raise PunchoutCallFailed(
                f"PunchOutSetupRequest ({call_label('POST', self.settings.setup_url)})",
                status=200,
                problem="the PunchOutSetupResponse has no StartPage URL",
                unexpected_body=True,
            )
        return answer.start_page

    def open(self, start_page: str) -> str:
        """The StartPage, as the buyer's browser opens it."""
        call = call_label("GET", start_page)
        response = send(self.session, "GET", start_page, call=call, failure=PunchoutCallFailed)
        if response.status_code != 200:
            raise answer_failed(call, response, PunchoutCallFailed)
        return response.text

    def order(self, order_id: str, lines: Sequence[cxml.OrderLine]) -> None:
        """An OrderRequest (a purchase order from the buyer's procurement system)."""
        document = cxml.order_request(
            self.party,
            order_id,
            lines,
            ship_to=self.settings.ship_to,
            bill_to=self.settings.bill_to,
            currency=self.settings.currency,
            user_email=self.settings.user_email,
        )
        self._post(self.settings.order_url, document, "OrderRequest")


# The form that starts a shop's transfer, when [punchout.oci] transfer_form is not set:
# one whose action names a checkout, a transfer or a punchout, as common shops do.
DEFAULT_TRANSFER_FORM = (
    "//form[contains(translate(@action, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), 'checkout')"
    " or contains(translate(@action, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), 'transfer')"
    " or contains(translate(@action, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), 'punchout')]"
)
_QUANTITY_FIELD = re.compile(r"(^|[^a-z])(qty|quantity|menge|amount|count)([^a-z]|$)", re.I)


def _page(response: requests.Response) -> lxml_html.HtmlElement:
    # With the page's URL as base, a form's action reads as the absolute URL it posts to.
    return lxml_html.document_fromstring(response.content, base_url=response.url)


def _same_url(one: str, other: str) -> bool:
    a, b = urlsplit(one.strip()), urlsplit(other.strip())
    return (a.scheme.lower(), a.netloc.lower(), a.path or "/", a.query) == (
        b.scheme.lower(),
        b.netloc.lower(),
        b.path or "/",
        b.query,
    )


def _form_data(form: lxml_html.FormElement) -> list[tuple[str, str]]:
    """What a browser sends for a form: its fields and the first named submit button."""
    data = [(name, str(value)) for name, value in form.form_values()]
    for button in form.xpath(".//button[@name] | .//input[@type='submit'][@name]"):
        if button.get("type", "submit").lower() == "submit":
            data.append((button.get("name", ""), button.get("value", "")))
            break
    return data


class OciClient:
    """Plays the SAP buyer: calls the catalogue as SAP does, puts the test item in the
    basket and checks out, up to the page whose form posts NEW_ITEM-* to the HOOK_URL."""

    def __init__(self, settings: OciSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = keep_credentials_home(
            bounded_session(Limits(settings.timeout, settings.connect_timeout), session),
            browsing=True,
        )

    def _request(
        self, method: str, url: str, data: Iterable[tuple[str, str]] = ()
    ) -> requests.Response:
        call = call_label(method, url)
        payload = list(data)
        if method == "GET":
            response = send(
                self.session,
                "GET",
                url,
                call=call,
                failure=PunchoutCallFailed,
                params=payload or None,
            )
        else:
            response = send(
                self.session, "POST", url, call=call, failure=PunchoutCallFailed, data=payload
            )
        if response.status_code != 200:
            raise answer_failed(call, response, PunchoutCallFailed)
        return response

    def _step(self, spec: str, base: str) -> requests.Response:
        """A configured '[GET|POST] URL' step, relative to the page the buyer is on."""
        method, _, url = spec.rpartition(" ")
        url = url.format(item=self.settings.item, quantity=self.settings.quantity)
        return self._request(method.strip().upper() or "GET", urljoin(base, url))

    def _submit(
        self, form: lxml_html.FormElement, data: list[tuple[str, str]]
    ) -> requests.Response:
        method = (form.method or "GET").upper()
        # A form without an action posts to the page it is on, as a browser does.
        target = form.action or form.base_url or ""
        return self._request("POST" if method == "POST" else "GET", target, data)

    def _transfer_fields(self, response: requests.Response, hook_url: str) -> dict[str, str] | None:
        # What SAP relies on: the browser posts the form whose action is the HOOK_URL.
        for form in _page(response).forms:
            if _same_url(form.action or "", hook_url):
                return {name: str(value) for name, value in form.form_values()}
        return None

    def catalogue_call(self, hook_url: str) -> list[tuple[str, str]]:
        """The catalogue parameters SAP sends (SAP's catalogue customising)."""
        settings = self.settings
        return [
            *settings.parameters.items(),
            (settings.username_field, settings.username),
            (settings.password_field, settings.password),
            (settings.hook_field, hook_url),
            ("~OkCode", "ADDI"),  # "add items to the shopping basket"
            ("~TARGET", "_top"),  # the frame the transfer returns to
            ("~CALLER", "CTLG"),  # called as an external catalogue
        ]

    def transfer(self, hook_url: str) -> dict[str, str]:
        """Open the catalogue, put the test item in the basket, check out; return the
        fields the shop's transfer form posts to HOOK_URL."""
        settings = self.settings
        response = self._request(settings.method, settings.url, self.catalogue_call(hook_url))
        fields = self._transfer_fields(response, hook_url)
        if fields is not None:
            return fields
        response = self._add_to_basket(response)
        fields = self._transfer_fields(response, hook_url)
        if fields is not None:
            return fields
        response = self._start_transfer(response)
        fields = self._transfer_fields(response, hook_url)
        if fields is None:
            raise PunchoutCallFailed(
                call_label(response.request.method or "POST", response.url),
                status=200,
                problem=f"the transfer page has no form that posts to HOOK_URL {hook_url}",
                unexpected_body=True,
            )
        return fields

    def _add_to_basket(self, response: requests.Response) -> requests.Response:
        settings = self.settings
        if settings.add_to_basket:
            return self._step(settings.add_to_basket, response.url)
        # The item's own form: the one that carries the item number, as a product form does.
        for form in _page(response).forms:
            data = _form_data(form)
            if any(value == settings.item for _, value in data):
                data = [
                    (name, str(settings.quantity) if _QUANTITY_FIELD.search(name) else value)
                    for name, value in data
                ]
                return self._submit(form, data)
        raise PunchoutCallFailed(
            call_label(response.request.method or "GET", response.url),
            status=200,
            problem=f"no form on this page carries test item {settings.item}, so it cannot be put "
            "in the basket; set [punchout.oci] item or add_to_basket",
            unexpected_body=True,
        )

    def _start_transfer(self, response: requests.Response) -> requests.Response:
        settings = self.settings
        if settings.transfer_url:
            return self._step(settings.transfer_url, response.url)
        selector = settings.transfer_form or DEFAULT_TRANSFER_FORM
        forms = _page(response).xpath(selector)
        if not forms or not isinstance(forms[0], lxml_html.FormElement):
            raise PunchoutCallFailed(
                call_label(response.request.method or "GET", response.url),
                status=200,
                problem="the basket has no form that starts the transfer (checked: "
                f"{'transfer_form ' + selector if settings.transfer_form else 'a form posting to a checkout, transfer or punchout address'}); "
                "set [punchout.oci] transfer_form or transfer_url",
                unexpected_body=True,
            )
        return self._submit(forms[0], _form_data(forms[0]))

    def problems(self, fields: Mapping[str, str]) -> dict[str, tuple[str, str]]:
        return oci_problems(fields, extra_units=self.settings.units)


def oci_lines(fields: Mapping[str, str]) -> list[int]:
    """The line numbers a transfer carries (NEW_ITEM-…[n])."""
    return sorted({int(m.group(1)) for name in fields if (m := _LINE.match(name))})


def oci_problems(
    fields: Mapping[str, str], extra_units: Iterable[str] = ()
) -> dict[str, tuple[str, str]]:
    """What SAP would refuse in an OCI transfer, line by line: field → (expected, got).

    Checked as OCI 4.0/5.0 defines the fields: DESCRIPTION, QUANTITY, UNIT, PRICE and
    CURRENCY on every line, the item named in at least one of VENDORMAT, MANUFACTMAT,
    EXT_PRODUCT_ID or MATNR; PRICEUNIT and LEADTIME when present. No line at all is
    reported as an empty line 1.
    """
    units = unit_codes() | {u.upper() for u in extra_units}
    problems: dict[str, tuple[str, str]] = {}
    for line in oci_lines(fields) or [1]:

        def value(name: str, line: int = line) -> str:
            return fields.get(f"NEW_ITEM-{name}[{line}]", "").strip()

        def report(name: str, expected: str, line: int = line) -> None:
            problems[f"NEW_ITEM-{name}[{line}]"] = (expected, value(name) or "nothing")

        if not value("DESCRIPTION"):
            report("DESCRIPTION", "a value")
        if not any(value(name) for name in ITEM_IDS):
            report("EXT_PRODUCT_ID", f"the item's number in one of {', '.join(ITEM_IDS)}")
        quantity = value("QUANTITY")
        if not _OCI_DECIMAL.match(quantity) or Decimal(quantity) <= 0:
            report("QUANTITY", "a positive number with a decimal point (1.000)")
        unit = value("UNIT")
        if not _UNIT_FORMAT.match(unit) or unit.upper() not in units:
            report("UNIT", "an ISO unit code (UN/ECE Rec 20, e.g. PCE, EA, C62)")
        if not _OCI_DECIMAL.match(value("PRICE")):
            report("PRICE", "a decimal with a point (1000.80)")
        if not _CURRENCY.match(value("CURRENCY")):
            report("CURRENCY", "an ISO 4217 currency (EUR)")
        price_unit = value("PRICEUNIT")
        if price_unit and not (_OCI_DECIMAL.match(price_unit) and Decimal(price_unit) > 0):
            report("PRICEUNIT", "a positive number (1)")
        lead_time = value("LEADTIME")
        if lead_time and not _WHOLE.match(lead_time):
            report("LEADTIME", "a whole number of days")
    return problems

"""The sandbox's B2B shop: cXML punchout (setup, StartPage, OrderRequest → ERP
sales order) and an OCI catalog whose checkout posts NEW_ITEM-* fields back.

Documents are parsed and built with lxml; what comes in is checked against
the official cXML DTD, and what goes out is valid against it too."""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from lxml import etree

from .business_central import BcError, BusinessCentral

SYSTEM_ID = "http://xml.cxml.org/schemas/cXML/1.2.063/cXML.dtd"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
BUYER_CUSTOMER = "C00020"  # the demo company's B2B customer that buys through punchout


@cache
def _dtd() -> etree.DTD:
    path = resources.files("erpwatch.cxml_data").joinpath("cXML.dtd")
    with resources.as_file(path) as local:
        return etree.DTD(str(local))


@dataclass(frozen=True)
class BuyerCredentials:
    domain: str = "NetworkID"
    identity: str = "AN01000000001"
    shared_secret: str = "sandbox-punchout-secret"
    oci_username: str = "buyer"
    oci_password: str = "sandbox-oci-password"


@dataclass
class Session:
    buyer_cookie: str
    hook: str
    created: datetime


@dataclass
class PunchoutShop:
    erp: BusinessCentral
    fault: Callable[[str], bool]  # is a shop fault of this kind on (and used up)?
    now: Callable[[], datetime]
    buyer: BuyerCredentials = field(default_factory=BuyerCredentials)
    session_ttl: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.sessions: dict[str, Session] = {}

    # -- cXML documents ------------------------------------------------------------

    def _response(
        self, code: int, text: str, detail: str = "", start_page: str | None = None
    ) -> bytes:
        root = etree.Element("cXML", payloadID=f"{secrets.token_hex(8)}@erpwatch-sandbox",
                             timestamp=self.now().isoformat(timespec="seconds"))  # fmt: skip
        root.set(XML_LANG, "en-US")
        response = etree.SubElement(root, "Response")
        status = etree.SubElement(response, "Status", code=str(code), text=text)
        if detail:
            status.text = detail
        if start_page is not None:
            page = etree.SubElement(
                etree.SubElement(response, "PunchOutSetupResponse"), "StartPage"
            )
            etree.SubElement(page, "URL").text = start_page
        body: bytes = etree.tostring(root, encoding="UTF-8")
        return (
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + f'<!DOCTYPE cXML SYSTEM "{SYSTEM_ID}">\n'.encode()
            + body
        )

    def _request(self, body: bytes, kind: str) -> etree._Element | bytes:
        """The parsed request, or the cXML error answer to send back."""
        try:
            root = etree.fromstring(
                body, etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
            )
        except etree.XMLSyntaxError as error:
            return self._response(400, "Bad Request", f"Malformed cXML: {error}")
        schema = _dtd()
        if not schema.validate(root):
            first = str(schema.error_log).splitlines()[0].split(":ERROR:", 1)[-1]
            return self._response(400, "Bad Request", f"Invalid cXML: {first}")
        if root.find(f"Request/{kind}") is None:
            return self._response(400, "Bad Request", f"Expected a {kind}.")
        sender = root.find("Header/Sender/Credential")
        identity = root.findtext("Header/From/Credential/Identity")
        secret = sender.findtext("SharedSecret") if sender is not None else None
        if self.fault("shared_secret_rejected") or (identity, secret) != (
            self.buyer.identity,
            self.buyer.shared_secret,
        ):
            return self._response(401, "Unauthorized", f"Invalid credentials for {identity}.")
        return root

    def setup(self, body: bytes, root_url: str) -> tuple[int, bytes, str]:
        parsed = self._request(body, "PunchOutSetupRequest")
        if isinstance(parsed, bytes):
            return 200, parsed, "text/xml"
        if self.fault("malformed_cxml"):
            return (
                200,
                b'<?xml version="1.0"?><cXML><Response><Status code="200" text="OK">',
                "text/xml",
            )
        request = parsed.find("Request/PunchOutSetupRequest")
        assert request is not None
        cookie = request.findtext("BuyerCookie")
        if not cookie or self.fault("no_buyer_cookie"):
            return 200, self._response(400, "Bad Request", "BuyerCookie is missing."), "text/xml"
        hook = request.findtext("BrowserFormPost/URL") or ""
        token = secrets.token_urlsafe(12)
        with self._lock:
            self.sessions[token] = Session(cookie, hook, self.now())
        if self.fault("no_start_page"):
            return 200, self._response(200, "OK"), "text/xml"
        return (
            200,
            self._response(200, "OK", start_page=f"{root_url}/punchout/start/{token}"),
            "text/xml",
        )

    def start_page(self, token: str) -> tuple[int, str, str]:
        with self._lock:
            session = self.sessions.get(token)
        if (
            session is None
            or self.fault("start_page_expired")
            or self.now() - session.created > self.session_ttl
        ):
            page = "<!DOCTYPE html><html><head><title>Session expired</title></head><body><h1>Your punchout session has expired</h1></body></html>"
            return 410, page, "text/html"
        if self.fault("start_page_error"):
            return 500, "Catalog error: template 'catalog.twig' not found", "text/plain"
        return (
            200,
            self._catalog(
                f"<p>Punchout session for buyer cookie {html.escape(session.buyer_cookie)}</p>"
            ),
            "text/html",
        )

    def _catalog(self, intro: str, form: str = "") -> str:
        rows = "".join(
            f"<tr><td>{html.escape(item['number'])}</td><td>{html.escape(item['displayName'])}</td>"
            f"<td>{item['unitPrice']:.2f} EUR</td></tr>"
            for item in self.erp.list(self.erp.default_company_id, "items")
            if not item["blocked"]
        )
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Catalog</title></head><body>"
            f"<h1>Catalog</h1>{intro}<table id='catalog'>{rows}</table>{form}</body></html>"
        )

    def order(self, body: bytes) -> tuple[int, bytes, str]:
        parsed = self._request(body, "OrderRequest")
        if isinstance(parsed, bytes):
            return 200, parsed, "text/xml"
        header = parsed.find("Request/OrderRequest/OrderRequestHeader")
        assert header is not None
        order_id = header.get("orderID", "")
        lines: list[dict[str, Any]] = []
        for item in parsed.iterfind("Request/OrderRequest/ItemOut"):
            quantity = float(item.get("quantity", "0"))
            lines.append(
                {
                    "lineType": "Item",
                    "lineObjectNumber": item.findtext("ItemID/SupplierPartID") or "",
                    "quantity": int(quantity) if quantity.is_integer() else quantity,
                }
            )
        if not self.fault("order_not_in_erp"):
            try:
                self.erp.create(
                    self.erp.default_company_id,
                    "salesOrders",
                    {
                        "externalDocumentNumber": order_id,
                        "customerNumber": BUYER_CUSTOMER,
                        "salesOrderLines": lines,
                    },
                )
            except BcError as error:
                return (
                    200,
                    self._response(
                        500, "Internal Server Error", f"The ERP refused the order: {error.message}"
                    ),
                    "text/xml",
                )
        return 200, self._response(200, "OK"), "text/xml"

    # -- OCI -----------------------------------------------------------------------

    def oci_catalog(self, args: dict[str, str]) -> tuple[int, str, str]:
        if (args.get("USERNAME"), args.get("PASSWORD")) != (
            self.buyer.oci_username,
            self.buyer.oci_password,
        ):
            return (
                401,
                "<!DOCTYPE html><html><head><title>Login failed</title></head><body><h1>Login failed</h1></body></html>",
                "text/html",
            )
        hook = args.get("HOOK_URL", "")
        if not hook.startswith(("http://", "https://")):
            return 400, "HOOK_URL is missing or not a URL", "text/plain"
        token = secrets.token_urlsafe(12)
        with self._lock:
            self.sessions[token] = Session("", hook, self.now())
        form = (
            f"<form id='checkout' method='post' action='/oci/checkout'>"
            f"<input type='hidden' name='session' value='{token}'>"
            "<input name='item' value='1896-S'><input name='quantity' value='2'>"
            "<button>Transfer to purchasing</button></form>"
        )
        return 200, self._catalog("<p>OCI catalog</p>", form), "text/html"

    def oci_checkout(self, form: dict[str, str]) -> tuple[int, str, str]:
        with self._lock:
            session = self.sessions.get(form.get("session", ""))
        if session is None:
            return 410, "Session expired", "text/plain"
        company = self.erp.default_company_id
        item = next(
            (i for i in self.erp.list(company, "items") if i["number"] == form.get("item")), None
        )
        if item is None:
            return 400, f"Unknown item {form.get('item')}", "text/plain"
        price = f"{item['unitPrice']:.2f}"
        if self.fault("oci_decimal_comma"):
            price = (
                f"{item['unitPrice']:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
            )
        fields: dict[str, Any] = {
            "NEW_ITEM-DESCRIPTION[1]": item["displayName"],
            "NEW_ITEM-QUANTITY[1]": form.get("quantity", "1"),
            "NEW_ITEM-UNIT[1]": "Stück" if self.fault("oci_unit_not_iso") else "PCE",
            "NEW_ITEM-PRICE[1]": price,
            "NEW_ITEM-CURRENCY[1]": "EUR",
            "NEW_ITEM-VENDORMAT[1]": item["number"],
        }
        if self.fault("oci_no_currency"):
            del fields["NEW_ITEM-CURRENCY[1]"]
        inputs = "".join(
            f"<input type='hidden' name='{html.escape(name)}' value='{html.escape(str(value))}'>"
            for name, value in fields.items()
        )
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Transfer</title></head>"
            "<body onload='document.forms[0].submit()'>"
            f"<form method='post' action='{html.escape(session.hook)}'>{inputs}<button>Continue</button></form></body></html>"
        )
        return 200, page, "text/html"

"""The sandbox's B2B shop, shaped like a real one.

cXML: PunchOutSetupRequest → StartPage, OrderRequest → ERP sales order. It checks
what strict suppliers check: the DTD, the From, To and Sender credentials and the
shared secret, a ShipTo address, and it keeps test orders (deploymentMode="test")
out of its ERP, as a shop configured so does.

OCI: SAP calls the catalogue with USERNAME, PASSWORD, HOOK_URL and ~OkCode=ADDI;
the buyer puts items in a basket and checks out; the shop answers with a page
whose form, submitted by script, posts NEW_ITEM-* fields to the HOOK_URL, shaped
like a captured real transfer (tests/data/oci/real_world.html): EXT_PRODUCT_ID and
MANUFACTMAT, unit PCE, zero-padded prices, a long text per line.

Documents are parsed and built with lxml; what comes in is checked against the
official cXML DTD, and what goes out is valid against it too."""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from .business_central import BcError, BusinessCentral
from .faults import FaultKind

SYSTEM_ID = "http://xml.cxml.org/schemas/cXML/1.2.063/cXML.dtd"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
BUYER_CUSTOMER = "C00020"  # the demo company's B2B customer that buys through punchout
SESSION_COOKIE = "shop_session"


@cache
def _dtd() -> etree.DTD:
    path = resources.files("erpwatch.cxml_data").joinpath("cXML.dtd")
    with resources.as_file(path) as local:
        return etree.DTD(str(local))


@dataclass(frozen=True)
class BuyerCredentials:
    """The buyer as the shop knows it, and the shop's own cXML identity."""

    domain: str = "NetworkID"
    identity: str = "AN01000000001"
    shared_secret: str = "sandbox-punchout-secret"
    supplier_domain: str = "NetworkID"
    supplier_identity: str = "AN02000000042"
    oci_username: str = "buyer"
    oci_password: str = "sandbox-oci-password"


@dataclass
class Session:
    buyer_cookie: str
    hook: str
    created: datetime
    basket: dict[str, Decimal] = field(default_factory=dict)  # item number → quantity
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Page:
    """An HTTP answer of the shop."""

    status: int
    body: str | bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def _html(status: int, title: str, body: str, headers: tuple[tuple[str, str], ...] = ()) -> Page:
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
    )
    return Page(status, page, "text/html", headers)


def _redirect(location: str, cookie: str | None = None) -> Page:
    headers = [("Location", location)]
    if cookie is not None:
        headers.append(("Set-Cookie", f"{SESSION_COOKIE}={cookie}; Path=/; HttpOnly"))
    return Page(303, "", "text/plain", tuple(headers))


def _oci_number(value: Decimal) -> str:
    """As the captured shop sends QUANTITY and PRICE: 11 digits, a point, 3 decimals."""
    return f"{value:015.3f}"


@dataclass
class PunchoutShop:
    erp: BusinessCentral
    fault: Callable[[FaultKind], bool]  # is a shop fault of this kind on (and used up)?
    now: Callable[[], datetime]
    buyer: BuyerCredentials = field(default_factory=BuyerCredentials)
    session_ttl: timedelta = timedelta(minutes=10)
    # What the shop does with deploymentMode="test": "ignore" (answer OK, keep it out of
    # the ERP, as shops that separate test traffic do), "accept" or "reject".
    test_orders: str = "ignore"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.ignored_test_orders: list[str] = []

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

    def _credentials_problem(self, root: etree._Element) -> str | None:
        """Why the header does not authenticate this buyer to this shop, or None."""
        buyer = self.buyer

        def matches(path: str, domain: str, identity: str) -> bool:
            credentials = root.findall(f"Header/{path}/Credential")
            # Domains are written NetworkID and NetworkId alike; identities are exact.
            return any(
                c.get("domain", "").lower() == domain.lower()
                and (c.findtext("Identity") or "").strip() == identity
                for c in credentials
            )

        from_identity = root.findtext("Header/From/Credential/Identity")
        if not matches("From", buyer.domain, buyer.identity):
            return f"Unknown buyer {from_identity} (From)."
        if not matches("To", buyer.supplier_domain, buyer.supplier_identity):
            to = root.findtext("Header/To/Credential/Identity")
            return f"This document is addressed to {to} (To), not to this supplier."
        sender = root.find("Header/Sender/Credential")
        secret = sender.findtext("SharedSecret") if sender is not None else None
        if (
            self.fault(FaultKind.SHARED_SECRET_REJECTED)
            or not matches("Sender", buyer.domain, buyer.identity)
            or secret != buyer.shared_secret
        ):
            return f"Invalid credentials for {from_identity}."
        return None

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
        problem = self._credentials_problem(root)
        if problem:
            return self._response(401, "Unauthorized", problem)
        return root

    def setup(self, body: bytes, root_url: str) -> tuple[int, bytes, str]:
        parsed = self._request(body, "PunchOutSetupRequest")
        if isinstance(parsed, bytes):
            return 200, parsed, "text/xml"
        if self.fault(FaultKind.MALFORMED_CXML):
            return (
                200,
                b'<?xml version="1.0"?><cXML><Response><Status code="200" text="OK">',
                "text/xml",
            )
        request = parsed.find("Request/PunchOutSetupRequest")
        assert request is not None
        cookie = request.findtext("BuyerCookie")
        if not cookie or self.fault(FaultKind.NO_BUYER_COOKIE):
            return 200, self._response(400, "Bad Request", "BuyerCookie is missing."), "text/xml"
        hook = (request.findtext("BrowserFormPost/URL") or "").strip()
        if not hook.startswith(("http://", "https://")):
            # The cart goes back to the BrowserFormPost URL: without it there is no punchout.
            return (
                200,
                self._response(400, "Bad Request", "BrowserFormPost URL is missing."),
                "text/xml",
            )
        token = secrets.token_urlsafe(12)
        with self._lock:
            self.sessions[token] = Session(cookie, hook, self.now())
        if self.fault(FaultKind.NO_START_PAGE):
            return 200, self._response(200, "OK"), "text/xml"
        return (
            200,
            self._response(200, "OK", start_page=f"{root_url}/punchout/start/{token}"),
            "text/xml",
        )

    def _session(self, token: str) -> Session | None:
        with self._lock:
            session = self.sessions.get(token)
        if session is None or self.now() - session.created > self.session_ttl:
            return None
        return session

    def start_page(self, token: str) -> tuple[int, str, str]:
        session = self._session(token)
        if session is None or self.fault(FaultKind.START_PAGE_EXPIRED):
            expired = "<!DOCTYPE html><html><head><title>Session expired</title></head><body><h1>Your punchout session has expired</h1></body></html>"
            return 410, expired, "text/html"
        if self.fault(FaultKind.START_PAGE_ERROR):
            return 500, "Catalog error: template 'catalog.twig' not found", "text/plain"
        page = self._catalogue(
            session, f"<p>Punchout session for buyer cookie {html.escape(session.buyer_cookie)}</p>"
        )
        return page.status, str(page.body), page.content_type

    def _items(self) -> list[dict[str, Any]]:
        return [
            item
            for item in self.erp.list(self.erp.default_company_id, "items")
            if not item["blocked"]
        ]

    def _catalogue(self, session: Session, intro: str) -> Page:
        """The shop's catalogue: one add-to-basket form per item, as product lists have."""
        rows = "".join(
            f"<tr><td>{html.escape(item['number'])}</td><td>{html.escape(item['displayName'])}</td>"
            f"<td>{item['unitPrice']:.2f} EUR</td><td>"
            "<form method='post' action='/oci/basket'>"
            f"<input type='hidden' name='authenticity_token' value='{session.csrf}'>"
            f"<input type='hidden' name='sku' value='{html.escape(item['number'])}'>"
            "<input type='number' name='qty' value='1' min='1'>"
            "<button type='submit'>Add to basket</button></form></td></tr>"
            for item in self._items()
        )
        return _html(
            200,
            "Catalogue",
            f"<h1>Catalogue</h1>{intro}<form method='get' action='/oci/search'>"
            "<input name='q'><button>Search</button></form>"
            f"<table id='catalogue'>{rows}</table><p><a href='/oci/basket'>Basket</a></p>",
        )

    def order(self, body: bytes) -> tuple[int, bytes, str]:
        parsed = self._request(body, "OrderRequest")
        if isinstance(parsed, bytes):
            return 200, parsed, "text/xml"
        header = parsed.find("Request/OrderRequest/OrderRequestHeader")
        assert header is not None
        if header.find("ShipTo/Address/PostalAddress") is None:
            # The DTD allows an order without ShipTo; a shop that ships goods does not.
            return (
                200,
                self._response(400, "Bad Request", "ShipTo with a postal address is required."),
                "text/xml",
            )
        order_id = header.get("orderID", "")
        mode = parsed.find("Request")
        if mode is not None and mode.get("deploymentMode", "production") == "test":
            if self.test_orders == "reject":
                return (
                    200,
                    self._response(400, "Bad Request", "Test orders are not accepted here."),
                    "text/xml",
                )
            if self.test_orders == "ignore":
                with self._lock:
                    self.ignored_test_orders.append(order_id)
                return 200, self._response(200, "OK"), "text/xml"
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
        if not self.fault(FaultKind.ORDER_NOT_IN_ERP):
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

    def oci_login(self, args: Mapping[str, str]) -> Page:
        """SAP's catalogue call: log in, remember the HOOK_URL, go to the catalogue."""
        if (args.get("USERNAME"), args.get("PASSWORD")) != (
            self.buyer.oci_username,
            self.buyer.oci_password,
        ):
            return _html(401, "Login failed", "<h1>Login failed</h1>")
        if args.get("~OkCode") != "ADDI":
            # This shop, like many, only serves SAP's OCI call, which always carries it.
            return Page(400, "~OkCode must be ADDI (an OCI catalogue call)", "text/plain")
        hook = args.get("HOOK_URL", "")
        if urlsplit(hook).scheme not in ("http", "https"):
            return Page(400, "HOOK_URL is missing or not a URL", "text/plain")
        token = secrets.token_urlsafe(12)
        with self._lock:
            self.sessions[token] = Session("", hook, self.now())
        return _redirect("/oci/shop", cookie=token)

    def _oci_session(self, cookies: Mapping[str, str]) -> Session | Page:
        session = self._session(cookies.get(SESSION_COOKIE, ""))
        if session is None or not session.hook:
            return _html(410, "Session expired", "<h1>Your session has expired</h1>")
        return session

    def oci_shop(self, cookies: Mapping[str, str]) -> Page:
        session = self._oci_session(cookies)
        if isinstance(session, Page):
            return session
        return self._catalogue(session, "<p>OCI catalogue</p>")

    def oci_add(self, cookies: Mapping[str, str], form: Mapping[str, str]) -> Page:
        session = self._oci_session(cookies)
        if isinstance(session, Page):
            return session
        if form.get("authenticity_token") != session.csrf:
            return Page(422, "Invalid authenticity token", "text/plain")
        sku = form.get("sku", "")
        if not any(item["number"] == sku for item in self._items()):
            return Page(404, f"Unknown item {sku}", "text/plain")
        try:
            quantity = Decimal(form.get("qty", "1"))
        except ArithmeticError:
            return Page(422, "Quantity is not a number", "text/plain")
        with self._lock:
            session.basket[sku] = session.basket.get(sku, Decimal(0)) + quantity
        return _redirect("/oci/basket")

    def oci_basket(self, cookies: Mapping[str, str]) -> Page:
        session = self._oci_session(cookies)
        if isinstance(session, Page):
            return session
        rows = "".join(
            f"<tr><td>{html.escape(sku)}</td><td>{quantity}</td></tr>"
            for sku, quantity in session.basket.items()
        )
        return _html(
            200,
            "Basket",
            f"<h1>Basket</h1><table id='basket'>{rows}</table>"
            "<form method='post' action='/oci/checkout'>"
            f"<input type='hidden' name='authenticity_token' value='{session.csrf}'>"
            "<button type='submit' name='commit' value='transfer'>Transfer to SAP</button>"
            "</form>",
        )

    def oci_checkout(self, cookies: Mapping[str, str], form: Mapping[str, str]) -> Page:
        """The transfer page, shaped like the captured real one."""
        session = self._oci_session(cookies)
        if isinstance(session, Page):
            return session
        if form.get("authenticity_token") != session.csrf:
            return Page(422, "Invalid authenticity token", "text/plain")
        if not session.basket:
            return Page(422, "The basket is empty", "text/plain")
        items = {item["number"]: item for item in self._items()}
        inputs: list[tuple[str, str]] = [
            ("_snowman", "☃"),
            ("authenticity_token", session.csrf),
        ]
        for line, (sku, quantity) in enumerate(session.basket.items(), start=1):
            item = items[sku]
            price = _oci_number(Decimal(str(item["unitPrice"])))
            if self.fault(FaultKind.OCI_DECIMAL_COMMA):
                price = f"{item['unitPrice']:,.2f}".replace(",", " ").replace(".", ",")
                price = price.replace(" ", ".")
            fields = {
                "DESCRIPTION": item["displayName"],
                "QUANTITY": _oci_number(quantity),
                "UNIT": "Stück" if self.fault(FaultKind.OCI_UNIT_NOT_ISO) else "PCE",
                "PRICE": price,
                "CURRENCY": "EUR",
                "PRICEUNIT": "1",
                "LEADTIME": "2",
                "MANUFACTMAT": sku,
                "EXT_PRODUCT_ID": sku,
            }
            if self.fault(FaultKind.OCI_NO_CURRENCY):
                del fields["CURRENCY"]
            inputs += [(f"NEW_ITEM-{name}[{line}]", value) for name, value in fields.items()]
            inputs.append(
                (f"NEW_ITEM-LONGTEXT_{line}:132[]", f"{item['displayName']}, item {sku}.")
            )
        hidden = "".join(
            f'<input name="{html.escape(name)}" type="hidden" value="{html.escape(value)}" />'
            for name, value in inputs
        )
        with self._lock:
            session.basket.clear()
        # Real shops nest the transfer form in their layout and submit it by script.
        return _html(
            200,
            "Transfer",
            "<div class='container'><p>Transferring your basket to SAP…</p>"
            f'<form accept-charset="UTF-8" action="{html.escape(session.hook)}" method="post">'
            f"{hidden}<noscript><button type='submit'>Continue</button></noscript></form>"
            "<script>document.forms[0].submit();</script></div>",
        )

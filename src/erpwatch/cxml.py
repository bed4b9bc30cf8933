"""cXML 1.2 for monitors: requests built and answers parsed with lxml, never by
string concatenation, and checked against the official cXML 1.2.063 DTD."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib import resources

from lxml import etree

VERSION = "1.2.063"
SYSTEM_ID = f"http://xml.cxml.org/schemas/cXML/{VERSION}/cXML.dtd"
DOCTYPE = f'<!DOCTYPE cXML SYSTEM "{SYSTEM_ID}">'


@cache
def dtd() -> etree.DTD:
    """The official DTD, shipped with erpwatch (licence in its header)."""
    path = resources.files("erpwatch.cxml_data").joinpath("cXML.dtd")
    with resources.as_file(path) as local:
        return etree.DTD(str(local))


def _parser() -> etree.XMLParser:
    # Never fetch the DOCTYPE's DTD over the network, never expand entities.
    return etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False, huge_tree=False)


def parse(document: bytes) -> etree._Element:
    """Parse a cXML document; raises ValueError when it is not well-formed XML or not cXML."""
    try:
        root = etree.fromstring(document, _parser())
    except etree.XMLSyntaxError as error:
        raise ValueError(f"not well-formed XML: {error}") from None
    if root.tag != "cXML":
        raise ValueError(f"not a cXML document: the root element is <{root.tag}>")
    return root


def validation_errors(document: bytes) -> list[str]:
    """What the DTD has against a document; empty when it is valid cXML."""
    try:
        root = parse(document)
    except ValueError as error:
        return [str(error)]
    schema = dtd()
    if schema.validate(root):
        return []
    return [line for line in str(schema.error_log).splitlines() if line.strip()]


@dataclass(frozen=True)
class Party:
    """The buyer's credentials as the shop expects them."""

    domain: str
    identity: str
    shared_secret: str
    supplier_domain: str = "NetworkID"
    supplier_identity: str = "supplier"
    user_agent: str = "erpwatch punchout monitor"


def _document(party: Party, deployment_mode: str = "test") -> tuple[etree._Element, etree._Element]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    root = etree.Element("cXML", payloadID=f"{secrets.token_hex(8)}@erpwatch", timestamp=now)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    header = etree.SubElement(root, "Header")
    for role, domain, identity in (
        ("From", party.domain, party.identity),
        ("To", party.supplier_domain, party.supplier_identity),
    ):
        credential = etree.SubElement(etree.SubElement(header, role), "Credential", domain=domain)
        etree.SubElement(credential, "Identity").text = identity
    sender = etree.SubElement(header, "Sender")
    credential = etree.SubElement(sender, "Credential", domain=party.domain)
    etree.SubElement(credential, "Identity").text = party.identity
    etree.SubElement(credential, "SharedSecret").text = party.shared_secret
    etree.SubElement(sender, "UserAgent").text = party.user_agent
    request = etree.SubElement(root, "Request", deploymentMode=deployment_mode)
    return root, request


def _serialize(root: etree._Element) -> bytes:
    body: bytes = etree.tostring(root, xml_declaration=False, encoding="UTF-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + DOCTYPE.encode() + b"\n" + body


def punchout_setup_request(party: Party, buyer_cookie: str, browser_form_post: str) -> bytes:
    root, request = _document(party)
    setup = etree.SubElement(request, "PunchOutSetupRequest", operation="create")
    etree.SubElement(setup, "BuyerCookie").text = buyer_cookie
    etree.SubElement(etree.SubElement(setup, "BrowserFormPost"), "URL").text = browser_form_post
    return _serialize(root)


@dataclass(frozen=True)
class OrderLine:
    part_id: str
    quantity: int
    unit_price: Decimal
    description: str
    unit: str = "EA"  # UN/CEFACT unit code
    unspsc: str = "56101519"  # the line's UNSPSC classification (default: office furniture)


def order_request(
    party: Party, order_id: str, lines: Sequence[OrderLine], currency: str = "EUR"
) -> bytes:
    root, request = _document(party)
    order = etree.SubElement(request, "OrderRequest")
    header = etree.SubElement(
        order, "OrderRequestHeader", orderID=order_id, orderDate=datetime.now(UTC).isoformat(timespec="seconds"),
        type="new",
    )  # fmt: skip
    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    etree.SubElement(
        etree.SubElement(header, "Total"), "Money", currency=currency
    ).text = f"{total:.2f}"
    bill_to = etree.SubElement(etree.SubElement(header, "BillTo"), "Address")
    name = etree.SubElement(bill_to, "Name")
    name.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    name.text = party.identity
    for number, line in enumerate(lines, start=1):
        item = etree.SubElement(
            order, "ItemOut", quantity=str(line.quantity), lineNumber=str(number)
        )
        etree.SubElement(etree.SubElement(item, "ItemID"), "SupplierPartID").text = line.part_id
        detail = etree.SubElement(item, "ItemDetail")
        money = etree.SubElement(etree.SubElement(detail, "UnitPrice"), "Money", currency=currency)
        money.text = f"{line.unit_price:.2f}"
        description = etree.SubElement(detail, "Description")
        description.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        description.text = line.description
        etree.SubElement(detail, "UnitOfMeasure").text = line.unit
        etree.SubElement(detail, "Classification", domain="UNSPSC").text = line.unspsc
    return _serialize(root)


@dataclass(frozen=True)
class Answer:
    """A cXML Response: its Status, and the StartPage of a PunchOutSetupResponse."""

    code: int
    text: str
    detail: str
    start_page: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


def parse_answer(document: bytes) -> Answer:
    """Raises ValueError when the answer is no usable cXML Response."""
    root = parse(document)
    status = root.find("Response/Status")
    if status is None:
        raise ValueError("the cXML answer has no Response/Status")
    try:
        code = int(status.get("code", ""))
    except ValueError:
        raise ValueError(f"the cXML Status code {status.get('code')!r} is not a number") from None
    url = root.findtext("Response/PunchOutSetupResponse/StartPage/URL")
    return Answer(
        code, status.get("text", ""), (status.text or "").strip(), url.strip() if url else None
    )

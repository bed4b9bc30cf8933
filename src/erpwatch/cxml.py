"""cXML 1.2 for monitors: requests built and answers parsed with lxml, never by
string concatenation, and checked against the official cXML 1.2.063 DTD."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources

from lxml import etree

from .config import PostalAddress, PunchoutSettings

VERSION = "1.2.063"
SYSTEM_ID = f"http://xml.cxml.org/schemas/cXML/{VERSION}/cXML.dtd"
DOCTYPE = f'<!DOCTYPE cXML SYSTEM "{SYSTEM_ID}">'
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


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
class Credential:
    domain: str
    identity: str


@dataclass(frozen=True)
class Party:
    """Who a document is from, to and sent by, as the shop expects them.

    Every public sample names the supplier in To and the one who authenticates in
    Sender: the buyer itself, or the network it sends through (e.g. Coupa's).
    """

    buyer: Credential  # From
    supplier: Credential  # To
    sender: Credential  # Sender, with the SharedSecret
    shared_secret: str = field(repr=False)
    user_agent: str = "erpwatch punchout monitor"
    # A shop may keep test orders out of its ERP: "test" only where it documents them.
    deployment_mode: str = "production"

    @classmethod
    def from_settings(cls, settings: PunchoutSettings) -> Party:
        return cls(
            buyer=Credential(settings.from_domain, settings.from_identity),
            supplier=Credential(settings.to_domain, settings.to_identity),
            sender=Credential(settings.sender_domain, settings.sender_identity),
            shared_secret=settings.shared_secret,
            user_agent=settings.user_agent,
            deployment_mode=settings.deployment_mode,
        )


def _document(party: Party) -> tuple[etree._Element, etree._Element]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    root = etree.Element("cXML", payloadID=f"{secrets.token_hex(8)}@erpwatch", timestamp=now)
    root.set(XML_LANG, "en-US")
    header = etree.SubElement(root, "Header")
    for role, who in (("From", party.buyer), ("To", party.supplier)):
        credential = etree.SubElement(
            etree.SubElement(header, role), "Credential", domain=who.domain
        )
        etree.SubElement(credential, "Identity").text = who.identity
    sender = etree.SubElement(header, "Sender")
    credential = etree.SubElement(sender, "Credential", domain=party.sender.domain)
    etree.SubElement(credential, "Identity").text = party.sender.identity
    etree.SubElement(credential, "SharedSecret").text = party.shared_secret
    etree.SubElement(sender, "UserAgent").text = party.user_agent
    request = etree.SubElement(root, "Request", deploymentMode=party.deployment_mode)
    return root, request


def _serialize(root: etree._Element) -> bytes:
    body: bytes = etree.tostring(root, xml_declaration=False, encoding="UTF-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + DOCTYPE.encode() + b"\n" + body


def _text(parent: etree._Element, tag: str, text: str, lang: str | None = None) -> None:
    element = etree.SubElement(parent, tag)
    if lang:
        element.set(XML_LANG, lang)
    element.text = text


def _address(parent: etree._Element, role: str, address: PostalAddress) -> None:
    """ShipTo or BillTo, shaped as in the public OrderRequests (tests/data/cxml)."""
    element = etree.SubElement(etree.SubElement(parent, role), "Address")
    element.set("isoCountryCode", address.country_code)
    if address.address_id:
        element.set("addressID", address.address_id)
    _text(element, "Name", address.name, "en")
    postal = etree.SubElement(element, "PostalAddress", name="default")
    if address.deliver_to:
        _text(postal, "DeliverTo", address.deliver_to)
    _text(postal, "Street", address.street)
    _text(postal, "City", address.city)
    if address.state:
        _text(postal, "State", address.state)
    _text(postal, "PostalCode", address.postal_code)
    etree.SubElement(postal, "Country", isoCountryCode=address.country_code).text = address.country
    if address.email:
        _text(element, "Email", address.email)


def _contact(parent: etree._Element, email: str) -> None:
    contact = etree.SubElement(parent, "Contact", role="endUser")
    _text(contact, "Name", email, "en")
    _text(contact, "Email", email)


def punchout_setup_request(
    party: Party,
    buyer_cookie: str,
    browser_form_post: str,
    ship_to: PostalAddress | None = None,
    user_email: str = "",
) -> bytes:
    root, request = _document(party)
    setup = etree.SubElement(request, "PunchOutSetupRequest", operation="create")
    etree.SubElement(setup, "BuyerCookie").text = buyer_cookie
    if user_email:
        # What Ariba and Coupa send; shops that create a user per buyer need it.
        etree.SubElement(setup, "Extrinsic", name="UserEmail").text = user_email
    etree.SubElement(etree.SubElement(setup, "BrowserFormPost"), "URL").text = browser_form_post
    if user_email:
        _contact(setup, user_email)
    if ship_to is not None:
        _address(setup, "ShipTo", ship_to)
    return _serialize(root)


@dataclass(frozen=True)
class OrderLine:
    part_id: str
    quantity: int | Decimal
    unit_price: Decimal
    description: str
    unit: str = "EA"  # UN/CEFACT unit code
    unspsc: str = "56101519"  # the line's UNSPSC classification (default: office furniture)
    auxiliary_id: str = ""  # the shop's SupplierPartAuxiliaryID, from its cart return


# Business Central keeps the PO number in externalDocumentNumber, a Code[35].
MAX_PO_NUMBER = 35


def purchase_order_number(reference: str) -> str:
    """``PO-<reference>``, shortened in the middle to fit Code[35] when a run id is long.

    The start (ERPWATCH-<run id>) says whose order it is; the random end keeps it unique.
    """
    number = f"PO-{reference}"
    if len(number) <= MAX_PO_NUMBER:
        return number
    head, _, tail = reference.rpartition("-")
    keep = MAX_PO_NUMBER - len("PO-") - len(tail) - 1
    return f"PO-{head[:keep]}-{tail}"[:MAX_PO_NUMBER]


def order_request(
    party: Party,
    order_id: str,
    lines: Sequence[OrderLine],
    *,
    ship_to: PostalAddress,
    bill_to: PostalAddress | None = None,
    currency: str = "EUR",
    user_email: str = "",
) -> bytes:
    """An OrderRequest shaped like the public ones: ShipTo, BillTo, a contact, and item IDs
    with the shop's auxiliary ID when its cart return gave one."""
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
    _address(header, "ShipTo", ship_to)
    _address(header, "BillTo", bill_to or ship_to)
    if user_email:
        _contact(header, user_email)
    # Whoever at the shop opens this order learns what it is and that it goes away again.
    _text(header, "Comments", "Synthetic order by erpwatch, the integration's monitoring; it is removed again.", "en")  # fmt: skip
    for number, line in enumerate(lines, start=1):
        item = etree.SubElement(
            order, "ItemOut", quantity=str(line.quantity), lineNumber=str(number)
        )
        item_id = etree.SubElement(item, "ItemID")
        etree.SubElement(item_id, "SupplierPartID").text = line.part_id
        if line.auxiliary_id:
            etree.SubElement(item_id, "SupplierPartAuxiliaryID").text = line.auxiliary_id
        detail = etree.SubElement(item, "ItemDetail")
        money = etree.SubElement(etree.SubElement(detail, "UnitPrice"), "Money", currency=currency)
        money.text = f"{line.unit_price:.2f}"
        _text(detail, "Description", line.description, "en")
        etree.SubElement(detail, "UnitOfMeasure").text = line.unit
        etree.SubElement(detail, "Classification", domain="UNSPSC").text = line.unspsc
    return _serialize(root)


def cart_lines(document: bytes) -> list[OrderLine]:
    """The lines of a shop's cart return (PunchOutOrderMessage), to be ordered as they are:
    a procurement system copies each ItemIn's ItemID, auxiliary ID included, into the order."""
    root = parse(document)
    lines = []
    for item in root.iterfind(".//PunchOutOrderMessage/ItemIn"):
        price = item.findtext("ItemDetail/UnitPrice/Money") or ""
        description = item.find("ItemDetail/Description")
        words = "".join(str(t) for t in description.itertext()) if description is not None else ""
        text = " ".join(words.split())  # a ShortName and the text around it, as one line
        try:
            quantity = Decimal(item.get("quantity", ""))
            unit_price = Decimal(price.strip())
        except InvalidOperation:
            raise ValueError(
                f"ItemIn {item.findtext('ItemID/SupplierPartID')!r}: quantity "
                f"{item.get('quantity')!r} or price {price.strip()!r} is not a number"
            ) from None
        lines.append(
            OrderLine(
                part_id=(item.findtext("ItemID/SupplierPartID") or "").strip(),
                quantity=int(quantity) if quantity == quantity.to_integral() else quantity,
                unit_price=unit_price,
                description=text,
                unit=(item.findtext("ItemDetail/UnitOfMeasure") or "").strip(),
                unspsc=(item.findtext("ItemDetail/Classification") or "").strip(),
                auxiliary_id=(item.findtext("ItemID/SupplierPartAuxiliaryID") or "").strip(),
            )
        )
    return lines


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

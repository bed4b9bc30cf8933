"""cXML: every message the project produces or accepts in its tests is valid
against the official cXML 1.2.063 DTD, which ships with its licence header."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
import requests
from lxml import etree

from erpwatch import cxml
from erpwatch.config import DEFAULT_SHIP_TO, PostalAddress
from erpwatch.sandbox import RunningSandbox, parse_fault

DATA = Path(__file__).parent / "data" / "cxml"
SAMPLES = sorted(DATA.glob("*.xml"))
# Every public OrderRequest we have, DTD-valid or from a newer cXML.
PUBLIC_ORDERS = sorted([*DATA.glob("OrderRequest*.xml"), *DATA.glob("newer/OrderRequest*.xml")])
SHIP_TO = DEFAULT_SHIP_TO  # the sandbox buyer's goods receipt


def party(sandbox: RunningSandbox, secret: str | None = None, **changes: str) -> cxml.Party:
    """The buyer as the sandbox shop knows it; ``changes`` override env-style settings."""
    settings = {**sandbox.settings(), **changes}
    buyer = cxml.Credential(settings["PUNCHOUT_FROM_DOMAIN"], settings["PUNCHOUT_FROM_IDENTITY"])
    return cxml.Party(
        buyer=buyer,
        supplier=cxml.Credential(settings["PUNCHOUT_TO_DOMAIN"], settings["PUNCHOUT_TO_IDENTITY"]),
        sender=buyer,
        shared_secret=secret or settings["PUNCHOUT_SHARED_SECRET"],
    )


def order(party: cxml.Party, po: str = "PO-1", ship_to: PostalAddress = SHIP_TO) -> bytes:
    return cxml.order_request(
        party,
        po,
        [cxml.OrderLine("1896-S", 2, Decimal("1000.80"), "ATHENS Desk")],
        ship_to=ship_to,
    )


def test_the_shipped_dtd_keeps_its_licence_header() -> None:
    text = resources.files("erpwatch.cxml_data").joinpath("cXML.dtd").read_text(encoding="utf-8")
    assert "For cXML license agreement information, please see" in text[:400]
    assert "http://www.cxml.org/home/license.asp" in text[:400]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.stem for s in SAMPLES])
def test_the_sample_messages_are_valid(sample: Path) -> None:
    assert cxml.validation_errors(sample.read_bytes()) == []


def test_what_the_monitors_send_is_valid(sandbox: RunningSandbox) -> None:
    buyer = party(sandbox)
    assert (
        cxml.validation_errors(
            cxml.punchout_setup_request(buyer, "cookie", "https://buyer.example/hook")
        )
        == []
    )
    assert cxml.validation_errors(order(buyer)) == []


def post(url: str, document: bytes) -> bytes:
    answer = requests.post(url, data=document, headers={"Content-Type": "text/xml"}, timeout=5)
    assert answer.status_code == 200  # cXML answers errors inside HTTP 200
    return answer.content


@pytest.mark.parametrize(
    "fault", [None, "shared_secret_rejected", "no_buyer_cookie", "no_start_page"]
)
def test_what_the_sandbox_answers_to_a_setup_is_valid(
    sandbox: RunningSandbox, fault: str | None
) -> None:
    if fault:
        sandbox.app.add_fault(parse_fault(fault), sandbox.root_url)
    answer = post(
        sandbox.settings()["PUNCHOUT_SETUP_URL"],
        cxml.punchout_setup_request(party(sandbox), "c", "https://b.example/h"),
    )
    assert cxml.validation_errors(answer) == []


def test_what_the_sandbox_answers_to_an_order_is_valid_and_the_order_reaches_the_erp(
    sandbox: RunningSandbox,
) -> None:
    answer = post(sandbox.settings()["PUNCHOUT_ORDER_URL"], order(party(sandbox), "PO-4711"))
    assert cxml.validation_errors(answer) == []
    assert cxml.parse_answer(answer).code == 200
    orders = sandbox.app.erp.list(sandbox.app.erp.default_company_id, "salesOrders")
    assert [(o["externalDocumentNumber"], o["customerNumber"]) for o in orders] == [
        ("PO-4711", "C00020")
    ]


def test_the_sandbox_refuses_invalid_cxml_naming_the_dtd_problem(sandbox: RunningSandbox) -> None:
    invalid = b'<?xml version="1.0"?><cXML payloadID="1" timestamp="2026-11-27T21:00:00+00:00"><Header/></cXML>'
    answer = post(sandbox.settings()["PUNCHOUT_SETUP_URL"], invalid)
    parsed = cxml.parse_answer(answer)
    assert (parsed.code, parsed.text) == (400, "Bad Request")
    assert "Invalid cXML" in parsed.detail
    assert "does not follow the DTD" in parsed.detail
    assert cxml.validation_errors(answer) == []


def test_a_wrong_shared_secret_is_a_status_401_inside_http_200(sandbox: RunningSandbox) -> None:
    answer = post(
        sandbox.settings()["PUNCHOUT_SETUP_URL"],
        cxml.punchout_setup_request(party(sandbox, "wrong"), "c", "https://b.example/h"),
    )
    assert cxml.parse_answer(answer).code == 401


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (b"<cXML><Response>", "not well-formed XML"),
        (
            b"<html><body>Maintenance</body></html>",
            "not a cXML document: the root element is <html>",
        ),
        (
            b'<cXML payloadID="1" timestamp="t"><Response/></cXML>',
            "the cXML answer has no Response/Status",
        ),
    ],
)
def test_an_unusable_answer_says_what_is_wrong(document: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        cxml.parse_answer(document)


def test_no_dtd_or_entity_is_fetched_or_expanded() -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<cXML payloadID="1" timestamp="t"><Response><Status code="200" text="&x;"/></Response></cXML>'
    )
    try:
        answer = cxml.parse_answer(hostile)
    except ValueError:
        return
    assert "root:" not in answer.text


# -- real-world shape -------------------------------------------------------------


def element_paths(document: bytes) -> set[str]:
    """Every element path in a document (Header/From/Credential/Identity, …), comments left out."""
    root = cxml.parse(document)
    tree = root.getroottree()
    return {
        "/".join(part.split("[")[0] for part in tree.getpath(e).split("/")[2:])
        for e in root.iter()
        if isinstance(e.tag, str) and e is not root
    }


def test_every_public_order_request_carries_a_ship_to_and_a_bill_to() -> None:
    assert len(PUBLIC_ORDERS) == 5
    for sample in PUBLIC_ORDERS:
        paths = element_paths(sample.read_bytes())
        assert "Request/OrderRequest/OrderRequestHeader/ShipTo/Address/PostalAddress" in paths, (
            sample
        )
        assert "Request/OrderRequest/OrderRequestHeader/BillTo/Address/Name" in paths, sample


def test_what_erpwatch_orders_has_every_element_all_public_order_requests_have(
    sandbox: RunningSandbox,
) -> None:
    common = set.intersection(*(element_paths(s.read_bytes()) for s in PUBLIC_ORDERS))
    ours = element_paths(order(party(sandbox)))
    # Every sample ships to the US, which has states; a Belgian address has none.
    state = "Request/OrderRequest/OrderRequestHeader/ShipTo/Address/PostalAddress/State"
    assert common - ours == {state}
    with_state = dataclasses.replace(SHIP_TO, state="CA")
    assert common - element_paths(order(party(sandbox), ship_to=with_state)) == set()
    assert "Request/OrderRequest/OrderRequestHeader/ShipTo/Address/PostalAddress/Street" in common


def test_erpwatch_documents_name_the_supplier_and_the_sender_as_configured() -> None:
    buyer = cxml.Credential("NetworkID", "AN01000000001")
    network = cxml.Credential("NetworkID", "coupa-t")
    sent = cxml.Party(
        buyer=buyer,
        supplier=cxml.Credential("DUNS", "128293714"),
        sender=network,
        shared_secret="s3cret",
        user_agent="Acme Procurement 2.1",
    )
    root = cxml.parse(order(sent))
    assert root.findtext("Header/From/Credential/Identity") == "AN01000000001"
    assert root.find("Header/To/Credential").get("domain") == "DUNS"  # type: ignore[union-attr]
    assert root.findtext("Header/To/Credential/Identity") == "128293714"
    assert root.findtext("Header/Sender/Credential/Identity") == "coupa-t"
    assert root.findtext("Header/Sender/UserAgent") == "Acme Procurement 2.1"
    # The DTD's default, and what a live shop's production account expects.
    assert root.find("Request").get("deploymentMode") == "production"  # type: ignore[union-attr]


def test_the_ship_to_reads_as_the_public_samples_write_it(sandbox: RunningSandbox) -> None:
    address = cxml.parse(order(party(sandbox))).find(
        "Request/OrderRequest/OrderRequestHeader/ShipTo/Address"
    )
    assert address is not None
    assert address.get("isoCountryCode") == "BE"
    postal = address.find("PostalAddress")
    assert postal is not None
    assert [(e.tag, e.text) for e in postal] == [
        ("DeliverTo", "Goods receipt"),
        ("Street", "Korenmarkt 1"),
        ("City", "Gent"),
        ("PostalCode", "9000"),
        ("Country", "Belgium"),
    ]


def test_a_real_cart_return_is_read_into_order_lines() -> None:
    lines = cxml.cart_lines((DATA / "PunchoutOrderMessage.xml").read_bytes())
    assert [(x.part_id, x.quantity, x.unit_price, x.unit, x.description) for x in lines] == [
        ("5555", 3, Decimal("763.20"), "EA", "Excelsior Desk Chair"),
        ("666", 5, Decimal("763.20"), "EA", "22Excelsior Desk Chair"),
    ]


def test_the_shops_auxiliary_id_from_its_cart_return_is_carried_into_the_order(
    sandbox: RunningSandbox,
) -> None:
    # A real ItemIn (officeluv/cxml) in the smallest cart return around it.
    item_in = (DATA / "item_in-officeluv.xml.fragment").read_bytes()
    cart = (
        b"<cXML><Message><PunchOutOrderMessage>"
        + item_in
        + b"</PunchOutOrderMessage></Message></cXML>"
    )
    [line] = cxml.cart_lines(cart)
    assert (line.part_id, line.auxiliary_id, line.unit_price) == (
        "ACC8000160K",
        "lkajsdflsdf",
        Decimal("5.35"),
    )
    document = cxml.order_request(party(sandbox), "PO-7", [line], ship_to=SHIP_TO, currency="GBP")
    assert cxml.validation_errors(document) == []
    item_id = cxml.parse(document).find("Request/OrderRequest/ItemOut/ItemID")
    assert item_id is not None
    assert [(e.tag, e.text) for e in item_id] == [
        ("SupplierPartID", "ACC8000160K"),
        ("SupplierPartAuxiliaryID", "lkajsdflsdf"),
    ]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("ERPWATCH-2611272104-a3f2-0c1d2e", "PO-ERPWATCH-2611272104-a3f2-0c1d2e"),
        (
            "ERPWATCH-a-run-id-someone-made-far-too-long-0c1d2e",
            "PO-ERPWATCH-a-run-id-someone-0c1d2e",
        ),
    ],
)
def test_a_po_number_fits_the_erps_35_characters_and_keeps_its_unique_end(
    reference: str, expected: str
) -> None:
    number = cxml.purchase_order_number(reference)
    assert number == expected
    assert len(number) <= cxml.MAX_PO_NUMBER


# -- the sandbox shop is as strict as a real supplier ---------------------------------


def test_the_sandbox_refuses_an_order_without_a_ship_to(sandbox: RunningSandbox) -> None:
    thin = cxml.parse(order(party(sandbox), "PO-THIN"))
    header = thin.find("Request/OrderRequest/OrderRequestHeader")
    assert header is not None
    ship_to = header.find("ShipTo")
    assert ship_to is not None
    header.remove(ship_to)  # what erpwatch sent before: still valid against the DTD
    document = etree.tostring(thin)
    assert cxml.validation_errors(document) == []
    answer = cxml.parse_answer(post(sandbox.settings()["PUNCHOUT_ORDER_URL"], document))
    assert (answer.code, answer.detail) == (400, "ShipTo with a postal address is required.")
    assert sandbox.app.erp.list(sandbox.app.erp.default_company_id, "salesOrders") == []


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"PUNCHOUT_TO_IDENTITY": "supplier"}, "addressed to supplier (To), not to this supplier"),
        ({"PUNCHOUT_FROM_IDENTITY": "AN09999999999"}, "Unknown buyer AN09999999999"),
    ],
    ids=["wrong-to", "unknown-from"],
)
def test_the_sandbox_refuses_credentials_that_do_not_match_its_buyer(
    sandbox: RunningSandbox, changes: dict[str, str], words: str
) -> None:
    answer = cxml.parse_answer(
        post(
            sandbox.settings()["PUNCHOUT_SETUP_URL"],
            cxml.punchout_setup_request(party(sandbox, **changes), "c", "https://b.example/h"),
        )
    )
    assert answer.code == 401
    assert words in answer.detail


def test_the_sandbox_keeps_test_orders_out_of_its_erp_as_a_shop_that_ignores_them(
    sandbox: RunningSandbox,
) -> None:
    test_mode = dataclasses.replace(party(sandbox), deployment_mode="test")
    answer = cxml.parse_answer(
        post(sandbox.settings()["PUNCHOUT_ORDER_URL"], order(test_mode, "PO-T"))
    )
    assert answer.code == 200  # accepted, and yet:
    assert sandbox.app.erp.list(sandbox.app.erp.default_company_id, "salesOrders") == []
    assert sandbox.app.punchout.ignored_test_orders == ["PO-T"]


def test_a_shop_that_rejects_test_orders_says_so(sandbox: RunningSandbox) -> None:
    sandbox.app.punchout.test_orders = "reject"
    test_mode = dataclasses.replace(party(sandbox), deployment_mode="test")
    answer = cxml.parse_answer(post(sandbox.settings()["PUNCHOUT_ORDER_URL"], order(test_mode)))
    assert (answer.code, answer.detail) == (400, "Test orders are not accepted here.")


def test_the_setup_carries_the_ship_to_and_the_buyers_email_when_configured(
    sandbox: RunningSandbox,
) -> None:
    document = cxml.punchout_setup_request(
        party(sandbox),
        "c",
        "https://b.example/h",
        ship_to=SHIP_TO,
        user_email="buyer@leeuw.example",
    )
    assert cxml.validation_errors(document) == []
    setup = cxml.parse(document).find("Request/PunchOutSetupRequest")
    assert setup is not None
    assert setup.findtext("Extrinsic[@name='UserEmail']") == "buyer@leeuw.example"
    assert setup.findtext("ShipTo/Address/PostalAddress/City") == "Gent"
    answer = cxml.parse_answer(post(sandbox.settings()["PUNCHOUT_SETUP_URL"], document))
    assert answer.code == 200

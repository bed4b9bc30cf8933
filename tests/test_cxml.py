"""cXML: every message the project produces or accepts in its tests is valid
against the official cXML 1.2.063 DTD, which ships with its licence header."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
import requests

from erpwatch import cxml
from erpwatch.sandbox import RunningSandbox, parse_fault

SAMPLES = sorted((Path(__file__).parent / "data" / "cxml").glob("*.xml"))


def party(sandbox: RunningSandbox, secret: str | None = None) -> cxml.Party:
    settings = sandbox.settings()
    return cxml.Party(
        settings["PUNCHOUT_FROM_DOMAIN"],
        settings["PUNCHOUT_FROM_IDENTITY"],
        secret or settings["PUNCHOUT_SHARED_SECRET"],
    )


def order(party: cxml.Party, po: str = "PO-1") -> bytes:
    return cxml.order_request(
        party, po, [cxml.OrderLine("1896-S", 2, Decimal("1000.80"), "ATHENS Desk")]
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

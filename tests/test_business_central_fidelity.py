"""Right against the real Business Central, not only against our sandbox: Code
fields come back upper-case, totals are after the invoice discount, lists are
paged, and the sandbox answers what Microsoft documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from erpwatch import (
    DataMismatch,
    ErpCallFailed,
    ErpClient,
    SyntheticData,
    expect_document_totals,
    expect_same_fields,
)
from erpwatch import erp as erp_module
from erpwatch._bc_rules import CODE_FIELDS
from erpwatch.config import ErpSettings
from erpwatch.sandbox import RunningSandbox, SandboxApp, start
from erpwatch.sandbox.bc_schema import ENTITY_SETS, LINE_CODE_FIELDS, LINE_FIELDS

from .conftest import Api

DOCUMENTED = Path(__file__).parent / "data" / "business_central"


def documented(name: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads((DOCUMENTED / f"{name}.json").read_text())
    return answer


def client_for(sandbox: RunningSandbox) -> ErpClient:
    env = sandbox.settings()
    return ErpClient(
        ErpSettings(
            base_url=env["ERP_BASE_URL"],
            token_url=env["ERP_TOKEN_URL"],
            client_id=env["ERP_CLIENT_ID"],
            client_secret=env["ERP_CLIENT_SECRET"],
            scope="",
            company_id=env["ERP_COMPANY_ID"],
            test_item="1896-S",
            timeout=5,
            connect_timeout=5,
            sandbox=True,
        )
    )


def a_customer(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"displayName": "Fidelity test", "country": "BE", **fields}
    answer = api("POST", "customers", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def an_order(api: Api, customer_id: str, reference: str, quantity: int = 1) -> dict[str, Any]:
    answer = api(
        "POST",
        "salesOrders",
        json={
            "externalDocumentNumber": reference,
            "customerId": customer_id,
            "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": quantity},
                {"lineType": "Item", "lineObjectNumber": "1900-S", "quantity": 1},
            ],
        },
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


# -- Code fields: stored upper-case and trimmed ----------------------------------


def test_the_sandbox_keeps_code_fields_upper_case_and_text_fields_as_sent(api: Api) -> None:
    customer = a_customer(api, displayName="Café de Kleine Zavel", postalCode=" 1234 ab ")
    assert customer["postalCode"] == "1234 AB"
    assert customer["displayName"] == "Café de Kleine Zavel"
    order = an_order(api, customer["id"], "web-1001-a3f2")
    assert order["externalDocumentNumber"] == "WEB-1001-A3F2"


def test_the_sandbox_filters_code_fields_on_their_stored_form(api: Api) -> None:
    customer = a_customer(api)
    an_order(api, customer["id"], "web-2002")
    exact = {"$filter": "externalDocumentNumber eq 'WEB-2002'"}
    lower = {"$filter": "externalDocumentNumber eq 'web-2002'"}
    assert len(api("GET", "salesOrders", params=exact).json()["value"]) == 1
    assert api("GET", "salesOrders", params=lower).json()["value"] == []


def test_a_mixed_case_reference_reads_back_without_a_false_alarm(sandbox: RunningSandbox) -> None:
    erp = client_for(sandbox)
    customer = erp.create("customers", {"displayName": "Mixed case", "country": "be"})
    sent = {
        "externalDocumentNumber": "Shop-Order-a3f2",
        "customerId": customer["id"],
        "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "1896-s", "quantity": 1}],
    }
    order = erp.create("salesOrders", sent)
    stored = erp.read_back(
        "salesOrders",
        order,
        sent=sent,
        fields=("externalDocumentNumber", "customerId"),
        find_by={"externalDocumentNumber": "Shop-Order-a3f2"},
    )
    assert stored["externalDocumentNumber"] == "SHOP-ORDER-A3F2"
    erp.read_back("customers", customer, sent={"country": "be"}, fields=("country",))


def test_a_code_field_that_really_differs_is_still_reported_as_sent() -> None:
    from erpwatch._bc_rules import stored_form

    with pytest.raises(DataMismatch) as failure:
        expect_same_fields(
            {"externalDocumentNumber": "web-1001"},
            {"externalDocumentNumber": "WEB-1002"},
            ["externalDocumentNumber"],
            call="GET /salesOrders(…)",
            stored_as=lambda field, value: stored_form("salesOrders", field, value),
        )
    assert "sent 'web-1001', ERP has 'WEB-1002'" in str(failure.value)


def test_synthetic_references_are_upper_case_and_fit_a_code_35_field() -> None:
    synthetic = SyntheticData("2611272104-a3f2")
    reference = synthetic.reference()
    assert reference == reference.upper()
    assert reference.startswith("ERPWATCH-2611272104-A3F2-")
    long_run = SyntheticData("123456789012345678901234567890-7")
    for prefix in ("", "PO-"):
        made = long_run.reference(prefix)
        assert made.startswith(prefix + "ERPWATCH-")
        assert len(made) <= 35
    assert len({long_run.reference() for _ in range(50)}) == 50


# -- totals after the invoice discount -------------------------------------------


def test_an_order_over_the_discount_minimum_gets_an_invoice_discount_spread_over_its_lines(
    api: Api,
) -> None:
    customer = a_customer(api)
    order = an_order(api, customer["id"], "WEB-3003", quantity=3)
    lines = order["salesOrderLines"]
    before = sum(line["amountExcludingTax"] for line in lines)
    assert order["discountAmount"] == pytest.approx(round(before * 0.02, 2))
    # What the order monitor used to compare: the lines before the discount.
    assert order["totalAmountExcludingTax"] != pytest.approx(before)
    assert order["totalAmountExcludingTax"] == pytest.approx(
        sum(line["netAmount"] for line in lines)
    )
    assert sum(line["invoiceDiscountAllocation"] for line in lines) == pytest.approx(
        order["discountAmount"]
    )
    expect_document_totals(order, lines, call="POST /salesOrders")


def test_an_explicit_discount_amount_is_applied_and_cannot_exceed_the_order(api: Api) -> None:
    customer = a_customer(api)
    body = {
        "customerId": customer["id"],
        "discountAmount": 10.5,
        "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "1900-S", "quantity": 1}],
    }
    order = api("POST", "salesOrders", json=body).json()
    assert order["discountAmount"] == 10.5
    assert order["totalAmountExcludingTax"] == pytest.approx(192.8 - 10.5)
    too_much = api("POST", "salesOrders", json={**body, "discountAmount": 1000})
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "Application_DialogException"


def test_document_totals_fail_when_the_header_is_not_the_sum_of_the_net_lines() -> None:
    line = documented("salesOrderLine")
    header = {
        "totalAmountExcludingTax": line["netAmount"],
        "totalAmountIncludingTax": line["netAmountIncludingTax"],
        "discountAmount": 0,
    }
    expect_document_totals(header, [line], call="GET /salesOrders(…)")
    with pytest.raises(DataMismatch, match=r"totalAmountExcludingTax: lines give 16767\.6"):
        expect_document_totals(
            {**header, "totalAmountExcludingTax": 16000}, [line], call="GET /salesOrders(…)"
        )
    with pytest.raises(DataMismatch, match="line 1: netAmount"):
        expect_document_totals(
            header, [{**line, "invoiceDiscountAllocation": 100}], call="GET /salesOrders(…)"
        )
    with pytest.raises(DataMismatch, match="line 1: netAmount is missing"):
        expect_document_totals(
            header,
            [{k: v for k, v in line.items() if k != "netAmount"}],
            call="GET /salesOrders(…)",
        )


def test_with_prices_including_vat_only_the_net_amounts_are_compared() -> None:
    """BC's header discountAmount then includes VAT while the lines' shares do not:
    comparing them would cry wolf on every such document with a discount."""
    line = {**documented("salesOrderLine"), "invoiceDiscountAllocation": 100}
    header = {
        "totalAmountExcludingTax": line["netAmount"],
        "totalAmountIncludingTax": line["netAmountIncludingTax"],
        "discountAmount": 121,
    }
    expect_document_totals({**header, "pricesIncludeTax": True}, [line], call="GET /salesOrders")
    with pytest.raises(DataMismatch, match="discountAmount"):
        expect_document_totals({**header, "pricesIncludeTax": False}, [line], call="GET /x")
    with pytest.raises(DataMismatch, match="totalAmountExcludingTax"):
        expect_document_totals(
            {**header, "pricesIncludeTax": True, "totalAmountExcludingTax": 1},
            [line],
            call="GET /salesOrders",
        )


# -- server-side paging ------------------------------------------------------------


def test_the_sandbox_pages_collections_and_the_client_reads_every_page(
    sandbox: RunningSandbox, api: Api
) -> None:
    for index in range(11):
        a_customer(api, displayName=f"Paged {index}")
    first = api("GET", "customers").json()
    assert len(first["value"]) == 5
    assert "$skiptoken=" in first["@odata.nextLink"]
    assert len(api.all("customers")) == 13
    found = client_for(sandbox).find("customers", country="be")
    assert len(found) == 13
    small = api("GET", "customers", headers={"Prefer": "odata.maxpagesize=2"})
    assert len(small.json()["value"]) == 2
    assert small.headers["Preference-Applied"] == "odata.maxpagesize=2"


BASE = "https://erp.example/api/v2.0"
COMPANY = "5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21"
CUSTOMERS = f"{BASE}/companies({COMPANY})/customers"


def offline_client() -> ErpClient:
    settings = ErpSettings(
        base_url=BASE,
        token_url="https://login.example/token",
        client_id="client",
        client_secret="very-secret",
        scope="",
        company_id=COMPANY,
        test_item="1896-S",
        timeout=30,
        connect_timeout=5,
        sandbox=False,
    )
    return ErpClient(settings)


@responses.activate
def test_a_next_page_link_to_another_host_is_refused_and_gets_no_token() -> None:
    responses.post("https://login.example/token", json={"access_token": "t", "expires_in": 3599})
    responses.get(
        CUSTOMERS,
        json={"value": [documented("customer")], "@odata.nextLink": "https://evil.example/c"},
    )
    stolen = responses.get("https://evil.example/c", json={"value": []})
    with pytest.raises(ErpCallFailed, match="not on the ERP's own address") as failure:
        offline_client().find("customers")
    assert stolen.call_count == 0
    assert failure.value.unexpected_body


@responses.activate
def test_a_list_that_never_ends_is_cut_and_reported_not_silently_truncated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(erp_module, "MAX_PAGES", 4)
    responses.post("https://login.example/token", json={"access_token": "t", "expires_in": 3599})
    pages = iter(range(1, 100))

    def endless(request: Any) -> tuple[int, dict[str, str], str]:
        # Every page links to a new one: no loop, just no end.
        link = f"{CUSTOMERS}?$skiptoken={next(pages)}"
        return 200, {}, json.dumps({"value": [documented("customer")], "@odata.nextLink": link})

    endless_pages = responses.add_callback(responses.GET, CUSTOMERS, callback=endless)
    with pytest.raises(ErpCallFailed, match="stopped listing after 4 pages and 4 records"):
        offline_client().find("customers")
    assert endless_pages.call_count == 4


@responses.activate
def test_a_list_whose_next_link_leads_back_to_itself_is_stopped_as_a_paging_loop() -> None:
    responses.post("https://login.example/token", json={"access_token": "t", "expires_in": 3599})
    looping = responses.get(
        CUSTOMERS, json={"value": [documented("customer")], "@odata.nextLink": CUSTOMERS}
    )
    with pytest.raises(ErpCallFailed, match="a paging loop"):
        offline_client().find("customers")
    assert looping.call_count == 2


@responses.activate
def test_the_client_reads_documented_answers_across_pages() -> None:
    responses.post("https://login.example/token", json={"access_token": "t", "expires_in": 3599})
    second = f"{CUSTOMERS}?$filter=country%20eq%20'US'&$skiptoken=10000"
    responses.get(
        CUSTOMERS,
        match=[responses.matchers.query_param_matcher({"$filter": "country eq 'US'"})],
        json={"value": [documented("customer")], "@odata.nextLink": second},
    )
    responses.get(
        second,
        json={"value": [{**documented("customer"), "number": "20000"}]},
    )
    found = offline_client().find("customers", country="us")
    assert [c["number"] for c in found] == ["10000", "20000"]


# -- the sandbox answers what Microsoft documents ------------------------------------


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


@pytest.fixture
def one_of_each(api: Api) -> dict[str, dict[str, Any]]:
    customer = a_customer(api, taxRegistrationNumber="BE0403170701")
    order = an_order(api, customer["id"], "WEB-4004")
    invoice = api(
        "POST",
        "salesInvoices",
        json={
            "customerId": customer["id"],
            "salesInvoiceLines": [
                {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1}
            ],
        },
    ).json()
    item = api("GET", "items", params={"$filter": "number eq '1896-S'"}).json()["value"][0]
    return {
        "customer": api("GET", f"customers({customer['id']})").json(),
        "item": item,
        "salesOrder": api("GET", f"salesOrders({order['id']})").json(),
        "salesOrderLine": order["salesOrderLines"][0],
        "salesInvoice": api("GET", f"salesInvoices({invoice['id']})").json(),
    }


@pytest.mark.parametrize(
    "name", ["customer", "item", "salesOrder", "salesOrderLine", "salesInvoice"]
)
def test_the_sandbox_answers_every_documented_property_with_its_type(
    name: str, one_of_each: dict[str, dict[str, Any]]
) -> None:
    ours, theirs = one_of_each[name], documented(name)
    assert sorted(set(theirs) - set(ours)) == []
    assert {k: _json_type(ours[k]) for k in theirs} == {k: _json_type(v) for k, v in theirs.items()}


def test_the_client_and_the_sandbox_agree_on_which_fields_are_code_fields() -> None:
    for entity_set, fields in CODE_FIELDS.items():
        if entity_set.endswith("Lines"):
            assert fields <= LINE_CODE_FIELDS
            assert fields <= LINE_FIELDS
        else:
            assert fields == ENTITY_SETS[entity_set].code_fields & fields
            assert fields <= ENTITY_SETS[entity_set].fields, entity_set


def test_documented_code_values_are_already_upper_case() -> None:
    """Microsoft's own examples never show a lower-case Code value."""
    for name, entity_set in [
        ("customer", "customers"),
        ("item", "items"),
        ("salesOrder", "salesOrders"),
        ("salesInvoice", "salesInvoices"),
        ("salesOrderLine", "salesOrderLines"),
    ]:
        answer = documented(name)
        for field in CODE_FIELDS[entity_set] & set(answer):
            assert answer[field] == answer[field].upper(), (name, field)


def test_an_order_found_by_a_lower_case_reference_is_found_through_the_client(
    sandbox: RunningSandbox,
) -> None:
    api = Api(sandbox)
    customer = a_customer(api)
    an_order(api, customer["id"], "web-5005")
    assert len(client_for(sandbox).find("salesOrders", externalDocumentNumber="web-5005")) == 1
    assert requests.get(f"{sandbox.root_url}/_sandbox/health", timeout=5).ok


def test_a_small_page_size_can_be_chosen_for_a_sandbox() -> None:
    with start(SandboxApp(page_size=1)) as running:
        api = Api(running)
        page = api("GET", "items").json()
        assert len(page["value"]) == 1
        assert "@odata.nextLink" in page
        assert len(api.all("items")) == 8

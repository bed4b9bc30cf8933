"""The sandbox ERP, tested over real HTTP as any client would see it."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from erpwatch.sandbox import RunningSandbox, SandboxApp, parse_fault, start

from .conftest import Api

CORRELATION = re.compile(r"  CorrelationId:  [0-9a-f-]{36}\.$")


def expect_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert CORRELATION.search(error["message"]), error["message"]
    return str(error["message"])


def customer(**overrides: Any) -> dict[str, Any]:
    return {
        "displayName": "Bakkerij Van Damme",
        "type": "Company",
        "addressLine1": "Veldstraat 3",
        "city": "Brugge",
        "postalCode": "8000",
        "country": "BE",
        "email": "info@vandamme.example",
        "taxRegistrationNumber": "BE0403170701",
        **overrides,
    }


def order_for(customer_id: str, reference: str = "WEB-1001", **overrides: Any) -> dict[str, Any]:
    return {
        "externalDocumentNumber": reference,
        "customerId": customer_id,
        "salesOrderLines": [
            {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 2},
            {"lineType": "Item", "lineObjectNumber": "1900-S", "quantity": 1},
        ],
        **overrides,
    }


# -- OAuth2 ------------------------------------------------------------------------


def test_the_token_endpoint_issues_bearer_tokens_for_the_test_credentials(
    sandbox: RunningSandbox,
) -> None:
    settings = sandbox.settings()
    answer = requests.post(
        settings["ERP_TOKEN_URL"],
        data={
            "grant_type": "client_credentials",
            "client_id": settings["ERP_CLIENT_ID"],
            "client_secret": settings["ERP_CLIENT_SECRET"],
            "scope": "https://api.businesscentral.dynamics.com/.default",
        },
        timeout=5,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert len(body["access_token"]) > 20


def test_the_token_endpoint_refuses_a_wrong_secret_with_invalid_client(
    sandbox: RunningSandbox,
) -> None:
    settings = sandbox.settings()
    answer = requests.post(
        settings["ERP_TOKEN_URL"],
        data={
            "grant_type": "client_credentials",
            "client_id": settings["ERP_CLIENT_ID"],
            "client_secret": "x",
        },
        timeout=5,
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.json()["error_description"]


def test_the_token_endpoint_refuses_other_grant_types(sandbox: RunningSandbox) -> None:
    answer = requests.post(
        sandbox.settings()["ERP_TOKEN_URL"], data={"grant_type": "password"}, timeout=5
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_the_api_refuses_calls_without_a_valid_token(sandbox: RunningSandbox) -> None:
    base = sandbox.settings()["ERP_BASE_URL"]
    expect_error(
        requests.get(f"{base}/companies", timeout=5), 401, "Authentication_InvalidCredentials"
    )
    answer = requests.get(f"{base}/companies", headers={"Authorization": "Bearer nope"}, timeout=5)
    expect_error(answer, 401, "Authentication_InvalidCredentials")


def test_an_expired_token_is_refused() -> None:
    now = [1000.0]
    with start(SandboxApp(token_ttl=60, clock=lambda: now[0])) as running:
        api = Api(running)
        assert api("GET", "items").status_code == 200
        now[0] += 61
        expect_error(api("GET", "items"), 401, "Authentication_InvalidCredentials")


# -- companies and items -----------------------------------------------------------


def test_companies_are_listed_as_an_odata_collection(api: Api) -> None:
    answer = api("GET", f"{api.settings['ERP_BASE_URL']}/companies")
    body = answer.json()
    assert "@odata.context" in body
    assert [c["id"] for c in body["value"]] == [api.settings["ERP_COMPANY_ID"]]
    single = api("GET", api.company).json()
    assert single["name"] == "CRONUS BE"


def test_an_unknown_company_is_not_found(api: Api) -> None:
    url = f"{api.settings['ERP_BASE_URL']}/companies(00000000-0000-0000-0000-000000000001)/items"
    expect_error(api("GET", url), 404, "BadRequest_ResourceNotFound")


def test_items_can_be_filtered_by_number(api: Api) -> None:
    body = api("GET", "items", params={"$filter": "number eq '1896-S'"}).json()
    assert [item["number"] for item in body["value"]] == ["1896-S"]
    item = body["value"][0]
    assert {"id", "displayName", "unitPrice", "blocked", "@odata.etag"} <= set(item)
    assert item["blocked"] is False


def test_top_skip_and_select_shape_a_collection(api: Api) -> None:
    everything = api.all("items")
    page = api("GET", "items", params={"$top": "2", "$skip": "1", "$select": "number"}).json()[
        "value"
    ]
    assert [i["number"] for i in page] == [i["number"] for i in everything[1:3]]
    assert set(page[0]) == {"@odata.etag", "id", "number"}


@pytest.mark.parametrize(
    "query",
    [
        {"$filter": "colour eq 'red'"},
        {"$filter": "number gt '1'"},
        {"$filter": "number eq"},
        {"$filter": "number eq '1896-S' or number eq '1900-S'"},
        {"$top": "many"},
        {"$expand": "salesOrderLines"},
        {"$select": "colour"},
    ],
)
def test_a_query_the_api_does_not_understand_is_a_bad_request(
    api: Api, query: dict[str, str]
) -> None:
    expect_error(api("GET", "items", params=query), 400, "BadRequest")


def test_items_cannot_be_created_through_the_api(api: Api) -> None:
    expect_error(api("POST", "items", json={"number": "X"}), 405, "BadRequest_MethodNotAllowed")


def test_an_unknown_entity_set_is_not_found(api: Api) -> None:
    expect_error(api("GET", "vendorsAndStuff"), 404, "BadRequest_ResourceNotFound")


# -- customers ---------------------------------------------------------------------


def test_a_created_customer_gets_an_id_and_number_and_can_be_read_back(api: Api) -> None:
    answer = api("POST", "customers", json=customer())
    assert answer.status_code == 201
    created = answer.json()
    assert re.fullmatch(r"[0-9a-f-]{36}", created["id"])
    assert created["number"].startswith("C")
    assert created["taxRegistrationNumber"] == "BE0403170701"
    assert created["lastModifiedDateTime"].endswith("Z")
    assert answer.headers["ETag"] == created["@odata.etag"]
    assert answer.headers["Location"].endswith(f"customers({created['id']})")
    read = api("GET", f"customers({created['id']})").json()
    assert {k: read[k] for k in customer()} == customer()
    assert read["@odata.etag"] == created["@odata.etag"]


def test_customers_can_be_found_by_a_filter_on_two_fields(api: Api) -> None:
    api("POST", "customers", json=customer(displayName="O'Neill Trading"))
    found = api(
        "GET",
        "customers",
        params={"$filter": "displayName eq 'O''Neill Trading' and city eq 'Brugge'"},
    ).json()["value"]
    assert [c["displayName"] for c in found] == ["O'Neill Trading"]


def test_a_customer_without_a_name_is_refused_as_a_missing_parameter(api: Api) -> None:
    message = expect_error(
        api("POST", "customers", json={"city": "Gent"}), 400, "BadRequest_RequiredParamNotProvided"
    )
    assert "displayName" in message


def test_an_unknown_customer_property_is_a_bad_request(api: Api) -> None:
    message = expect_error(
        api("POST", "customers", json=customer(vatNumber="BE1")), 400, "BadRequest"
    )
    assert "'vatNumber' does not exist" in message


def test_malformed_json_is_a_bad_request(api: Api) -> None:
    answer = api(
        "POST", "customers", data="{not json", headers={"Content-Type": "application/json"}
    )
    expect_error(answer, 400, "BadRequest")


def test_a_too_long_name_is_refused_with_the_string_length_error(api: Api) -> None:
    expect_error(
        api("POST", "customers", json=customer(displayName="x" * 101)),
        400,
        "Application_StringExceededLength",
    )


def test_a_duplicate_customer_number_is_a_conflict(api: Api) -> None:
    assert api("POST", "customers", json=customer(number="WEBC-1")).status_code == 201
    message = expect_error(
        api("POST", "customers", json=customer(number="WEBC-1")),
        409,
        "Internal_EntityWithSameKeyExists",
    )
    assert "WEBC-1" in message


def test_an_unknown_customer_id_is_not_found(api: Api) -> None:
    expect_error(
        api("GET", "customers(6d1c1c1c-0000-4000-8000-000000000000)"),
        404,
        "BadRequest_ResourceNotFound",
    )


def test_deleting_needs_if_match_and_refuses_a_stale_etag(api: Api) -> None:
    created = api("POST", "customers", json=customer()).json()
    path = f"customers({created['id']})"
    expect_error(api("DELETE", path), 400, "BadRequest")
    stale = 'W/"' + "bm90LXRoZS1ldGFn" + '"'
    expect_error(api("DELETE", path, headers={"If-Match": stale}), 409, "Request_EntityChanged")
    assert api("DELETE", path, headers={"If-Match": created["@odata.etag"]}).status_code == 204
    expect_error(api("GET", path), 404, "BadRequest_ResourceNotFound")


def test_deleting_with_a_wildcard_etag_works(api: Api) -> None:
    created = api("POST", "customers", json=customer()).json()
    assert (
        api("DELETE", f"customers({created['id']})", headers={"If-Match": "*"}).status_code == 204
    )


# -- sales orders ------------------------------------------------------------------


def test_an_order_with_lines_is_created_in_one_deep_insert(api: Api) -> None:
    buyer = api("POST", "customers", json=customer()).json()
    answer = api("POST", "salesOrders", json=order_for(buyer["id"]))
    assert answer.status_code == 201
    order = answer.json()
    assert order["status"] == "Draft"
    assert order["customerNumber"] == buyer["number"]
    assert order["externalDocumentNumber"] == "WEB-1001"
    lines = order["salesOrderLines"]
    assert [(line["lineObjectNumber"], line["quantity"], line["sequence"]) for line in lines] == [
        ("1896-S", 2, 10000),
        ("1900-S", 1, 20000),
    ]
    assert order["totalAmountExcludingTax"] == pytest.approx(2 * 1000.8 + 192.8)
    assert order["totalAmountIncludingTax"] == pytest.approx((2 * 1000.8 + 192.8) * 1.21, abs=0.02)


def test_an_order_can_be_read_with_its_lines_and_found_by_webshop_number(api: Api) -> None:
    buyer = api("POST", "customers", json=customer()).json()
    order = api("POST", "salesOrders", json=order_for(buyer["id"], "WEB-2002")).json()
    plain = api("GET", f"salesOrders({order['id']})").json()
    assert "salesOrderLines" not in plain
    expanded = api(
        "GET", f"salesOrders({order['id']})", params={"$expand": "salesOrderLines"}
    ).json()
    assert len(expanded["salesOrderLines"]) == 2
    lines = api("GET", f"salesOrders({order['id']})/salesOrderLines").json()["value"]
    assert [line["id"] for line in lines] == [line["id"] for line in expanded["salesOrderLines"]]
    found = api(
        "GET", "salesOrders", params={"$filter": "externalDocumentNumber eq 'WEB-2002'"}
    ).json()["value"]
    assert [o["id"] for o in found] == [order["id"]]


def test_an_order_can_name_its_customer_by_number(api: Api) -> None:
    answer = api(
        "POST",
        "salesOrders",
        json={**order_for(""), "customerId": None, "customerNumber": "C00010"},
    )
    # customerId null is a type error in BC; without it the number is used.
    assert answer.status_code == 400
    body = order_for("")
    del body["customerId"]
    answer = api("POST", "salesOrders", json={**body, "customerNumber": "C00010"})
    assert answer.status_code == 201
    assert answer.json()["customerName"] == "Zeebries Tuinmeubelen BV"


def test_an_order_without_a_customer_is_refused_with_the_dialog_error(api: Api) -> None:
    body = order_for("")
    del body["customerId"]
    message = expect_error(
        api("POST", "salesOrders", json=body), 400, "Application_DialogException"
    )
    assert 'A "customerNumber" or a "customerId" must be provided.' in message  # AL label


def test_an_order_for_an_unknown_item_or_a_blocked_item_is_refused(api: Api) -> None:
    buyer = api("POST", "customers", json=customer()).json()
    unknown = order_for(buyer["id"])
    unknown["salesOrderLines"] = [{"lineType": "Item", "lineObjectNumber": "NOPE", "quantity": 1}]
    expect_error(
        api("POST", "salesOrders", json=unknown), 400, "Application_FieldValidationException"
    )
    blocked = order_for(buyer["id"])
    blocked["salesOrderLines"] = [{"lineType": "Item", "lineObjectNumber": "1928-S", "quantity": 1}]
    expect_error(api("POST", "salesOrders", json=blocked), 400, "Application_DialogException")


def test_a_customer_with_an_order_cannot_be_deleted_before_the_order(api: Api) -> None:
    buyer = api("POST", "customers", json=customer()).json()
    order = api("POST", "salesOrders", json=order_for(buyer["id"])).json()
    expect_error(
        api("DELETE", f"customers({buyer['id']})", headers={"If-Match": "*"}),
        400,
        "Application_DialogException",
    )
    assert (
        api(
            "DELETE", f"salesOrders({order['id']})", headers={"If-Match": order["@odata.etag"]}
        ).status_code
        == 204
    )
    assert api("DELETE", f"customers({buyer['id']})", headers={"If-Match": "*"}).status_code == 204


# -- sales invoices ------------------------------------------------------------------


def test_an_invoice_goes_from_draft_to_open_when_posted_and_then_cannot_be_deleted(
    api: Api,
) -> None:
    buyer = api("POST", "customers", json=customer()).json()
    invoice = api(
        "POST",
        "salesInvoices",
        json={
            "externalDocumentNumber": "WEB-3003",
            "customerId": buyer["id"],
            "salesInvoiceLines": [
                {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1}
            ],
        },
    ).json()
    assert invoice["status"] == "Draft"
    assert api("POST", f"salesInvoices({invoice['id']})/Microsoft.NAV.post").status_code == 204
    found = api(
        "GET", "salesInvoices", params={"$filter": "externalDocumentNumber eq 'WEB-3003'"}
    ).json()["value"]
    assert [(i["status"], i["remainingAmount"]) for i in found] == [
        ("Open", found[0]["totalAmountIncludingTax"])
    ]
    message = expect_error(
        api("DELETE", f"salesInvoices({invoice['id']})", headers={"If-Match": "*"}),
        400,
        "Application_DialogException",
    )
    assert invoice["number"] in message


def test_a_draft_invoice_can_be_deleted(api: Api) -> None:
    buyer = api("POST", "customers", json=customer()).json()
    invoice = api(
        "POST", "salesInvoices", json={"customerId": buyer["id"], "salesInvoiceLines": []}
    ).json()
    expect_error(
        api("POST", f"salesInvoices({invoice['id']})/Microsoft.NAV.post"),
        400,
        "Application_DialogException",
    )
    assert (
        api("DELETE", f"salesInvoices({invoice['id']})", headers={"If-Match": "*"}).status_code
        == 204
    )


# -- faults and controls ---------------------------------------------------------------


def test_a_throttle_fault_answers_429_with_retry_after_on_its_target_only(api: Api) -> None:
    fault = requests.post(
        f"{api.root}/_sandbox/faults",
        json={"kind": "throttle", "target": "salesOrders", "method": "POST", "retry_after": 7},
        timeout=5,
    )
    assert fault.status_code == 201
    buyer = api("POST", "customers", json=customer()).json()
    answer = api("POST", "salesOrders", json=order_for(buyer["id"]))
    expect_error(answer, 429, "Application_TooManyRequests")
    assert answer.headers["Retry-After"] == "7"
    assert api("GET", "salesOrders").status_code == 200


def test_an_unavailable_fault_answers_503_for_a_limited_number_of_calls(api: Api) -> None:
    requests.post(
        f"{api.root}/_sandbox/faults", json={"kind": "unavailable", "times": 2}, timeout=5
    )
    expect_error(api("GET", "items"), 503, "Application_ServiceUnavailable")
    expect_error(api("GET", "customers"), 503, "Application_ServiceUnavailable")
    assert api("GET", "items").status_code == 200


def test_faults_can_be_listed_and_cleared(api: Api) -> None:
    requests.post(f"{api.root}/_sandbox/faults", json={"kind": "throttle"}, timeout=5)
    listed = requests.get(f"{api.root}/_sandbox/faults", timeout=5).json()
    assert [f["kind"] for f in listed["faults"]] == ["throttle"]
    assert "unavailable" in listed["kinds"]
    assert requests.delete(f"{api.root}/_sandbox/faults", timeout=5).status_code == 204
    assert api("GET", "items").status_code == 200


def test_a_mistyped_fault_target_is_refused_by_the_api_naming_the_targets(api: Api) -> None:
    answer = requests.post(
        f"{api.root}/_sandbox/faults", json={"kind": "unavailable", "target": "customer"}, timeout=5
    )
    assert answer.status_code == 400
    assert (
        "unknown target 'customer'; targets: *, token, companies, customers"
        in (answer.json()["error"])
    )
    assert requests.get(f"{api.root}/_sandbox/faults", timeout=5).json()["faults"] == []


def test_an_unknown_fault_kind_is_refused_with_the_known_kinds(api: Api) -> None:
    answer = requests.post(f"{api.root}/_sandbox/faults", json={"kind": "gremlins"}, timeout=5)
    assert answer.status_code == 400
    assert "throttle" in answer.json()["error"]


def test_reset_restores_the_seeded_company_and_revokes_tokens(
    sandbox: RunningSandbox, api: Api
) -> None:
    api("POST", "customers", json=customer())
    assert requests.post(f"{api.root}/_sandbox/reset", timeout=5).status_code == 204
    expect_error(api("GET", "customers"), 401, "Authentication_InvalidCredentials")
    numbers = [c["number"] for c in Api(sandbox).all("customers")]
    assert numbers == ["C00010", "C00020"]


# -- concurrency -----------------------------------------------------------------------


def test_concurrent_clients_get_unique_numbers_and_consistent_data(api: Api) -> None:
    def create(index: int) -> dict[str, Any]:
        answer = api("POST", "customers", json=customer(displayName=f"Parallel {index}"))
        assert answer.status_code == 201
        return dict(answer.json())

    with ThreadPoolExecutor(max_workers=16) as pool:
        created = list(pool.map(create, range(64)))
    assert len({c["number"] for c in created}) == 64
    listed = api.all("customers")
    assert {c["id"] for c in created} <= {c["id"] for c in listed}


def test_faults_are_parsed_from_the_command_line_form_with_options() -> None:
    fault = parse_fault("slow:salesOrders:post,delay=2.5,times=3")
    assert (fault.kind, fault.target, fault.method, fault.delay, fault.times) == (
        "slow",
        "salesOrders",
        "POST",
        2.5,
        3,
    )
    drift = parse_fault("renamed_on_read:salesOrders")
    assert (drift.field, drift.renamed_to) == (
        "externalDocumentNumber",
        "externalDocumentNumber_v2",
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (
            "slow:salesOrders:POST,delay=soon",
            "fault 'delay' must be a number of seconds, not 'soon'",
        ),
        ("throttle,retry", "option 'retry' needs a value"),
        ("renamed_on_read:items", "fault 'renamed_on_read' on 'items' needs a field"),
        ({"kind": "throttle", "times": 0}, "fault 'times' must be a whole number of at least 1"),
        ({"kind": "throttle", "colour": "red"}, "unknown option(s) colour"),
        (
            {"kind": "unavailable", "target": "customer"},
            "fault 'unavailable': unknown target 'customer'; targets: *, token, companies, "
            "customers, items, salesOrders, salesInvoices",
        ),
        (
            "vat_required:salesOrder",
            "fault 'vat_required': unknown target 'salesOrder'; targets: *, customers, "
            "salesOrders, salesInvoices",
        ),
        ("vat_required:items", "fault 'vat_required': unknown target 'items'"),
        (
            "slow:salesOrders:SEND",
            "fault 'slow': unknown method 'SEND'; methods: *, GET, POST, PATCH, PUT, DELETE",
        ),
        (
            "unavailable,delay=3",
            "fault 'unavailable' does not take delay; it takes: target, method, times",
        ),
        (
            "webhook_lost:salesOrders",
            "fault 'webhook_lost' does not take target; it takes: times",
        ),
    ],
)
def test_a_fault_the_sandbox_cannot_understand_is_refused_with_the_reason(
    spec: Any, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_fault(spec)


def test_a_reset_fault_drops_the_connection_without_an_answer(api: Api) -> None:
    requests.post(
        f"{api.root}/_sandbox/faults",
        json={"kind": "reset", "target": "items", "times": 1},
        timeout=5,
    )
    with pytest.raises(requests.ConnectionError):
        api("GET", "items")
    assert api("GET", "items").status_code == 200


def test_a_not_persisted_fault_answers_201_but_stores_nothing(api: Api) -> None:
    requests.post(
        f"{api.root}/_sandbox/faults",
        json={"kind": "not_persisted", "target": "customers"},
        timeout=5,
    )
    created = api("POST", "customers", json=customer())
    assert created.status_code == 201
    expect_error(
        api("GET", f"customers({created.json()['id']})"), 404, "BadRequest_ResourceNotFound"
    )


def test_a_renamed_on_read_fault_renames_the_field_in_every_answer(api: Api) -> None:
    requests.post(
        f"{api.root}/_sandbox/faults",
        json={"kind": "renamed_on_read", "target": "customers"},
        timeout=5,
    )
    created = api("POST", "customers", json=customer()).json()
    assert "taxRegistrationNumber" not in created
    assert created["taxRegistrationNumber_v2"] == "BE0403170701"
    listed = api.all("customers")
    assert all("taxRegistrationNumber_v2" in c for c in listed)


def test_a_maintenance_page_fault_answers_html_with_status_200(api: Api) -> None:
    requests.post(f"{api.root}/_sandbox/faults", json={"kind": "maintenance_page"}, timeout=5)
    page = api("GET", "items")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<title>Scheduled maintenance</title>" in page.text

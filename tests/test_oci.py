"""OCI: erpwatch calls a catalogue as SAP does, reaches the transfer as a buyer does, and
judges the NEW_ITEM-* fields as SAP would: a captured real transfer passes."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
import requests
from lxml import html as lxml_html
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from erpwatch import PunchoutCallFailed
from erpwatch.config import OciSettings
from erpwatch.punchout import OciClient, oci_lines, oci_problems, unit_codes
from erpwatch.sandbox import RunningSandbox

REAL_WORLD = Path(__file__).parent / "data" / "oci" / "real_world.html"
REAL_HOOK = "http://return.to/me"  # the HOOK_URL of the captured transfer
HOOK = "https://procurement.example/sap/bc/gui/hook"


def captured_page() -> bytes:
    """The captured answer's body, without its HTTP header lines."""
    return REAL_WORLD.read_bytes().split(b"\n\n", 1)[1]


def client(url: str, **changes: object) -> OciClient:
    settings = OciSettings(url=url, username="buyer", password="sandbox-oci-password")
    return OciClient(dataclasses.replace(settings, **changes))  # type: ignore[arg-type]


@pytest.fixture
def shop() -> Iterator[tuple[str, dict[str, Callable[[Request], Response]], list[Request]]]:
    """A shop of our own on loopback: routes are set per test; requests are kept."""
    routes: dict[str, Callable[[Request], Response]] = {}
    seen: list[Request] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.get_data()  # keep the body readable after the answer
        seen.append(request)
        route = routes.get(f"{request.method} {request.path}")
        answer = route(request) if route else Response("not here", status=404)
        return answer(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}", routes, seen
    server.shutdown()
    thread.join(timeout=5)


def html(body: str) -> Response:
    return Response(f"<!DOCTYPE html><html><body>{body}</body></html>", mimetype="text/html")


def transfer_page(hook: str, fields: dict[str, str]) -> Response:
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return html(
        f'<form action="{hook}" method="post">{inputs}</form><script>document.forms[0].submit()</script>'
    )


GOOD_LINE = {
    "NEW_ITEM-DESCRIPTION[1]": "ATHENS Desk",
    "NEW_ITEM-QUANTITY[1]": "2",
    "NEW_ITEM-UNIT[1]": "PCE",
    "NEW_ITEM-PRICE[1]": "1000.80",
    "NEW_ITEM-CURRENCY[1]": "EUR",
    "NEW_ITEM-VENDORMAT[1]": "1896-S",
}


# -- the captured real transfer ------------------------------------------------------


def test_the_captured_real_transfer_is_read_from_the_form_that_posts_to_the_hook_url(
    shop: tuple[str, dict[str, Callable[[Request], Response]], list[Request]],
) -> None:
    root, routes, _ = shop
    routes["GET /catalog"] = lambda request: Response(captured_page(), mimetype="text/html")
    fields = client(f"{root}/catalog").transfer(hook_url=REAL_HOOK)
    assert oci_lines(fields) == list(range(1, 11))
    assert fields["NEW_ITEM-EXT_PRODUCT_ID[8]"] == "ECP55321E"
    assert fields["NEW_ITEM-UNIT[4]"] == "PA"
    assert fields["NEW_ITEM-PRICE[1]"] == "00000001730.900"
    assert "NEW_ITEM-VENDORMAT[1]" not in fields


def real_form() -> lxml_html.FormElement:
    forms = lxml_html.document_fromstring(captured_page()).xpath("//form")
    assert isinstance(forms, list)
    assert len(forms) == 1
    assert isinstance(forms[0], lxml_html.FormElement)
    return forms[0]


def real_fields() -> dict[str, str]:
    return {name: str(value) for name, value in real_form().form_values()}


def test_the_captured_real_transfer_has_no_problem() -> None:
    assert real_form().action == REAL_HOOK
    assert oci_problems(real_fields()) == {}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("NEW_ITEM-PRICE[3]", "68,53", "a decimal with a point (1000.80)"),
        ("NEW_ITEM-PRICE[3]", "123456789012.530", "a decimal with a point (1000.80)"),
        ("NEW_ITEM-PRICE[3]", "68.5301", "a decimal with a point (1000.80)"),
        ("NEW_ITEM-UNIT[4]", "Stück", "an ISO unit code (UN/ECE Rec 20, e.g. PCE, EA, C62)"),
        ("NEW_ITEM-UNIT[4]", "PC", "an ISO unit code (UN/ECE Rec 20, e.g. PCE, EA, C62)"),
        ("NEW_ITEM-QUANTITY[2]", "0.0", "a positive number with a decimal point (1.000)"),
        ("NEW_ITEM-QUANTITY[2]", "1,5", "a positive number with a decimal point (1.000)"),
        ("NEW_ITEM-CURRENCY[9]", "€", "an ISO 4217 currency (EUR)"),
        ("NEW_ITEM-DESCRIPTION[10]", " ", "a value"),
        ("NEW_ITEM-PRICEUNIT[5]", "0", "a positive number (1)"),
        ("NEW_ITEM-LEADTIME[6]", "two days", "a whole number of days"),
    ],
)
def test_a_broken_field_in_the_real_transfer_is_named_with_what_sap_expects(
    field: str, value: str, expected: str
) -> None:
    fields = {**real_fields(), field: value}
    assert oci_problems(fields) == {field: (expected, value.strip() or "nothing")}


def test_a_line_that_names_its_item_nowhere_is_a_problem_and_any_one_id_is_enough() -> None:
    fields = real_fields()
    del fields["NEW_ITEM-MANUFACTMAT[7]"], fields["NEW_ITEM-EXT_PRODUCT_ID[7]"]
    assert list(oci_problems(fields)) == ["NEW_ITEM-EXT_PRODUCT_ID[7]"]
    assert oci_problems({**fields, "NEW_ITEM-VENDORMAT[7]": "94408078E"}) == {}
    assert oci_problems(GOOD_LINE) == {}


def test_an_empty_transfer_is_reported_as_an_empty_first_line() -> None:
    problems = oci_problems({"_snowman": "☃"})
    assert set(problems) >= {"NEW_ITEM-DESCRIPTION[1]", "NEW_ITEM-QUANTITY[1]", "NEW_ITEM-UNIT[1]"}


# -- units -----------------------------------------------------------------------------


def test_the_unit_list_is_rec_20_with_the_codes_sap_and_real_shops_use() -> None:
    codes = unit_codes()
    assert len(codes) == 2117
    assert {"PCE", "EA", "PA", "H87", "C62", "KGM", "MTR", "LTR", "HUR", "PK", "BX"} <= codes
    assert all(re.fullmatch(r"[0-9A-Z]{1,3}", code) for code in codes)
    assert "PC" not in codes  # SAP's internal unit for a piece; its ISO code is PCE


def test_a_unit_the_buyers_sap_was_taught_is_accepted_when_configured() -> None:
    fields = {**GOOD_LINE, "NEW_ITEM-UNIT[1]": "PC"}
    assert list(oci_problems(fields)) == ["NEW_ITEM-UNIT[1]"]
    assert oci_problems(fields, extra_units=["pc"]) == {}
    assert oci_problems({**GOOD_LINE, "NEW_ITEM-UNIT[1]": "pce"}) == {}


# -- the sandbox shop, as SAP and a buyer use it ------------------------------------------


def sandbox_client(sandbox: RunningSandbox, **changes: object) -> OciClient:
    settings = sandbox.settings()
    return client(settings["OCI_URL"], **changes)


def test_the_sandbox_transfer_looks_like_the_real_one_and_has_no_problem(
    sandbox: RunningSandbox,
) -> None:
    fields = sandbox_client(sandbox, quantity=3).transfer(hook_url=HOOK)
    assert oci_problems(fields) == {}
    assert fields["NEW_ITEM-EXT_PRODUCT_ID[1]"] == fields["NEW_ITEM-MANUFACTMAT[1]"] == "1896-S"
    assert "NEW_ITEM-VENDORMAT[1]" not in fields
    assert (fields["NEW_ITEM-UNIT[1]"], fields["NEW_ITEM-QUANTITY[1]"]) == (
        "PCE",
        "00000000003.000",
    )
    assert re.fullmatch(r"\d{11}\.\d{3}", fields["NEW_ITEM-PRICE[1]"])


def test_the_catalogue_is_called_with_what_sap_sends(sandbox: RunningSandbox) -> None:
    oci = sandbox_client(sandbox, parameters={"SERVICE": "SAP"})
    call = dict(oci.catalogue_call(HOOK))
    assert call == {
        "SERVICE": "SAP",
        "USERNAME": "buyer",
        "PASSWORD": "sandbox-oci-password",
        "HOOK_URL": HOOK,
        "~OkCode": "ADDI",
        "~TARGET": "_top",
        "~CALLER": "CTLG",
    }


def test_the_sandbox_refuses_a_catalogue_call_without_the_ok_code(sandbox: RunningSandbox) -> None:
    oci = sandbox_client(sandbox)
    params = [(k, v) for k, v in oci.catalogue_call(HOOK) if k != "~OkCode"]
    answer = requests.get(sandbox.settings()["OCI_URL"], params=params, timeout=5)
    assert (answer.status_code, answer.text) == (
        400,
        "~OkCode must be ADDI (an OCI catalogue call)",
    )


def test_a_catalogue_called_by_post_reaches_the_transfer_too(sandbox: RunningSandbox) -> None:
    assert oci_problems(sandbox_client(sandbox, method="POST").transfer(hook_url=HOOK)) == {}


def test_wrong_catalogue_credentials_fail_at_the_catalogue_call(sandbox: RunningSandbox) -> None:
    with pytest.raises(PunchoutCallFailed) as failure:
        sandbox_client(sandbox, password="wrong").transfer(hook_url=HOOK)
    assert failure.value.status == 401
    assert failure.value.call.startswith("GET /oci/catalog")


# -- shops that need their own steps ---------------------------------------------------------


def test_a_shop_with_basket_links_is_reached_through_the_configured_urls(
    shop: tuple[str, dict[str, Callable[[Request], Response]], list[Request]],
) -> None:
    root, routes, seen = shop
    routes["GET /oci"] = lambda request: html("<a href='/cart/add?sku=1896-S'>Add</a>")
    routes["GET /cart/add"] = lambda request: html(
        f"<p>{request.args['sku']} × {request.args['qty']}</p>"
    )
    routes["POST /punchout/send"] = lambda request: transfer_page(HOOK, GOOD_LINE)
    oci = client(
        f"{root}/oci",
        add_to_basket="/cart/add?sku={item}&qty={quantity}",
        transfer_url="POST /punchout/send",
        quantity=2,
    )
    assert oci.transfer(hook_url=HOOK) == GOOD_LINE
    assert [(r.method, r.full_path) for r in seen[1:]] == [
        ("GET", "/cart/add?sku=1896-S&qty=2"),
        ("POST", "/punchout/send?"),
    ]


def test_a_configured_form_selector_picks_the_transfer_among_other_forms(
    shop: tuple[str, dict[str, Callable[[Request], Response]], list[Request]],
) -> None:
    root, routes, seen = shop
    product = "<form method='post' action='/add'><input type='hidden' name='product' value='1896-S'><input name='menge' value='1'></form>"
    routes["GET /oci"] = lambda request: html(product)
    routes["POST /add"] = lambda request: html(
        "<form method='post' action='/checkout'><button>Pay by card</button></form>"
        "<form id='sap' method='post' action='/sap'><input type='hidden' name='basket' value='7'>"
        "<button name='send' value='1'>To SAP</button></form>"
    )
    routes["POST /sap"] = lambda request: transfer_page(HOOK, GOOD_LINE)
    oci = client(f"{root}/oci", transfer_form="//form[@id='sap']", quantity=4)
    assert oci.transfer(hook_url=HOOK) == GOOD_LINE
    add, transfer = seen[1], seen[2]
    assert add.form.to_dict() == {"product": "1896-S", "menge": "4"}
    assert (transfer.path, transfer.form.to_dict()) == ("/sap", {"basket": "7", "send": "1"})


def test_a_catalogue_without_the_test_item_says_what_to_configure(
    shop: tuple[str, dict[str, Callable[[Request], Response]], list[Request]],
) -> None:
    root, routes, _ = shop
    routes["GET /oci"] = lambda request: html("<p>Welcome! Search our 40,000 products.</p>")
    with pytest.raises(PunchoutCallFailed) as failure:
        client(f"{root}/oci").transfer(hook_url=HOOK)
    assert "no form on this page carries test item 1896-S" in str(failure.value.problem)
    assert "set [punchout.oci] item or add_to_basket" in str(failure.value.problem)


def test_a_basket_without_a_transfer_form_says_what_to_configure(
    shop: tuple[str, dict[str, Callable[[Request], Response]], list[Request]],
) -> None:
    root, routes, _ = shop
    routes["GET /oci"] = lambda request: html(
        "<form method='post' action='/add'><input type='hidden' name='sku' value='1896-S'></form>"
    )
    routes["POST /add"] = lambda request: html("<a href='/order'>Order</a>")
    with pytest.raises(PunchoutCallFailed) as failure:
        client(f"{root}/oci").transfer(hook_url=HOOK)
    assert "the basket has no form that starts the transfer" in str(failure.value.problem)


def test_a_transfer_that_posts_elsewhere_than_the_hook_url_is_named(
    shop: tuple[str, dict[str, Callable[[Request], Response]], list[Request]],
) -> None:
    root, routes, _ = shop
    routes["GET /oci"] = lambda request: html("")
    routes["POST /transfer"] = lambda request: transfer_page(
        "https://elsewhere.example/", GOOD_LINE
    )
    with pytest.raises(PunchoutCallFailed) as failure:
        client(f"{root}/oci", add_to_basket="/oci", transfer_url="POST /transfer").transfer(
            hook_url=HOOK
        )
    assert failure.value.problem == f"the transfer page has no form that posts to HOOK_URL {HOOK}"

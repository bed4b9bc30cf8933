"""erpwatch's payment provider client and reconciliation on Mollie's own answers:
the official client's response fixtures (tests/data/mollie), served where they
say they come from (https://api.mollie.com), not on the sandbox's."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import responses

from erpwatch import PaymentCallFailed
from erpwatch.config import PaymentSettings, payment_settings
from erpwatch.psp import (
    Chargeback,
    Money,
    Payment,
    PaymentProviderClient,
    ReferenceRules,
    metadata_reference,
    settlement,
)
from erpwatch.reconciliation import Entry, read_provider, reconcile

DATA = Path(__file__).parent / "data" / "mollie"
API = "https://api.mollie.com/v2"
LONG_AGO = datetime(2030, 1, 1, tzinfo=UTC)  # every fixture payment is older: past the grace period


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def paid(payment: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A fixture payment as it is once paid (the fixtures are mostly still open)."""
    return {**copy.deepcopy(payment), "status": "paid", "paidAt": payment["createdAt"], **changes}


def client(lookback: int = 250) -> PaymentProviderClient:
    settings = PaymentSettings(
        base_url="https://api.mollie.com",
        api_key="test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM",  # the key in Mollie's own examples
        webhook_url=None,
        sync_timeout=60,
        grace_minutes=15,
        lookback=lookback,
        sandbox=False,
    )
    return PaymentProviderClient(settings)


def page(*payments: dict[str, Any], following: str | None = None) -> dict[str, Any]:
    return {
        "count": len(payments),
        "_embedded": {"payments": list(payments)},
        "_links": {
            "next": {"href": following, "type": "application/hal+json"} if following else None
        },
    }


ORDER_PAYMENT = fixture("order_single_with_embeds.json")["_embedded"]["payments"][0]
RULES = ReferenceRules()


# -- reading what Mollie sends -------------------------------------------------------


def test_it_reads_the_official_payment_fixture_with_its_order_and_chargeback() -> None:
    payment = Payment.read(fixture("payment_single.json"))
    assert (payment.id, payment.status, payment.order_id) == (
        "tr_7UhSN1zuXS",
        "open",
        "ord_kEn1PlbGa",
    )
    assert payment.amount == Money("EUR", Decimal("10.00"))
    assert payment.charged_back == Money("EUR", Decimal("5.00"))
    assert payment.links["chargebacks"] == f"{API}/payments/tr_7UhSN1zuXS/chargebacks"


def test_it_reads_an_orders_api_payment_as_having_an_order_and_no_metadata() -> None:
    payment = Payment.read(ORDER_PAYMENT)
    assert (payment.order_id, payment.metadata) == ("ord_kEn1PlbGa", None)
    reference = metadata_reference(payment.metadata, RULES)
    assert (reference.order, reference.reason) == (None, "no metadata")


@pytest.mark.parametrize(
    ("metadata", "rules", "order", "reason"),
    [
        ({"order_id": "12345"}, RULES, "12345", "metadata.order_id"),
        (
            {"order_id": 1531993786},
            RULES,
            "1531993786",
            "metadata.order_id",
        ),  # a number, as in the list fixture
        ({"order_id": "77", "order_number": "R-0077"}, RULES, "R-0077", "metadata.order_number"),
        ('{"order_id": "ord-abc"}', RULES, "ord-abc", "metadata (JSON text).order_id"),
        ({"shop_order": "S-1"}, ReferenceRules(("shop_order",)), "S-1", "metadata.shop_order"),
        ("WEB-1001", ReferenceRules(text_is_order=True), "WEB-1001", "metadata text"),
        (
            "12345",
            ReferenceRules(text_is_order=True),
            "12345",
            "metadata text",
        ),  # JSON, but no object
    ],
)
def test_it_finds_the_order_reference_wherever_the_shop_put_it(
    metadata: Any, rules: ReferenceRules, order: str, reason: str
) -> None:
    reference = metadata_reference(metadata, rules)
    assert (reference.order, reference.reason) == (order, reason)


@pytest.mark.parametrize(
    ("metadata", "why"),
    [
        (
            "WEB-1001",
            "read as an order reference only with [payments] metadata_text_is_order = true",
        ),
        ({"vendor_id": 456}, "metadata has none of the keys order_number, order_id"),
        ({"order_id": True}, "metadata has none of the keys order_number, order_id"),
        ([1, 2], "neither an object nor text"),
    ],
)
def test_it_says_why_a_payment_names_no_order(metadata: Any, why: str) -> None:
    reference = metadata_reference(metadata, RULES)
    assert reference.order is None
    assert why in reference.reason


def test_it_joins_on_the_reference_as_business_central_holds_it_upper_case() -> None:
    assert metadata_reference({"order_id": " ord-abc "}, RULES).key == "ORD-ABC"


def test_a_charged_back_payment_is_not_paid_even_though_its_status_is() -> None:
    verdict = settlement(Payment.read(paid(fixture("payment_single.json"))))
    assert (verdict.kept, verdict.state) == (False, "charged back")
    assert verdict.reason == "EUR 5.00 of EUR 10.00 charged back (in part)"


def test_a_reversed_chargeback_gave_the_money_back() -> None:
    payment = Payment.read(paid(fixture("payment_single.json")))
    reversed_one = Chargeback.read(fixture("payment_chargeback_single.json"))
    assert reversed_one.reversed_at is not None
    assert settlement(payment, [reversed_one]).kept
    still_open = Chargeback.read(
        fixture("payment_chargebacks_list.json")["_embedded"]["chargebacks"][0]
    )
    assert not settlement(payment, [reversed_one, still_open]).kept


@pytest.mark.parametrize(
    ("refunded", "kept", "state"),
    [
        ("0.00", True, "paid"),
        ("4.00", True, "paid"),  # partly refunded: a credit memo, the invoice stays paid
        ("10.00", False, "refunded"),
        ("12.50", False, "refunded"),  # more than paid: Mollie allows refunding return costs
    ],
)
def test_only_a_full_refund_makes_a_paid_payment_unpaid(
    refunded: str, kept: bool, state: str
) -> None:
    raw = paid(fixture("payments_list.json")["_embedded"]["payments"][1])  # GBP 10.00
    raw["amountRefunded"] = {"currency": "GBP", "value": refunded}
    verdict = settlement(Payment.read(raw))
    assert (verdict.kept, verdict.state) == (kept, state)


def test_an_unreadable_payment_is_an_unexpected_answer_naming_the_field() -> None:
    broken = fixture("payment_single.json")
    broken["amount"]["value"] = "ten"
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/payments/tr_7UhSN1zuXS", json=broken)
        with pytest.raises(PaymentCallFailed) as failed:
            client().payment("tr_7UhSN1zuXS")
    assert failed.value.unexpected_body
    assert "payment tr_7UhSN1zuXS: amount.value is 'ten', not a number" in str(failed.value)


# -- paging ------------------------------------------------------------------------------


def test_it_follows_next_links_and_stops_at_most_payments() -> None:
    with responses.RequestsMock() as mock:
        first = mock.get(f"{API}/payments", json=fixture("payments_list_with_next.json"))
        second = mock.get(
            f"{API}/payments?from=tr_gM5hTq4x4J&limit=3", json=fixture("payments_list.json")
        )
        ids = [p.id for p in client().payments(most=4)]
    assert ids == ["tr_gHTfdq4xAB", "tr_9uhYN1zuCD", "tr_47HgTDE9EF", "tr_gM5hTq4x4J"]
    assert (first.call_count, second.call_count) == (1, 1)
    assert "limit=4" in (first.calls[0].request.url or "")


def test_it_reads_no_further_page_than_it_needs() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{API}/payments", json=fixture("payments_list_with_next.json"))
        following = mock.get(
            f"{API}/payments?from=tr_gM5hTq4x4J&limit=3", json=fixture("payments_list.json")
        )
        assert len(list(client().payments(most=3))) == 3
    assert following.call_count == 0


def test_a_next_link_to_another_host_is_refused_and_gets_no_api_key() -> None:
    hostile = fixture("payments_list_with_next.json")
    hostile["_links"]["next"]["href"] = "https://api.mollie.com.evil.example/v2/payments?from=tr_x"
    with responses.RequestsMock() as mock:  # an unregistered call would fail the test
        mock.get(f"{API}/payments", json=hostile)
        with pytest.raises(PaymentCallFailed) as refused:
            list(client().payments(most=250))
    assert refused.value.unexpected_body
    assert refused.value.call == "GET /v2/payments"
    assert "links to https://api.mollie.com.evil.example, not to https://api.mollie.com" in str(
        refused.value
    )


def test_a_downgrade_to_http_on_the_same_host_is_refused_too() -> None:
    downgraded = fixture("payments_list_with_next.json")
    downgraded["_links"]["next"]["href"] = "http://api.mollie.com/v2/payments?from=tr_gM5hTq4x4J"
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/payments", json=downgraded)
        with pytest.raises(PaymentCallFailed) as refused:
            list(client().payments(most=250))
    assert "links to http://api.mollie.com, not to https://api.mollie.com" in str(refused.value)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (page(following=f"{API}/payments?from=tr_x"), "an empty page links to a next page"),
        (page(ORDER_PAYMENT, following=f"{API}/payments"), "leads back to a page already read"),
    ],
)
def test_pages_that_would_loop_end_the_listing_with_a_diagnosis(
    body: dict[str, Any], problem: str
) -> None:
    with responses.RequestsMock() as mock:
        listing = mock.get(f"{API}/payments", json=body)
        with pytest.raises(PaymentCallFailed, match=problem):
            list(client().payments(most=250))
    assert listing.call_count == 1


# -- reconciliation over Mollie's answers --------------------------------------------


def serve_reconciliation_scenario(
    mock: responses.RequestsMock, *, chargebacks: dict[str, Any]
) -> None:
    """Three paid payments as Mollie lists them: one made through the Orders API
    (no metadata), one with its order in metadata text, one charged back."""
    text_metadata = paid(
        fixture("payments_list.json")["_embedded"]["payments"][0],
        metadata='{"order_id": "web-77"}',
    )
    mock.get(
        f"{API}/payments",
        json=page(
            paid(ORDER_PAYMENT),
            text_metadata,
            paid(fixture("payment_single.json"), metadata={"order_id": "12345"}),
        ),
    )
    mock.get(f"{API}/orders/ord_kEn1PlbGa", json=fixture("order_single_with_embeds.json"))
    mock.get(f"{API}/payments/tr_7UhSN1zuXS/chargebacks", json=chargebacks)


def test_reconciliation_counts_orders_api_payments_and_text_metadata_and_flags_the_chargeback() -> (
    None
):
    with responses.RequestsMock() as mock:
        serve_reconciliation_scenario(
            mock,
            chargebacks={**fixture("payment_chargebacks_list.json"), "_links": {"next": None}},
        )
        entries = read_provider(client(), most=250, rules=RULES, lookup_calls=5)
    assert [(e.reference.key, e.settlement.state) for e in entries] == [
        ("18475", "paid"),  # orderNumber of the order, looked up
        ("WEB-77", "paid"),
        ("12345", "charged back"),
    ]
    # The ERP has all three as paid, with BC's upper-case Code field.
    result = reconcile(
        entries, ["18475", "WEB-77", "12345"], settled_before=LONG_AGO, erp_status=lambda _: "?"
    )
    assert [str(m) for m in result.mismatches] == [
        "12345 EUR 10.00: provider charged back, ERP Paid"
    ]
    assert result.orders == 3


def test_reconciliation_flags_a_paid_orders_api_payment_whose_invoice_is_not_paid() -> None:
    with responses.RequestsMock() as mock:
        serve_reconciliation_scenario(mock, chargebacks={"count": 1, "_embedded": {"chargebacks": [
            fixture("payment_chargeback_single.json")]}, "_links": {"next": None}})  # fmt: skip
        entries = read_provider(client(), most=250, rules=RULES, lookup_calls=5)
    result = reconcile(
        entries, ["WEB-77", "12345"], settled_before=LONG_AGO, erp_status=lambda order: "Open"
    )
    assert [str(m) for m in result.mismatches] == ["18475 EUR 1027.99: provider paid, ERP Open"]


def test_reconciliation_stays_within_its_lookup_calls_and_says_what_it_skipped() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_reconciliation_scenario(mock, chargebacks=fixture("payment_chargebacks_list.json"))
        entries = read_provider(client(), most=250, rules=RULES, lookup_calls=1)
        order_calls = len([c for c in mock.calls if "/orders/" in (c.request.url or "")])
        chargeback_calls = len([c for c in mock.calls if "/chargebacks" in (c.request.url or "")])
    assert (order_calls, chargeback_calls) == (1, 0)
    # Without its chargebacks list, the payment's own amountChargedBack decides.
    assert entries[2].settlement.state == "charged back"


@pytest.mark.parametrize(
    ("status", "refunded", "flagged"),
    [
        ("paid", "10.00", False),  # refunded in full: a credit memo, the invoice stays paid
        ("failed", "0.00", True),  # the money never came in
        ("expired", "0.00", True),
    ],
)
def test_a_paid_invoice_is_backed_by_a_refunded_payment_but_not_by_one_that_never_came_in(
    status: str, refunded: str, flagged: bool
) -> None:
    raw = paid(
        fixture("payments_list.json")["_embedded"]["payments"][1], metadata={"order_id": "web-9"}
    )
    raw["status"] = status
    raw["amountRefunded"] = {"currency": "GBP", "value": refunded}
    result = reconcile(_entries(raw), ["WEB-9"], settled_before=LONG_AGO, erp_status=lambda _: "?")
    assert [m.order for m in result.mismatches] == (["WEB-9"] if flagged else [])


def test_a_payment_naming_no_order_is_not_compared_but_counted() -> None:
    entries = _entries(
        paid(fixture("payments_list.json")["_embedded"]["payments"][0], metadata="gift card 17")
    )
    result = reconcile(entries, ["1531993786"], settled_before=LONG_AGO, erp_status=lambda _: "?")
    assert result.orders == 0
    assert len(result.unreferenced) == 1
    assert "metadata_text_is_order" in result.summary()


def _entries(*raw: dict[str, Any]) -> list[Entry]:
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/payments", json=page(*raw))
        return read_provider(client(), most=250, rules=RULES, lookup_calls=0)


# -- settings ----------------------------------------------------------------------------


def test_the_reference_settings_default_to_what_shop_plugins_send() -> None:
    settings = payment_settings(
        {}, {}, {"PSP_BASE_URL": "http://127.0.0.1:1", "PSP_API_KEY": "test_x"}, "t"
    )
    assert settings is not None
    assert (settings.metadata_keys, settings.metadata_text_is_order, settings.lookup_calls) == (
        ("order_number", "order_id"),
        False,
        50,
    )


@pytest.mark.parametrize(
    ("table", "setting"),
    [
        ({"metadata_keys": "order_id"}, "payments.metadata_keys"),
        ({"metadata_keys": ["order_id", ""]}, "payments.metadata_keys"),
        ({"metadata_text_is_order": "yes"}, "payments.metadata_text_is_order"),
        ({"lookup_calls": -1}, "payments.lookup_calls"),
    ],
)
def test_a_malformed_reference_setting_is_named(table: dict[str, Any], setting: str) -> None:
    from erpwatch import ConfigError

    with pytest.raises(ConfigError, match=setting.replace(".", r"\.")):
        payment_settings(
            {"payments": table},
            {},
            {"PSP_BASE_URL": "http://127.0.0.1:1", "PSP_API_KEY": "test_x"},
            "t",
        )

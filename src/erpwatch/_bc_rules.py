"""What a monitor must know of how Business Central keeps data, so that a healthy
ERP is never reported as broken: which fields are AL ``Code`` fields (stored
upper-case and trimmed) and which amounts hold a document's totals after its
invoice discount. Taken from Microsoft's AL source of the API v2.0 pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from .checks import DataMismatch

_DOCUMENT_CODES = frozenset(
    {
        "number",
        "externalDocumentNumber",
        "customerNumber",
        "billToCustomerNumber",
        "sellToCountry",
        "sellToPostCode",
        "billToCountry",
        "billToPostCode",
        "shipToCountry",
        "shipToPostCode",
        "shortcutDimension1Code",
        "shortcutDimension2Code",
        "currencyCode",
        "salesperson",
    }
)
_LINE_CODES = frozenset({"lineObjectNumber", "unitOfMeasureCode", "taxCode"})

# Per entity set: the fields bound to a Code[n] column of the table behind the page.
CODE_FIELDS: Mapping[str, frozenset[str]] = {
    "customers": frozenset({"number", "country", "postalCode", "currencyCode", "salespersonCode"}),
    "items": frozenset(
        {"number", "itemCategoryCode", "gtin", "taxGroupCode", "baseUnitOfMeasureCode"}
    ),
    "salesOrders": _DOCUMENT_CODES,
    "salesInvoices": _DOCUMENT_CODES | {"orderNumber"},
    "salesOrderLines": _LINE_CODES,
    "salesInvoiceLines": _LINE_CODES,
}


def stored_form(entity_set: str, field: str, value: Any) -> Any:
    """``value`` as Business Central keeps it in ``field``: Code fields upper-case and trimmed."""
    if isinstance(value, str) and field in CODE_FIELDS.get(entity_set, frozenset()):
        return value.strip().upper()
    return value


def _amount(record: Mapping[str, Any], field: str, missing: list[str]) -> Decimal:
    value = record.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        missing.append(field)
        return Decimal(0)
    try:
        return Decimal(str(value))
    except ArithmeticError:
        missing.append(field)
        return Decimal(0)


def expect_document_totals(
    document: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], *, call: str
) -> None:
    """Fail, naming ``call``, unless a sales document's totals add up.

    Business Central keeps each line's amount *before* the invoice discount in
    ``amountExcludingTax``, its share of the discount in ``invoiceDiscountAllocation``
    and what is left in ``netAmount``; the header's ``totalAmountExcludingTax`` is
    after the discount. So the header must be the sum of the lines' net amounts, each
    net amount its amount less its share, and the shares the header's ``discountAmount``.
    A cent of rounding per line is allowed, as BC rounds per line.

    When the document's prices include VAT (``pricesIncludeTax``), BC's discount
    fields mix amounts with and without VAT (the header's ``discountAmount`` is
    the lines' discount including VAT), so only the net amounts are compared.
    """
    with_vat = document.get("pricesIncludeTax") is True
    missing: list[str] = []
    header_net = _amount(document, "totalAmountExcludingTax", missing)
    header_gross = _amount(document, "totalAmountIncludingTax", missing)
    discount = _amount(document, "discountAmount", missing)
    net_sum = shares = Decimal(0)
    different: dict[str, tuple[Any, Any]] = {}
    for number, line in enumerate(lines, start=1):
        line_missing: list[str] = []
        amount = _amount(line, "amountExcludingTax", line_missing)
        share = _amount(line, "invoiceDiscountAllocation", line_missing)
        net = _amount(line, "netAmount", line_missing)
        missing += [f"line {number}: {name}" for name in line_missing]
        if not line_missing and not with_vat and abs(amount - share - net) > Decimal("0.01"):
            different[f"line {number}: netAmount"] = (float(amount - share), float(net))
        net_sum += net
        shares += share
    if missing:
        raise DataMismatch(call, missing, {}, summary="has no totals to check")
    slack = Decimal("0.01") * max(1, len(lines))
    if abs(net_sum - header_net) > slack:
        different["totalAmountExcludingTax"] = (float(net_sum), float(header_net))
    if not with_vat and abs(shares - discount) > slack:
        different["discountAmount"] = (float(shares), float(discount))
    if different:
        raise DataMismatch(
            call,
            [],
            different,
            summary="totals do not add up",
            expected="lines give",
            actual="ERP has",
        )
    if not header_gross >= header_net > 0:
        raise DataMismatch(
            call,
            [],
            {"totalAmountIncludingTax": (f">= {float(header_net)}", float(header_gross))},
            summary="has an implausible total",
            expected="expected",
            actual="ERP has",
        )

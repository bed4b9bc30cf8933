"""The field sets of the Business Central API v2.0 entities the sandbox serves.

Taken from Microsoft's AL source of the API pages (`APIV2 - Sales Orders`,
`APIV2 - Sales Order Lines`, …) and the documented resource types, so that
what the sandbox answers has the real names, types and lengths. Fields bound
to an AL `Code[n]` column are marked `code`: Business Central stores those
upper-case and trimmed, whatever the client sent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldSpec:
    kind: type | tuple[type, ...]
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    code: bool = False


def _code(length: int) -> FieldSpec:
    return FieldSpec(str, length, code=True)


def _text(length: int) -> FieldSpec:
    return FieldSpec(str, length)


TEXT = FieldSpec(str)
NUMBER = FieldSpec((int, float))
BOOL = FieldSpec(bool)
GUID = FieldSpec(str, 36)
DATE = FieldSpec(str, 10)
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class EntitySet:
    """What the API lets a client write and read on one kind of entity."""

    name: str
    type_name: str
    writable: dict[str, FieldSpec]
    read_only: dict[str, FieldSpec]
    required: tuple[str, ...] = ()
    lines: str | None = None  # name of the deep-insertable line collection

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.writable) | frozenset(self.read_only)

    @property
    def code_fields(self) -> frozenset[str]:
        every = {**self.writable, **self.read_only}
        return frozenset(name for name, spec in every.items() if spec.code)


CUSTOMERS = EntitySet(
    name="customers",
    type_name="customer",
    writable={
        "number": _code(20),
        "displayName": _text(100),
        "type": FieldSpec(str, choices=("Company", "Person")),
        "addressLine1": _text(100),
        "addressLine2": _text(50),
        "city": _text(30),
        "state": _text(30),
        "country": _code(10),
        "postalCode": _code(20),
        "phoneNumber": _text(30),
        "email": _text(80),
        "website": _text(80),
        "salespersonCode": _code(20),
        "creditLimit": NUMBER,
        "taxLiable": BOOL,
        "taxAreaId": GUID,
        "taxRegistrationNumber": _text(20),
        "currencyId": GUID,
        "currencyCode": _code(10),
        "paymentTermsId": GUID,
        "shipmentMethodId": GUID,
        "paymentMethodId": GUID,
        "blocked": FieldSpec(str, choices=(" ", "Ship", "Invoice", "All")),
    },
    read_only={
        "id": GUID,
        "balanceDue": NUMBER,
        "taxAreaDisplayName": TEXT,
        "lastModifiedDateTime": TEXT,
    },
    required=("displayName",),
)

ITEMS = EntitySet(
    name="items",
    type_name="item",
    writable={},
    read_only={
        "id": GUID,
        "number": _code(20),
        "displayName": _text(100),
        "displayName2": _text(50),
        "type": TEXT,
        "itemCategoryId": GUID,
        "itemCategoryCode": _code(20),
        "blocked": BOOL,
        "gtin": _code(14),
        "inventory": NUMBER,
        "unitPrice": NUMBER,
        "priceIncludesTax": BOOL,
        "unitCost": NUMBER,
        "taxGroupId": GUID,
        "taxGroupCode": _code(20),
        "baseUnitOfMeasureId": GUID,
        "baseUnitOfMeasureCode": _code(10),
        "generalProductPostingGroupId": GUID,
        "generalProductPostingGroupCode": _code(20),
        "inventoryPostingGroupId": GUID,
        "inventoryPostingGroupCode": _code(20),
        "lastModifiedDateTime": TEXT,
    },
)


def _addresses(writable: bool) -> dict[str, FieldSpec]:
    """sellTo* are writable on documents; billTo* follow the bill-to customer."""
    prefixes = ("sellTo", "shipTo") if writable else ("billTo",)
    fields: dict[str, FieldSpec] = {}
    for prefix in prefixes:
        fields |= {
            f"{prefix}AddressLine1": _text(100),
            f"{prefix}AddressLine2": _text(50),
            f"{prefix}City": _text(30),
            f"{prefix}Country": _code(10),
            f"{prefix}State": _text(30),
            f"{prefix}PostCode": _code(20),
        }
    return fields


_DOCUMENT_WRITABLE = {
    "externalDocumentNumber": _code(35),
    "postingDate": DATE,
    "customerId": GUID,
    "customerNumber": _code(20),
    "billToCustomerId": GUID,
    "billToCustomerNumber": _code(20),
    "shipToName": _text(100),
    "shipToContact": _text(100),
    **_addresses(writable=True),
    "shortcutDimension1Code": _code(20),
    "shortcutDimension2Code": _code(20),
    "currencyId": GUID,
    "currencyCode": _code(10),
    "pricesIncludeTax": BOOL,
    "paymentTermsId": GUID,
    "shipmentMethodId": GUID,
    "salesperson": _code(20),
    "discountAmount": NUMBER,
    "phoneNumber": _text(30),
    "email": _text(80),
}
_DOCUMENT_READ_ONLY = {
    "id": GUID,
    "number": _code(20),
    "customerName": _text(100),
    "billToName": _text(100),
    **_addresses(writable=False),
    "discountAppliedBeforeTax": BOOL,
    "totalAmountExcludingTax": NUMBER,
    "totalTaxAmount": NUMBER,
    "totalAmountIncludingTax": NUMBER,
    "status": TEXT,
    "lastModifiedDateTime": TEXT,
}

SALES_ORDERS = EntitySet(
    name="salesOrders",
    type_name="salesOrder",
    writable={
        **_DOCUMENT_WRITABLE,
        "orderDate": DATE,
        "partialShipping": BOOL,
        "requestedDeliveryDate": DATE,
    },
    read_only={**_DOCUMENT_READ_ONLY, "fullyShipped": BOOL},
    lines="salesOrderLines",
)

SALES_INVOICES = EntitySet(
    name="salesInvoices",
    type_name="salesInvoice",
    writable={
        **_DOCUMENT_WRITABLE,
        "invoiceDate": DATE,
        "dueDate": DATE,
        "customerPurchaseOrderReference": _text(35),
    },
    read_only={
        **_DOCUMENT_READ_ONLY,
        "orderId": GUID,
        "orderNumber": _code(20),
        "remainingAmount": NUMBER,
    },
    lines="salesInvoiceLines",
)

LINE_WRITABLE = {
    "sequence": NUMBER,
    "itemId": GUID,
    "accountId": GUID,
    "lineType": FieldSpec(
        str, choices=("Comment", "Account", "Item", "Resource", "Fixed Asset", "Charge")
    ),
    "lineObjectNumber": _code(20),
    "description": _text(100),
    "unitOfMeasureId": GUID,
    "unitOfMeasureCode": _code(10),
    "quantity": NUMBER,
    "unitPrice": NUMBER,
    "discountAmount": NUMBER,
    "discountPercent": NUMBER,
    "taxCode": _code(20),
    "shipmentDate": DATE,
    "itemVariantId": GUID,
    "locationId": GUID,
}
_LINE_READ_ONLY = {
    "id": GUID,
    "documentId": GUID,
    "discountAppliedBeforeTax": BOOL,
    "amountExcludingTax": NUMBER,
    "taxPercent": NUMBER,
    "totalTaxAmount": NUMBER,
    "amountIncludingTax": NUMBER,
    "invoiceDiscountAllocation": NUMBER,
    "netAmount": NUMBER,
    "netTaxAmount": NUMBER,
    "netAmountIncludingTax": NUMBER,
}
ORDER_LINE_EXTRAS = {
    "shippedQuantity": NUMBER,
    "invoicedQuantity": NUMBER,
    "invoiceQuantity": NUMBER,
    "shipQuantity": NUMBER,
}
LINE_FIELDS = frozenset(LINE_WRITABLE) | frozenset(_LINE_READ_ONLY) | frozenset(ORDER_LINE_EXTRAS)
LINE_CODE_FIELDS = frozenset(name for name, spec in LINE_WRITABLE.items() if spec.code)

ENTITY_SETS = {s.name: s for s in (CUSTOMERS, ITEMS, SALES_ORDERS, SALES_INVOICES)}

"""An in-memory company that behaves like the Business Central API v2.0 subset.

Only the domain lives here: entities, number series, validation rules and the
error each rule raises. HTTP is the app module's business.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Entity = dict[str, Any]

VAT_PERCENT = Decimal(21)  # Belgian standard rate, the demo company's only VAT group
NAMESPACE = uuid.UUID("5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21")


class BcError(Exception):
    """A Business Central error answer: status, error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(segment: str) -> BcError:
    return BcError(
        404,
        "BadRequest_ResourceNotFound",
        f"Resource not found for the segment '{segment}'.",
    )


@dataclass(frozen=True)
class FieldSpec:
    kind: type | tuple[type, ...]
    max_length: int | None = None
    choices: tuple[str, ...] = ()


_TEXT = FieldSpec(str)
_NUMBER = FieldSpec((int, float))
_BOOL = FieldSpec(bool)


@dataclass(frozen=True)
class EntitySet:
    """What the API lets a client write and read on one kind of entity."""

    name: str
    type_name: str
    writable: dict[str, FieldSpec]
    read_only: frozenset[str]
    required: tuple[str, ...] = ()
    lines: str | None = None  # name of the deep-insertable line collection

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.writable) | self.read_only


CUSTOMERS = EntitySet(
    name="customers",
    type_name="customer",
    writable={
        "number": FieldSpec(str, 20),
        "displayName": FieldSpec(str, 100),
        "type": FieldSpec(str, choices=("Company", "Person")),
        "addressLine1": FieldSpec(str, 100),
        "addressLine2": FieldSpec(str, 50),
        "city": FieldSpec(str, 30),
        "state": FieldSpec(str, 30),
        "country": FieldSpec(str, 10),
        "postalCode": FieldSpec(str, 20),
        "phoneNumber": FieldSpec(str, 30),
        "email": FieldSpec(str, 80),
        "website": FieldSpec(str, 80),
        "taxLiable": _BOOL,
        "taxRegistrationNumber": FieldSpec(str, 20),
        "currencyCode": FieldSpec(str, 10),
        "blocked": FieldSpec(str, choices=(" ", "Ship", "Invoice", "All")),
    },
    read_only=frozenset({"id", "balanceDue", "lastModifiedDateTime"}),
    required=("displayName",),
)

ITEMS = EntitySet(
    name="items",
    type_name="item",
    writable={},
    read_only=frozenset(
        {
            "id",
            "number",
            "displayName",
            "type",
            "blocked",
            "baseUnitOfMeasureCode",
            "unitPrice",
            "priceIncludesTax",
            "inventory",
            "lastModifiedDateTime",
        }
    ),
)

_DOCUMENT_WRITABLE = {
    "externalDocumentNumber": FieldSpec(str, 35),
    "customerId": _TEXT,
    "customerNumber": FieldSpec(str, 20),
    "currencyCode": FieldSpec(str, 10),
    "pricesIncludeTax": _BOOL,
}
_DOCUMENT_READ_ONLY = frozenset(
    {
        "id",
        "number",
        "customerName",
        "status",
        "totalAmountExcludingTax",
        "totalTaxAmount",
        "totalAmountIncludingTax",
        "lastModifiedDateTime",
    }
)

SALES_ORDERS = EntitySet(
    name="salesOrders",
    type_name="salesOrder",
    writable={**_DOCUMENT_WRITABLE, "orderDate": _TEXT, "postingDate": _TEXT},
    read_only=_DOCUMENT_READ_ONLY,
    lines="salesOrderLines",
)

SALES_INVOICES = EntitySet(
    name="salesInvoices",
    type_name="salesInvoice",
    writable={**_DOCUMENT_WRITABLE, "invoiceDate": _TEXT, "dueDate": _TEXT},
    read_only=_DOCUMENT_READ_ONLY | {"remainingAmount"},
    lines="salesInvoiceLines",
)

LINE_WRITABLE = {
    "lineType": FieldSpec(str, choices=("Item", "Comment")),
    "lineObjectNumber": FieldSpec(str, 20),
    "itemId": _TEXT,
    "description": FieldSpec(str, 100),
    "quantity": _NUMBER,
    "unitPrice": _NUMBER,
    "discountPercent": _NUMBER,
}
LINE_FIELDS = frozenset(LINE_WRITABLE) | {
    "id",
    "documentId",
    "sequence",
    "unitOfMeasureCode",
    "amountExcludingTax",
    "taxPercent",
    "totalTaxAmount",
    "amountIncludingTax",
}

ENTITY_SETS = {s.name: s for s in (CUSTOMERS, ITEMS, SALES_ORDERS, SALES_INVOICES)}


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _check_fields(
    spec: dict[str, FieldSpec],
    body: dict[str, Any],
    type_name: str,
    *,
    allowed_extra: Iterable[str],
) -> None:
    extra = set(allowed_extra)
    for name, value in body.items():
        if name in extra:
            continue
        field_spec = spec.get(name)
        if field_spec is None:
            raise BcError(
                400,
                "BadRequest",
                f"The property '{name}' does not exist on type 'Microsoft.NAV.{type_name}'. "
                "Make sure to only use property names that are defined by the type.",
            )
        if isinstance(value, bool) and field_spec.kind is not bool:
            raise BcError(400, "BadRequest", f"Cannot convert the literal '{value}' for '{name}'.")
        if not isinstance(value, field_spec.kind):
            raise BcError(
                400,
                "BadRequest",
                f"Cannot convert the literal '{value}' to the expected type of '{name}'.",
            )
        if isinstance(value, str) and field_spec.max_length and len(value) > field_spec.max_length:
            raise BcError(
                400,
                "Application_StringExceededLength",
                f"The length of the string is {len(value)}, but it must be less than or equal "
                f"to {field_spec.max_length} characters. Value: {value}",
            )
        if field_spec.choices and value not in field_spec.choices:
            raise BcError(
                400,
                "BadRequest",
                f"Cannot convert the literal '{value}' to the expected type "
                f"'Microsoft.NAV.{name}'.",
            )


@dataclass
class Company:
    id: str
    name: str
    items: dict[str, Entity] = field(default_factory=dict)
    customers: dict[str, Entity] = field(default_factory=dict)
    salesOrders: dict[str, Entity] = field(default_factory=dict)
    salesInvoices: dict[str, Entity] = field(default_factory=dict)
    series: dict[str, int] = field(
        default_factory=lambda: {"customers": 10000, "salesOrders": 101000, "salesInvoices": 102000}
    )

    def table(self, entity_set: str) -> dict[str, Entity]:
        table: dict[str, Entity] = getattr(self, entity_set)
        return table


_DEMO_ITEMS = [
    ("1896-S", "ATHENS Desk", 1000.8, False),
    ("1900-S", "PARIS Guest Chair, black", 192.8, False),
    ("1906-S", "ATHENS Mobile Pedestal", 281.4, False),
    ("1908-S", "LONDON Swivel Chair, blue", 190.1, False),
    ("1920-S", "ANTWERP Conference Table", 649.4, False),
    ("1996-S", "ATLANTA Whiteboard, base", 1397.3, False),
    ("2000-S", "SYDNEY Swivel Chair, green", 190.1, False),
    ("1928-S", "AMSTERDAM Lamp (discontinued)", 54.9, True),
]

_DEMO_CUSTOMERS = [
    ("C00010", "Zeebries Tuinmeubelen BV", "Kustlaan 12", "Knokke-Heist", "8300", "BE0412345678"),
    ("C00020", "Atelier Lumière SRL", "Rue Haute 140", "Bruxelles", "1000", "BE0823456789"),
]


class BusinessCentral:
    """All companies of one sandbox ERP, safe to use from many threads."""

    def __init__(self, *, now: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.RLock()
        self._now = now or (lambda: datetime.now(UTC))
        self.companies: dict[str, Company] = {}
        self.seed()

    # -- set-up -------------------------------------------------------------

    def seed(self) -> None:
        with self._lock:
            self.companies.clear()
            company = Company(id=str(uuid.uuid5(NAMESPACE, "CRONUS BE")), name="CRONUS BE")
            self.companies[company.id] = company
            for number, name, price, blocked in _DEMO_ITEMS:
                item_id = str(uuid.uuid5(NAMESPACE, number))
                company.items[item_id] = self._stamp(
                    {
                        "id": item_id,
                        "number": number,
                        "displayName": name,
                        "type": "Inventory",
                        "blocked": blocked,
                        "baseUnitOfMeasureCode": "PCS",
                        "unitPrice": price,
                        "priceIncludesTax": False,
                        "inventory": 0 if blocked else 100,
                    }
                )
            for number, name, street, city, postcode, vat in _DEMO_CUSTOMERS:
                customer_id = str(uuid.uuid5(NAMESPACE, number))
                company.customers[customer_id] = self._stamp(
                    {
                        "id": customer_id,
                        "number": number,
                        "displayName": name,
                        "type": "Company",
                        "addressLine1": street,
                        "addressLine2": "",
                        "city": city,
                        "state": "",
                        "country": "BE",
                        "postalCode": postcode,
                        "phoneNumber": "",
                        "email": "",
                        "website": "",
                        "taxLiable": True,
                        "taxRegistrationNumber": vat,
                        "currencyCode": "EUR",
                        "blocked": " ",
                        "balanceDue": 0,
                    }
                )

    @property
    def default_company_id(self) -> str:
        return next(iter(self.companies))

    # -- helpers ------------------------------------------------------------

    def _timestamp(self) -> str:
        return self._now().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _stamp(self, entity: Entity) -> Entity:
        version = int(entity.get("_version", 0)) + 1
        entity["_version"] = version
        entity["lastModifiedDateTime"] = self._timestamp()
        return entity

    @staticmethod
    def etag(entity: Entity) -> str:
        raw = f"{entity['id']};{entity['_version']}".encode()
        return 'W/"' + base64.b64encode(raw).decode() + '"'

    def company(self, company_id: str) -> Company:
        company = self.companies.get(company_id.lower())
        if company is None:
            raise not_found("companies")
        return company

    def _next_number(self, company: Company, entity_set: str, prefix: str) -> str:
        company.series[entity_set] += 10 if entity_set == "customers" else 1
        value = company.series[entity_set]
        return f"{prefix}{value:05d}" if entity_set == "customers" else f"{prefix}{value}"

    # -- reads --------------------------------------------------------------

    def list(self, company_id: str, entity_set: str) -> list[Entity]:
        with self._lock:
            table = self.company(company_id).table(entity_set)
            return [dict(entity) for entity in table.values()]

    def get(self, company_id: str, entity_set: str, entity_id: str) -> Entity:
        with self._lock:
            entity = self.company(company_id).table(entity_set).get(entity_id.lower())
            if entity is None:
                raise not_found(entity_set)
            return self._copy(entity)

    @staticmethod
    def _copy(entity: Entity) -> Entity:
        copy = dict(entity)
        for key, value in entity.items():
            if isinstance(value, list):
                copy[key] = [dict(line) for line in value]
        return copy

    # -- writes -------------------------------------------------------------

    def create(self, company_id: str, entity_set: str, body: dict[str, Any]) -> Entity:
        spec = ENTITY_SETS[entity_set]
        if not spec.writable:
            raise BcError(
                405,
                "BadRequest_MethodNotAllowed",
                f"'POST' requests for '{entity_set}' of EdmType 'EntityType' are not allowed "
                "within Dynamics 365 Business Central OData web services.",
            )
        allowed_extra = [spec.lines] if spec.lines else []
        _check_fields(spec.writable, body, spec.type_name, allowed_extra=allowed_extra)
        for name in spec.required:
            if not body.get(name):
                raise BcError(
                    400,
                    "BadRequest_RequiredParamNotProvided",
                    f"The parameter '{name}' is required and was not provided.",
                )
        with self._lock:
            company = self.company(company_id)
            if entity_set == "customers":
                return self._create_customer(company, body)
            return self._create_document(company, spec, body)

    def _create_customer(self, company: Company, body: dict[str, Any]) -> Entity:
        number = body.get("number") or self._next_number(company, "customers", "C")
        if any(c["number"] == number for c in company.customers.values()):
            raise BcError(
                409,
                "Internal_EntityWithSameKeyExists",
                "The record in table Customer already exists. "
                f"Identification fields and values: No.='{number}'",
            )
        customer: Entity = {
            "id": str(uuid.uuid4()),
            "number": number,
            "displayName": "",
            "type": "Company",
            "addressLine1": "",
            "addressLine2": "",
            "city": "",
            "state": "",
            "country": "",
            "postalCode": "",
            "phoneNumber": "",
            "email": "",
            "website": "",
            "taxLiable": False,
            "taxRegistrationNumber": "",
            "currencyCode": "EUR",
            "blocked": " ",
            "balanceDue": 0,
        }
        customer.update(body)
        customer["number"] = number
        company.customers[customer["id"]] = self._stamp(customer)
        return self._copy(customer)

    def _find_customer(self, company: Company, body: dict[str, Any]) -> Entity:
        customer_id = body.get("customerId")
        customer_number = body.get("customerNumber")
        if not customer_id and not customer_number:
            raise BcError(
                400,
                "Application_DialogException",
                "A customerNumber or a customerID must be provided.",
            )
        for customer in company.customers.values():
            if customer_id and customer["id"] == str(customer_id).lower():
                return customer
            if not customer_id and customer["number"] == customer_number:
                return customer
        raise BcError(
            400,
            "Application_FieldValidationException",
            "The field Sell-to Customer No. of table Sales Header contains a value "
            f"({customer_number or customer_id}) that cannot be found in the related table "
            "(Customer).",
        )

    def _find_item(self, company: Company, line: dict[str, Any]) -> Entity:
        wanted_id = line.get("itemId")
        wanted_number = line.get("lineObjectNumber")
        for item in company.items.values():
            if (wanted_id and item["id"] == str(wanted_id).lower()) or (
                not wanted_id and item["number"] == wanted_number
            ):
                if item["blocked"]:
                    raise BcError(
                        400,
                        "Application_DialogException",
                        f"You cannot sell Item {item['number']} because it is blocked.",
                    )
                return item
        raise BcError(
            400,
            "Application_FieldValidationException",
            "The field No. of table Sales Line contains a value "
            f"({wanted_number or wanted_id}) that cannot be found in the related table (Item).",
        )

    def _build_line(
        self, company: Company, document_id: str, sequence: int, line: dict[str, Any]
    ) -> Entity:
        _check_fields(LINE_WRITABLE, line, "salesOrderLine", allowed_extra=())
        line_type = line.get("lineType", "Item")
        quantity = Decimal(str(line.get("quantity", 0)))
        if quantity < 0:
            raise BcError(
                400,
                "Application_FieldValidationException",
                "Quantity must be positive in Sales Line.",
            )
        built: Entity = {
            "id": str(uuid.uuid4()),
            "documentId": document_id,
            "sequence": sequence,
            "lineType": line_type,
            "itemId": "00000000-0000-0000-0000-000000000000",
            "lineObjectNumber": "",
            "description": line.get("description", ""),
            "unitOfMeasureCode": "",
            "quantity": float(quantity) if quantity % 1 else int(quantity),
            "unitPrice": 0,
            "discountPercent": line.get("discountPercent", 0),
            "taxPercent": 0,
            "amountExcludingTax": 0,
            "totalTaxAmount": 0,
            "amountIncludingTax": 0,
        }
        if line_type == "Item":
            item = self._find_item(company, line)
            unit_price = Decimal(str(line.get("unitPrice", item["unitPrice"])))
            discount = Decimal(str(line.get("discountPercent", 0)))
            net = quantity * unit_price * (Decimal(100) - discount) / Decimal(100)
            tax = net * VAT_PERCENT / Decimal(100)
            built.update(
                itemId=item["id"],
                lineObjectNumber=item["number"],
                description=line.get("description") or item["displayName"],
                unitOfMeasureCode=item["baseUnitOfMeasureCode"],
                unitPrice=float(unit_price),
                taxPercent=float(VAT_PERCENT),
                amountExcludingTax=_money(net),
                totalTaxAmount=_money(tax),
                amountIncludingTax=_money(net) + _money(tax),
            )
        return built

    def _create_document(self, company: Company, spec: EntitySet, body: dict[str, Any]) -> Entity:
        assert spec.lines is not None
        customer = self._find_customer(company, body)
        raw_lines = body.get(spec.lines, [])
        if not isinstance(raw_lines, list) or not all(isinstance(x, dict) for x in raw_lines):
            raise BcError(400, "BadRequest", f"'{spec.lines}' must be an array of objects.")
        document_id = str(uuid.uuid4())
        lines = [
            self._build_line(company, document_id, 10000 * (index + 1), line)
            for index, line in enumerate(raw_lines)
        ]
        is_order = spec.name == "salesOrders"
        today = self._now().date().isoformat()
        document: Entity = {
            "id": document_id,
            "number": self._next_number(company, spec.name, "S-ORD" if is_order else "S-INV"),
            "externalDocumentNumber": body.get("externalDocumentNumber", ""),
            "customerId": customer["id"],
            "customerNumber": customer["number"],
            "customerName": customer["displayName"],
            "currencyCode": body.get("currencyCode") or customer["currencyCode"] or "EUR",
            "pricesIncludeTax": body.get("pricesIncludeTax", False),
            "status": "Draft",
        }
        if is_order:
            document["orderDate"] = body.get("orderDate") or today
            document["postingDate"] = body.get("postingDate") or today
        else:
            document["invoiceDate"] = body.get("invoiceDate") or today
            document["dueDate"] = body.get("dueDate") or today
        for date_field in ("orderDate", "postingDate", "invoiceDate", "dueDate"):
            if date_field in document:
                try:
                    date.fromisoformat(document[date_field])
                except ValueError:
                    raise BcError(
                        400,
                        "BadRequest",
                        f"Cannot convert the literal '{document[date_field]}' to the expected "
                        "type 'Edm.Date'.",
                    ) from None
        document[spec.lines] = lines
        self._total(document, spec.lines)
        if not is_order:
            document["remainingAmount"] = 0
        company.table(spec.name)[document_id] = self._stamp(document)
        return self._copy(document)

    @staticmethod
    def _total(document: Entity, lines_name: str) -> None:
        lines = document[lines_name]
        excluding = sum(Decimal(str(line["amountExcludingTax"])) for line in lines)
        tax = sum(Decimal(str(line["totalTaxAmount"])) for line in lines)
        document["totalAmountExcludingTax"] = _money(Decimal(excluding))
        document["totalTaxAmount"] = _money(Decimal(tax))
        document["totalAmountIncludingTax"] = _money(Decimal(excluding) + Decimal(tax))

    def _check_etag(self, entity: Entity, if_match: str | None) -> None:
        if not if_match:
            raise BcError(
                400,
                "BadRequest",
                "Could not validate the client concurrency token required by the service. "
                "Please provide a valid token in the client request.",
            )
        if if_match.strip() != "*" and if_match.strip() != self.etag(entity):
            raise BcError(
                409,
                "Request_EntityChanged",
                "Another user has already changed the record.",
            )

    def delete(
        self, company_id: str, entity_set: str, entity_id: str, if_match: str | None
    ) -> None:
        with self._lock:
            table = self.company(company_id).table(entity_set)
            entity = table.get(entity_id.lower())
            if entity is None:
                raise not_found(entity_set)
            self._check_etag(entity, if_match)
            if entity_set == "items":
                raise BcError(
                    405,
                    "BadRequest_MethodNotAllowed",
                    "'DELETE' requests for 'items' are not allowed in this sandbox.",
                )
            if entity_set == "salesInvoices" and entity["status"] != "Draft":
                raise BcError(
                    400,
                    "Application_DialogException",
                    f"You cannot delete posted sales invoice {entity['number']}.",
                )
            if entity_set == "customers":
                self._refuse_if_customer_in_use(company_id, entity)
            del table[entity["id"]]

    def _refuse_if_customer_in_use(self, company_id: str, customer: Entity) -> None:
        company = self.company(company_id)
        documents = [*company.salesOrders.values()] + [
            invoice for invoice in company.salesInvoices.values() if invoice["status"] != "Draft"
        ]
        for document in documents:
            if document["customerId"] == customer["id"]:
                raise BcError(
                    400,
                    "Application_DialogException",
                    f"You cannot delete Customer {customer['number']} because there is at "
                    "least one outstanding Sales document for this customer.",
                )

    def forget(self, company_id: str, entity_set: str, entity_id: str) -> None:
        """Drop a record without any rule: the sandbox's 'accepted but not persisted'."""
        with self._lock:
            self.company(company_id).table(entity_set).pop(entity_id.lower(), None)

    def customer_without_vat(
        self, company_id: str, entity_set: str, body: dict[str, Any]
    ) -> str | None:
        """The number of the customer a create would leave without a VAT number, if any."""
        with self._lock:
            company = self.company(company_id)
            if entity_set == "customers":
                if body.get("taxRegistrationNumber"):
                    return None
                return str(body.get("number") or f"C{company.series['customers'] + 10:05d}")
            if entity_set in ("salesOrders", "salesInvoices"):
                try:
                    customer = self._find_customer(company, body)
                except BcError:
                    return None  # the normal rules answer this one
                return None if customer["taxRegistrationNumber"] else str(customer["number"])
            return None

    def mark_invoice_paid(self, company_id: str, external_document_number: str) -> int:
        """What the shop's payment integration does on a paid webhook; how many it marked."""
        marked = 0
        with self._lock:
            for invoice in self.company(company_id).salesInvoices.values():
                if (
                    invoice["externalDocumentNumber"] == external_document_number
                    and invoice["status"] == "Open"
                ):
                    invoice["status"] = "Paid"
                    invoice["remainingAmount"] = 0
                    self._stamp(invoice)
                    marked += 1
        return marked

    def paid_invoice(
        self, company_id: str, external_document_number: str, customer_number: str
    ) -> Entity:
        """A posted invoice marked paid, for seeding reconciliation scenarios."""
        body = {
            "externalDocumentNumber": external_document_number,
            "customerNumber": customer_number,
            "salesInvoiceLines": [
                {"lineType": "Item", "lineObjectNumber": "1900-S", "quantity": 1}
            ],
        }
        invoice = self.create(company_id, "salesInvoices", body)
        self.post_invoice(company_id, invoice["id"])
        self.mark_invoice_paid(company_id, external_document_number)
        return self.get(company_id, "salesInvoices", invoice["id"])

    def post_invoice(self, company_id: str, invoice_id: str) -> None:
        with self._lock:
            invoice = self.company(company_id).salesInvoices.get(invoice_id.lower())
            if invoice is None:
                raise not_found("salesInvoices")
            if invoice["status"] != "Draft":
                raise BcError(
                    400,
                    "Application_DialogException",
                    f"Sales invoice {invoice['number']} has already been posted.",
                )
            if not any(line["lineType"] == "Item" for line in invoice["salesInvoiceLines"]):
                raise BcError(400, "Application_DialogException", "There is nothing to post.")
            invoice["status"] = "Open"
            invoice["remainingAmount"] = invoice["totalAmountIncludingTax"]
            self._stamp(invoice)

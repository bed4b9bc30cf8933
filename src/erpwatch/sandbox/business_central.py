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

from .bc_schema import (
    EMPTY_GUID,
    ENTITY_SETS,
    LINE_WRITABLE,
    ORDER_LINE_EXTRAS,
    EntitySet,
    FieldSpec,
)

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


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _validated(
    spec: dict[str, FieldSpec],
    body: dict[str, Any],
    type_name: str,
    *,
    allowed_extra: Iterable[str],
) -> dict[str, Any]:
    """The body as Business Central stores it, or the error it answers: unknown
    properties and wrong types are refused, Code fields upper-cased and trimmed."""
    extra = set(allowed_extra)
    stored: dict[str, Any] = {}
    for name, value in body.items():
        if name in extra:
            stored[name] = value
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
        if isinstance(value, str) and field_spec.code:
            value = value.strip().upper()
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
        stored[name] = value
    return stored


@dataclass(frozen=True)
class InvoiceDiscount:
    """A "Cust. Invoice Disc." line: documents from ``minimum`` get ``percent`` off."""

    minimum: Decimal
    percent: Decimal


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
    # Every customer of the demo company gets 2 % off documents from EUR 2,500, as
    # BC applies a customer's invoice discount itself when an API client creates
    # a document: the order monitor's order crosses it, so totals are always
    # checked after discount, as on a real tenant.
    invoice_discount: InvoiceDiscount | None = InvoiceDiscount(Decimal(2500), Decimal(2))

    def table(self, entity_set: str) -> dict[str, Entity]:
        table: dict[str, Entity] = getattr(self, entity_set)
        return table


_DEMO_ITEMS = [
    ("1896-S", "ATHENS Desk", 1000.8, 780.7, False),
    ("1900-S", "PARIS Guest Chair, black", 192.8, 150.4, False),
    ("1906-S", "ATHENS Mobile Pedestal", 281.4, 219.5, False),
    ("1908-S", "LONDON Swivel Chair, blue", 190.1, 148.3, False),
    ("1920-S", "ANTWERP Conference Table", 649.4, 506.6, False),
    ("1996-S", "ATLANTA Whiteboard, base", 1397.3, 1090.0, False),
    ("2000-S", "SYDNEY Swivel Chair, green", 190.1, 148.3, False),
    ("1928-S", "AMSTERDAM Lamp (discontinued)", 54.9, 42.8, True),
]

_DEMO_CUSTOMERS = [
    ("C00010", "Zeebries Tuinmeubelen BV", "Kustlaan 12", "Knokke-Heist", "8300", "BE0412345678"),
    ("C00020", "Atelier Lumière SRL", "Rue Haute 140", "Bruxelles", "1000", "BE0823456789"),
]


def _guid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


# What a new customer has before the client's values are applied (from the
# customer template of the demo company); BC answers every field, set or not.
_CUSTOMER_DEFAULTS: Entity = {
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
    "salespersonCode": "",
    "balanceDue": 0,
    "creditLimit": 0,
    "taxLiable": False,
    "taxAreaId": EMPTY_GUID,
    "taxAreaDisplayName": "",
    "taxRegistrationNumber": "",
    "currencyId": EMPTY_GUID,
    "currencyCode": "EUR",
    "paymentTermsId": _guid("payment terms 14 DAYS"),
    "shipmentMethodId": EMPTY_GUID,
    "paymentMethodId": EMPTY_GUID,
    "blocked": " ",
}


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
            company = Company(id=_guid("CRONUS BE"), name="CRONUS BE")
            self.companies[company.id] = company
            for number, name, price, cost, blocked in _DEMO_ITEMS:
                item_id = _guid(number)
                company.items[item_id] = self._stamp(
                    {
                        "id": item_id,
                        "number": number,
                        "displayName": name,
                        "displayName2": "",
                        "type": "Inventory",
                        "itemCategoryId": _guid("item category FURNITURE"),
                        "itemCategoryCode": "FURNITURE",
                        "blocked": blocked,
                        "gtin": "",
                        "inventory": 0 if blocked else 100,
                        "unitPrice": price,
                        "priceIncludesTax": False,
                        "unitCost": cost,
                        "taxGroupId": EMPTY_GUID,
                        "taxGroupCode": "",
                        "baseUnitOfMeasureId": _guid("unit of measure PCS"),
                        "baseUnitOfMeasureCode": "PCS",
                        "generalProductPostingGroupId": _guid("gen. product posting group RETAIL"),
                        "generalProductPostingGroupCode": "RETAIL",
                        "inventoryPostingGroupId": _guid("inventory posting group RESALE"),
                        "inventoryPostingGroupCode": "RESALE",
                    }
                )
            for number, name, street, city, postcode, vat in _DEMO_CUSTOMERS:
                customer_id = _guid(number)
                company.customers[customer_id] = self._stamp(
                    _CUSTOMER_DEFAULTS
                    | {
                        "id": customer_id,
                        "number": number,
                        "displayName": name,
                        "addressLine1": street,
                        "city": city,
                        "country": "BE",
                        "postalCode": postcode,
                        "taxLiable": True,
                        "taxRegistrationNumber": vat,
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
        body = _validated(spec.writable, body, spec.type_name, allowed_extra=allowed_extra)
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
        customer: Entity = {"id": str(uuid.uuid4()), "number": number, **_CUSTOMER_DEFAULTS}
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
                'A "customerNumber" or a "customerId" must be provided.',
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
        self, company: Company, document_id: str, sequence: int, line: dict[str, Any], order: bool
    ) -> Entity:
        line = _validated(LINE_WRITABLE, line, "salesOrderLine", allowed_extra=())
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
            "sequence": line.get("sequence", sequence),
            "itemId": EMPTY_GUID,
            "accountId": EMPTY_GUID,
            "lineType": line_type,
            "lineObjectNumber": "",
            "description": line.get("description", ""),
            "unitOfMeasureId": EMPTY_GUID,
            "unitOfMeasureCode": "",
            "quantity": float(quantity) if quantity % 1 else int(quantity),
            "unitPrice": 0,
            "discountAmount": 0,
            "discountPercent": line.get("discountPercent", 0),
            "discountAppliedBeforeTax": False,
            "amountExcludingTax": 0,
            "taxCode": "",
            "taxPercent": 0,
            "totalTaxAmount": 0,
            "amountIncludingTax": 0,
            "invoiceDiscountAllocation": 0,
            "netAmount": 0,
            "netTaxAmount": 0,
            "netAmountIncludingTax": 0,
            "shipmentDate": self._now().date().isoformat(),
            "itemVariantId": EMPTY_GUID,
            "locationId": EMPTY_GUID,
        }
        if order:
            built |= {key: 0 for key in ORDER_LINE_EXTRAS}
            built |= {"invoiceQuantity": built["quantity"], "shipQuantity": built["quantity"]}
        if line_type == "Item":
            item = self._find_item(company, line)
            unit_price = Decimal(str(line.get("unitPrice", item["unitPrice"])))
            gross = quantity * unit_price
            percent = Decimal(str(line.get("discountPercent", 0)))
            line_discount = Decimal(str(line.get("discountAmount", gross * percent / 100)))
            amount = Decimal(str(_money(gross - line_discount)))
            tax = Decimal(str(_money(amount * VAT_PERCENT / 100)))
            built.update(
                itemId=item["id"],
                lineObjectNumber=item["number"],
                description=line.get("description") or item["displayName"],
                unitOfMeasureId=item["baseUnitOfMeasureId"],
                unitOfMeasureCode=item["baseUnitOfMeasureCode"],
                unitPrice=float(unit_price),
                discountAmount=_money(line_discount),
                taxCode="VAT21",
                taxPercent=float(VAT_PERCENT),
                amountExcludingTax=float(amount),
                totalTaxAmount=float(tax),
                amountIncludingTax=float(amount + tax),
            )
        return built

    def _create_document(self, company: Company, spec: EntitySet, body: dict[str, Any]) -> Entity:
        assert spec.lines is not None
        customer = self._find_customer(company, body)
        raw_lines = body.get(spec.lines, [])
        if not isinstance(raw_lines, list) or not all(isinstance(x, dict) for x in raw_lines):
            raise BcError(400, "BadRequest", f"'{spec.lines}' must be an array of objects.")
        is_order = spec.name == "salesOrders"
        document_id = str(uuid.uuid4())
        lines = [
            self._build_line(company, document_id, 10000 * (index + 1), line, is_order)
            for index, line in enumerate(raw_lines)
        ]
        today = self._now().date().isoformat()
        address = {
            "AddressLine1": customer["addressLine1"],
            "AddressLine2": customer["addressLine2"],
            "City": customer["city"],
            "Country": customer["country"],
            "State": customer["state"],
            "PostCode": customer["postalCode"],
        }
        document: Entity = {
            "id": document_id,
            "number": self._next_number(company, spec.name, "S-ORD" if is_order else "S-INV"),
            "externalDocumentNumber": "",
            "postingDate": today,
            "customerId": customer["id"],
            "customerNumber": customer["number"],
            "customerName": customer["displayName"],
            "billToName": customer["displayName"],
            "billToCustomerId": customer["id"],
            "billToCustomerNumber": customer["number"],
            "shipToName": customer["displayName"],
            "shipToContact": "",
            **{
                f"{prefix}{key}": value
                for prefix in ("sellTo", "billTo", "shipTo")
                for key, value in address.items()
            },
            "shortcutDimension1Code": "",
            "shortcutDimension2Code": "",
            "currencyId": EMPTY_GUID,
            "currencyCode": customer["currencyCode"] or "EUR",
            "pricesIncludeTax": False,
            "paymentTermsId": customer["paymentTermsId"],
            "shipmentMethodId": customer["shipmentMethodId"],
            "salesperson": customer["salespersonCode"],
            "discountAmount": 0,
            "discountAppliedBeforeTax": True,
            "status": "Draft",
            "phoneNumber": customer["phoneNumber"],
            "email": customer["email"],
        }
        if is_order:
            document |= {
                "orderDate": today,
                "partialShipping": True,
                "requestedDeliveryDate": "0001-01-01",
                "fullyShipped": False,
            }
        else:
            document |= {
                "invoiceDate": today,
                "dueDate": today,
                "customerPurchaseOrderReference": "",
                "orderId": EMPTY_GUID,
                "orderNumber": "",
            }
        given = {k: v for k, v in body.items() if k not in ("customerId", "customerNumber")}
        given.pop(spec.lines, None)
        explicit_discount = given.pop("discountAmount", None)
        document.update(given)
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
        self._total(document, spec.lines, company.invoice_discount, explicit_discount)
        if not is_order:
            document["remainingAmount"] = 0
        company.table(spec.name)[document_id] = self._stamp(document)
        return self._copy(document)

    @staticmethod
    def _total(
        document: Entity,
        lines_name: str,
        rule: InvoiceDiscount | None,
        explicit_discount: float | None,
    ) -> None:
        """Spread the invoice discount over the lines and total the document, as BC's
        "Sales - Calc Discount By Type" does: lines keep their amount before the
        discount (``amountExcludingTax``); their share is ``invoiceDiscountAllocation``
        and what is left ``netAmount``; the header totals are after the discount."""
        lines = document[lines_name]
        amounts = [Decimal(str(line["amountExcludingTax"])) for line in lines]
        base = sum(amounts, Decimal(0))
        if explicit_discount is not None:
            discount = Decimal(str(explicit_discount))
        elif rule is not None and base >= rule.minimum:
            discount = Decimal(str(_money(base * rule.percent / 100)))
        else:
            discount = Decimal(0)
        if discount > base:
            raise BcError(
                400,
                "Application_DialogException",
                f"The maximum Invoice Discount that you can apply is {_money(base)}.",
            )
        left = discount
        net_total = tax_total = Decimal(0)
        for index, (line, amount) in enumerate(zip(lines, amounts, strict=True)):
            last = index == len(lines) - 1
            share = (
                left
                if last
                else Decimal(str(_money(discount * amount / base)))
                if base
                else Decimal(0)
            )
            left -= share
            net = amount - share
            net_tax = Decimal(str(_money(net * Decimal(str(line["taxPercent"])) / 100)))
            line.update(
                discountAppliedBeforeTax=True,
                invoiceDiscountAllocation=float(share),
                netAmount=float(net),
                netTaxAmount=float(net_tax),
                netAmountIncludingTax=float(net + net_tax),
            )
            net_total += net
            tax_total += net_tax
        document["discountAmount"] = float(discount)
        document["totalAmountExcludingTax"] = _money(net_total)
        document["totalTaxAmount"] = _money(tax_total)
        document["totalAmountIncludingTax"] = _money(net_total + tax_total)

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
        # The shop knows its order number as typed; BC keeps the Code field upper-case.
        external_document_number = external_document_number.strip().upper()
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

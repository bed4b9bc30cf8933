"""[punchout] and the PUNCHOUT_*/OCI_* variables: a shop's cXML punchout and OCI catalogue."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._erp import DEFAULT_TEST_ITEM, DEFAULT_TIMEOUTS, Timeouts
from ._schema import (
    ConfigError,
    Span,
    check_address,
    layered_text,
    number,
    reject_unknown,
    table,
    text,
    whole,
)
from ._sources import needs, party


@dataclass(frozen=True)
class PostalAddress:
    """A ShipTo or BillTo address, as every public OrderRequest carries one."""

    name: str  # the company
    street: str
    city: str
    postal_code: str
    country_code: str  # ISO 3166-1 alpha-2
    country: str  # the country's name: cXML's Country element holds it
    deliver_to: str = ""  # a person or department at that address
    state: str = ""
    email: str = ""
    address_id: str = ""  # the buyer's code for this address, when the shop keys on it


# Where the synthetic orders go unless [punchout.cxml.ship_to] says otherwise: the
# demo buyer of the sandbox. A live shop ships real orders, so set your own.
DEFAULT_SHIP_TO = PostalAddress(
    name="Brasserie De Gouden Leeuw BV",
    deliver_to="Goods receipt",
    street="Korenmarkt 1",
    city="Gent",
    postal_code="9000",
    country_code="BE",
    country="Belgium",
)


@dataclass(frozen=True)
class PunchoutSettings:
    """The shop's cXML punchout endpoints, the parties' credentials and the document shape."""

    setup_url: str
    order_url: str
    from_domain: str  # the buyer
    from_identity: str
    to_domain: str  # the shop
    to_identity: str
    sender_domain: str  # who sends and authenticates: the buyer, or its network
    sender_identity: str
    shared_secret: str = field(repr=False)
    order_timeout: float  # how long an accepted OrderRequest may take to reach the ERP
    deployment_mode: str = "production"  # "test" only where the shop documents test orders
    user_agent: str = "erpwatch punchout monitor"
    currency: str = "EUR"
    ship_to: PostalAddress = DEFAULT_SHIP_TO
    bill_to: PostalAddress = DEFAULT_SHIP_TO
    user_email: str = ""  # sent as the endUser contact (and UserEmail) when set
    auxiliary_id: str = ""  # the shop's SupplierPartAuxiliaryID for the test item, if it needs one
    timeout: float = 30.0  # per call, as [erp] timeout
    connect_timeout: float = 5.0


@dataclass(frozen=True)
class OciSettings:
    """A shop's OCI catalogue, and the way a buyer reaches its transfer to SAP."""

    url: str
    username: str
    password: str = field(repr=False)
    method: str = "GET"  # how SAP calls the catalogue: GET, or POST where so customised
    username_field: str = "USERNAME"
    password_field: str = "PASSWORD"
    hook_field: str = "HOOK_URL"
    parameters: Mapping[str, str] = field(default_factory=dict)  # fixed catalogue parameters
    item: str = DEFAULT_TEST_ITEM  # what goes into the basket
    quantity: int = 1
    add_to_basket: str = ""  # "[GET|POST] URL" with {item} and {quantity}; "": the item's form
    transfer_url: str = ""  # "[GET|POST] URL" answering the transfer page; "": a transfer form
    transfer_form: str = ""  # XPath of the form that starts the transfer; "": a default
    units: frozenset[str] = frozenset()  # unit codes the buyer's SAP accepts beyond Rec 20
    timeout: float = 30.0  # per call, as [erp] timeout
    connect_timeout: float = 5.0


_COUNTRY = r"^[A-Z]{2}$"
_UNIT = r"^[0-9A-Za-z]{1,3}$"
_ADDRESS_KEYS = {f.name for f in dataclasses.fields(PostalAddress)}


def _address(
    values: Mapping[str, Any], key: str, default: PostalAddress, where: str
) -> PostalAddress:
    prefix = f"punchout.cxml.{key}."
    given = values.get(key)
    if given is None:
        return default
    if not isinstance(given, dict):
        raise ConfigError(f"punchout.cxml.{key}", "must be a table of address fields", where)
    reject_unknown(given, _ADDRESS_KEYS, prefix, where)
    fields: dict[str, str] = {}
    for name in _ADDRESS_KEYS:
        value = given.get(name, "")
        if not isinstance(value, str):
            raise ConfigError(f"{prefix}{name}", f"must be a text, not {value!r}", where)
        fields[name] = value.strip()
    for name in ("name", "street", "city", "postal_code", "country_code", "country"):
        if not fields[name]:
            raise ConfigError(f"{prefix}{name}", "is not set; a supplier needs it to ship", where)
    if not re.match(_COUNTRY, fields["country_code"]):
        raise ConfigError(
            f"{prefix}country_code",
            f"must be an ISO 3166 country code such as BE, not {fields['country_code']!r}",
            where,
        )
    if fields["email"]:
        check_address(fields["email"], f"{prefix}email", where)
    return PostalAddress(**fields)


def _request_spec(values: Mapping[str, Any], key: str, where: str) -> str:
    """'[GET|POST] URL', as [punchout.oci] writes a step the buyer's browser takes."""
    value = values.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"punchout.oci.{key}", f"must be a text, not {value!r}", where)
    method, _, url = value.strip().rpartition(" ")
    if value.strip() and (method.strip().upper() not in ("", "GET", "POST") or not url):
        raise ConfigError(
            f"punchout.oci.{key}",
            f"must be 'GET URL', 'POST URL' or a URL, e.g. 'POST /cart/add?sku={{item}}', not {value!r}",
            where,
        )
    return value.strip()


def _free_text(values: Mapping[str, Any], key: str, prefix: str, where: str) -> str:
    """A text that may be empty (an optional part of a document)."""
    value = values.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{prefix}{key}", f"must be a text, not {value!r}", where)
    return value.strip()


def _cxml_document(values: Mapping[str, Any], env: Mapping[str, str], where: str) -> dict[str, Any]:
    """[punchout.cxml]: what the documents carry besides credentials."""
    prefix = "punchout.cxml."
    reject_unknown(
        values,
        {"deployment_mode", "user_agent", "currency", "user_email", "auxiliary_id", "ship_to",
         "bill_to"},
        prefix,
        where,
    )  # fmt: skip
    mode = layered_text(
        env, "PUNCHOUT_DEPLOYMENT_MODE", values, "deployment_mode", "production", prefix, where
    )
    if mode.value not in ("production", "test"):
        raise mode.error(
            f"must be production or test (as the shop documents it), not {mode.value!r}"
        )
    currency = text(values, "currency", "EUR", prefix, where)
    if not re.match(r"^[A-Z]{3}$", currency):
        raise ConfigError(f"{prefix}currency", "must be an ISO 4217 code such as EUR", where)
    user_email = _free_text(values, "user_email", prefix, where)
    if user_email:
        check_address(user_email, f"{prefix}user_email", where)
    ship_to = _address(values, "ship_to", DEFAULT_SHIP_TO, where)
    return {
        "deployment_mode": mode.value,
        "user_agent": text(values, "user_agent", "erpwatch punchout monitor", prefix, where),
        "currency": currency,
        "user_email": user_email,
        "auxiliary_id": _free_text(values, "auxiliary_id", prefix, where),
        "ship_to": ship_to,
        "bill_to": _address(values, "bill_to", ship_to, where),
    }


def _oci_browsing(values: Mapping[str, Any], env: Mapping[str, str], where: str) -> dict[str, Any]:
    """[punchout.oci]: how erpwatch calls the catalogue and reaches its transfer."""
    prefix = "punchout.oci."
    reject_unknown(
        values,
        {"method", "username_field", "password_field", "hook_field", "parameters", "item",
         "quantity", "add_to_basket", "transfer_url", "transfer_form", "units"},
        prefix,
        where,
    )  # fmt: skip
    method = text(values, "method", "GET", prefix, where).upper()
    if method not in ("GET", "POST"):
        raise ConfigError(f"{prefix}method", f"must be GET or POST, not {method!r}", where)
    parameters = values.get("parameters", {})
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        raise ConfigError(
            f"{prefix}parameters", 'must be a table of texts, e.g. SERVICE = "SAP"', where
        )
    quantity = whole(values, "quantity", 1, prefix, where, Span("items", 1000.0, 1.0, True, True))
    transfer_form = values.get("transfer_form", "")
    if not isinstance(transfer_form, str):
        raise ConfigError(
            f"{prefix}transfer_form", f"must be an XPath text, not {transfer_form!r}", where
        )
    if transfer_form.strip():
        from lxml import etree  # only when set: lxml is heavy for a run without OCI

        try:
            etree.XPath(transfer_form)
        except etree.XPathSyntaxError:
            raise ConfigError(
                f"{prefix}transfer_form",
                f"is not a valid XPath, e.g. //form[@id='oci-transfer'], not {transfer_form!r}",
                where,
            ) from None
    units = values.get("units", [])
    if not isinstance(units, list) or not all(
        isinstance(u, str) and re.match(_UNIT, u) for u in units
    ):
        raise ConfigError(
            f"{prefix}units", "must be a list of unit codes of 1 to 3 letters or digits", where
        )
    return {
        "method": method,
        "username_field": text(values, "username_field", "USERNAME", prefix, where),
        "password_field": text(values, "password_field", "PASSWORD", prefix, where),
        "hook_field": text(values, "hook_field", "HOOK_URL", prefix, where),
        "parameters": dict(parameters),
        "item": text(values, "item", env.get("ERP_TEST_ITEM") or DEFAULT_TEST_ITEM, prefix, where),
        "quantity": quantity,
        "add_to_basket": _request_spec(values, "add_to_basket", where),
        "transfer_url": _request_spec(values, "transfer_url", where),
        "transfer_form": transfer_form.strip(),
        "units": frozenset(u.upper() for u in units),
    }


_PUNCHOUT_VARIABLES = ("PUNCHOUT_SETUP_URL", "PUNCHOUT_ORDER_URL", "PUNCHOUT_FROM_DOMAIN",
                       "PUNCHOUT_FROM_IDENTITY", "PUNCHOUT_TO_IDENTITY", "PUNCHOUT_SHARED_SECRET")  # fmt: skip
_OCI_VARIABLES = ("OCI_URL", "OCI_USERNAME", "OCI_PASSWORD")


def punchout_settings(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    sandbox: Mapping[str, str] | None,
    where: str,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> tuple[PunchoutSettings | None, OciSettings | None]:
    """The cXML punchout and the OCI catalogue; each None when not configured."""
    values = table(data, "punchout", where)
    reject_unknown(values, {"order_timeout", "cxml", "oci"}, "punchout.", where)
    order_timeout = number(values, "order_timeout", 60.0, "punchout.", where)
    document = _cxml_document(table(values, "cxml", where), env, where)
    browsing = _oci_browsing(table(values, "oci", where), env, where)
    names = _PUNCHOUT_VARIABLES
    found = party(env, sandbox, names, urls=names[:2])
    punchout = None
    if found:
        source = env if env.get(names[0]) else (sandbox or {})
        sender = (
            source.get("PUNCHOUT_SENDER_DOMAIN", ""),
            source.get("PUNCHOUT_SENDER_IDENTITY", ""),
        )
        if any(sender) and not all(sender):
            given, missing = (
                ("PUNCHOUT_SENDER_DOMAIN", "PUNCHOUT_SENDER_IDENTITY")
                if sender[0]
                else ("PUNCHOUT_SENDER_IDENTITY", "PUNCHOUT_SENDER_DOMAIN")
            )
            raise needs(missing, given)
        punchout = PunchoutSettings(
            setup_url=found["PUNCHOUT_SETUP_URL"],
            order_url=found["PUNCHOUT_ORDER_URL"],
            from_domain=found["PUNCHOUT_FROM_DOMAIN"],
            from_identity=found["PUNCHOUT_FROM_IDENTITY"],
            # Most buyers name both parties in one domain (NetworkID, DUNS).
            to_domain=source.get("PUNCHOUT_TO_DOMAIN") or found["PUNCHOUT_FROM_DOMAIN"],
            to_identity=found["PUNCHOUT_TO_IDENTITY"],
            # A buyer that sends for itself is its own Sender; a network is not.
            sender_domain=sender[0] or found["PUNCHOUT_FROM_DOMAIN"],
            sender_identity=sender[1] or found["PUNCHOUT_FROM_IDENTITY"],
            shared_secret=found["PUNCHOUT_SHARED_SECRET"],
            order_timeout=order_timeout,
            **document,
            timeout=timeouts.timeout,
            connect_timeout=timeouts.connect_timeout,
        )
    oci_found = party(env, sandbox, _OCI_VARIABLES, urls=_OCI_VARIABLES[:1])
    oci = (
        OciSettings(
            oci_found["OCI_URL"],
            oci_found["OCI_USERNAME"],
            oci_found["OCI_PASSWORD"],
            **browsing,
            timeout=timeouts.timeout,
            connect_timeout=timeouts.connect_timeout,
        )
        if oci_found
        else None
    )
    return punchout, oci

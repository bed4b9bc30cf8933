"""The sandbox's HTTP face: one WSGI app for every party the monitors talk to.

Business Central API v2.0 shapes (see business_central.py):
  POST /oauth2/v2.0/token                                   OAuth2 client credentials
  GET  /, /api/v2.0                                         an index of the API
  GET  /api/v2.0/companies[(id)]
  GET|POST   /api/v2.0/companies(id)/{set}                  collections, deep insert, paging
  GET|DELETE /api/v2.0/companies(id)/{set}(key)             entities; DELETE checks If-Match
  GET  /api/v2.0/companies(id)/{set}(key)/{lines}           document lines
  POST /api/v2.0/companies(id)/salesInvoices(key)/Microsoft.NAV.post
The payment provider and the shop's payment integration (see mollie.py):
  POST|GET /v2/payments, GET /v2/payments/{id}[/chargebacks]   Mollie v2
  POST|GET /v2/orders, GET /v2/orders/{id}                      Mollie's Orders API, a subset
  GET|POST /checkout/{id}, POST /_shop/mollie-webhook           test checkout, the shop's webhook
The punchout shop (see punchout.py):
  POST /punchout/setup, POST /punchout/order, GET /punchout/start/{id}   cXML
  GET|POST /oci/catalog, GET /oci/shop, GET|POST /oci/basket, POST /oci/checkout   SAP OCI
Sandbox controls, never in a real ERP:
  GET /_sandbox/health, POST /_sandbox/reset, GET|POST|DELETE /_sandbox/faults
  POST /_sandbox/payments/{id}                              set a payment's status, a chargeback
Request faults (faults.py) hit the Business Central routes and the token; behaviour
faults (a lost or broken webhook, the punchout shop's) are taken by name where they act.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request as UrlRequest
from urllib.request import urlopen

from werkzeug.wrappers import Request, Response

from ._misbehaviour import BEHAVIOURS, Hit
from .bc_schema import ENTITY_SETS, LINE_FIELDS
from .business_central import BcError, BusinessCentral, Entity, not_found
from .faults import KINDS, Fault, FaultBoard, FaultKind, FaultSpecError, parse_fault
from .mollie import PaymentProvider, Problem, ShopPaymentIntegration
from .odata import ODataError, apply_query, one_page, page_size, parse_list, select
from .punchout import Page, PunchoutShop

API_ROOT = "/api/v2.0"
# Business Central pages collections at 20,000 rows; the sandbox at a few, so
# that every client that lists something has to follow @odata.nextLink.
PAGE_SIZE = 5
TOKEN_PATH = "/oauth2/v2.0/token"
JSON_TYPE = "application/json; odata.metadata=minimal; charset=utf-8"

_COMPANY_PATH = re.compile(
    r"^/api/v2\.0/companies(?:\((?P<company>[^)/]+)\)"
    r"(?:/(?P<set>[A-Za-z]+)(?:\((?P<key>[^)/]+)\))?(?:/(?P<tail>[A-Za-z.]+))?)?)?/?$"
)


@dataclass(frozen=True)
class Credentials:
    client_id: str = "erpwatch-sandbox"
    client_secret: str = "sandbox-secret"


class SandboxApp:
    """WSGI application. One instance is one ERP with its tokens and faults."""

    def __init__(
        self,
        *,
        credentials: Credentials | None = None,
        token_ttl: int = 3599,
        clock: Callable[[], float] = time.time,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.erp = BusinessCentral()
        self.page_size = page_size
        self.faults = FaultBoard()
        self.psp = PaymentProvider(
            now=lambda: datetime.fromtimestamp(clock(), UTC), notify=self._send_webhook
        )
        self.shop_payments = ShopPaymentIntegration(
            self.erp,
            self.psp,
            rejects_updates=lambda: (
                self.faults.take_kind(FaultKind.PAYMENT_UPDATE_REJECTED) is not None
            ),
        )
        self.punchout = PunchoutShop(
            self.erp,
            fault=lambda kind: self.faults.take_kind(kind) is not None,
            now=lambda: datetime.fromtimestamp(clock(), UTC),
        )
        self.credentials = credentials or Credentials()
        self.token_ttl = token_ttl
        self._clock = clock
        self._tokens: dict[str, float] = {}
        self._tokens_lock = threading.Lock()
        # Set when the server stops, so requests held by a fault let go.
        self.stopping = threading.Event()

    # -- WSGI ---------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        path = request.path
        try:
            if path.startswith("/_sandbox/"):
                return self._control(request)
            if path.startswith(("/v2/", "/checkout/", "/_shop/")):
                return self._payments(request)
            if path.startswith(("/punchout/", "/oci/")):
                return self._punchout(request)
            if path == TOKEN_PATH:
                return self._with_faults(request, "token", None, self._token)
            match = _COMPANY_PATH.match(path)
            if match is None:
                if path in ("/", API_ROOT, API_ROOT + "/"):
                    return self._index(request)
                raise BcError(
                    404, "BadRequest_NotFound", f"No HTTP resource was found for '{path}'."
                )
            target = match["set"] or "companies"
            return self._with_faults(
                request, target, match["company"], lambda r: self._api(r, match)
            )
        except BcError as error:
            return self.error(error.status, error.code, error.message)
        except ODataError as error:
            return self.error(400, "BadRequest", str(error))

    def _with_faults(
        self,
        request: Request,
        target: str,
        company_id: str | None,
        handler: Callable[[Request], Response],
    ) -> Response:
        fault = self.faults.take(request.method, target)
        if fault is None:
            return handler(request)
        return BEHAVIOURS[fault.kind](Hit(self, request, fault, handler, target, company_id))

    # -- responses ----------------------------------------------------------

    @staticmethod
    def json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(payload, ensure_ascii=False),
            status=status,
            headers=headers,
            content_type=JSON_TYPE,
        )

    def error(self, status: int, code: str, message: str) -> Response:
        correlation = uuid.uuid4()
        body = {"error": {"code": code, "message": f"{message}  CorrelationId:  {correlation}."}}
        return self.json(body, status)

    def _index(self, request: Request) -> Response:
        return self.json(
            {
                "name": "erpwatch sandbox ERP (Business Central API v2.0 subset)",
                "api": request.host_url.rstrip("/") + API_ROOT,
                "token": request.host_url.rstrip("/") + TOKEN_PATH,
            }
        )

    # -- OAuth2 -------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return self.json({"error": "invalid_request", "error_description": "Use POST."}, 405)
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return self.json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "AADSTS70003: The app requested an unsupported grant "
                    "type; only 'client_credentials' is supported.",
                },
                400,
            )
        if (form.get("client_id"), form.get("client_secret")) != (
            self.credentials.client_id,
            self.credentials.client_secret,
        ):
            return self.json(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. "
                    "Ensure the secret being sent in the request is the client secret value.",
                },
                401,
            )
        token = secrets.token_urlsafe(32)
        with self._tokens_lock:
            self._tokens[token] = self._clock() + self.token_ttl
        return self.json(
            {"token_type": "Bearer", "expires_in": self.token_ttl, "access_token": token}
        )

    def add_fault(self, fault: Fault, root_url: str) -> Fault:
        """Switch a fault on; a seeding fault also plants its data."""
        added = self.faults.add(fault)
        if fault.kind == FaultKind.PAID_BUT_FAILED:
            self.seed_reconciliation_mismatches(root_url)
        if fault.kind == FaultKind.CHARGED_BACK:
            self.seed_chargebacks(root_url)
        return added

    def expire_tokens(self) -> None:
        with self._tokens_lock:
            self._tokens.clear()

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        with self._tokens_lock:
            expires_at = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expires_at is None or expires_at <= self._clock():
            raise BcError(
                401,
                "Authentication_InvalidCredentials",
                "The server has rejected the client credentials.",
            )

    # -- API ----------------------------------------------------------------

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise BcError(400, "BadRequest", "Invalid Request Body") from None
        if not isinstance(body, dict):
            raise BcError(400, "BadRequest", "Invalid Request Body")
        return body

    def _context(self, request: Request, suffix: str) -> str:
        return f"{request.host_url.rstrip('/')}{API_ROOT}/$metadata#{suffix}"

    def _api(self, request: Request, match: re.Match[str]) -> Response:
        self._authorize(request)
        company_id, entity_set, key, tail = (
            match["company"],
            match["set"],
            match["key"],
            match["tail"],
        )
        if company_id is None:
            return self._companies(request, None)
        if entity_set is None:
            return self._companies(request, company_id)
        if entity_set not in ENTITY_SETS:
            raise not_found(entity_set)
        if key is None:
            return self._collection(request, company_id, entity_set)
        if tail is None:
            return self._entity(request, company_id, entity_set, key)
        return self._navigation(request, company_id, entity_set, key, tail)

    def _companies(self, request: Request, company_id: str | None) -> Response:
        self._only(request, "GET")
        companies = [
            {
                "id": company.id,
                "systemVersion": "25.0.23364.0",
                "name": company.name,
                "displayName": company.name,
                "businessProfileId": "",
            }
            for company in self.erp.companies.values()
        ]
        if company_id is None:
            return self.json(
                {"@odata.context": self._context(request, "companies"), "value": companies}
            )
        self.erp.company(company_id)
        found = next(c for c in companies if c["id"] == company_id.lower())
        return self.json({"@odata.context": self._context(request, "companies/$entity"), **found})

    @staticmethod
    def _only(request: Request, *methods: str) -> None:
        if request.method not in methods:
            raise BcError(
                405,
                "BadRequest_MethodNotAllowed",
                f"'{request.method}' requests for this resource are not allowed.",
            )

    def _render(self, entity: Entity, entity_set: str, expand: list[str]) -> dict[str, Any]:
        spec = ENTITY_SETS[entity_set]
        for name in expand:
            if name != spec.lines:
                raise ODataError(
                    f"Could not find a property named '{name}' on type "
                    f"'Microsoft.NAV.{spec.type_name}'."
                )
        rendered: dict[str, Any] = {"@odata.etag": self.erp.etag(entity)}
        for name, value in entity.items():
            if name.startswith("_"):
                continue
            if name == spec.lines:
                if name in expand:
                    rendered[name] = [self._render_line(line, entity) for line in value]
                continue
            rendered[name] = value
        return rendered

    def _render_line(self, line: Entity, document: Entity) -> dict[str, Any]:
        etag = self.erp.etag({"id": line["id"], "_version": document["_version"]})
        return {"@odata.etag": etag, **line}

    def _collection(self, request: Request, company_id: str, entity_set: str) -> Response:
        self._only(request, "GET", "POST")
        context = self._context(request, f"companies({company_id})/{entity_set}")
        expand = parse_list(request.args.get("$expand"))
        if request.method == "POST":
            created = self.erp.create(company_id, entity_set, self._body(request))
            spec = ENTITY_SETS[entity_set]
            rendered = self._render(created, entity_set, [spec.lines] if spec.lines else [])
            headers = {
                "ETag": rendered["@odata.etag"],
                "Location": f"{request.base_url}({created['id']})",
            }
            return self.json({"@odata.context": context + "/$entity", **rendered}, 201, headers)
        spec = ENTITY_SETS[entity_set]
        rows = apply_query(self.erp.list(company_id, entity_set), request.args, spec.fields)
        fields = parse_list(request.args.get("$select"))
        return self._page(
            request,
            context,
            rows,
            lambda row: select(self._render(row, entity_set, expand), fields, spec.fields),
        )

    def _page(
        self,
        request: Request,
        context: str,
        rows: list[Entity],
        render: Callable[[Entity], dict[str, Any]],
    ) -> Response:
        """One page of a collection; ``@odata.nextLink`` repeats the query with a skip token."""
        size, applied = page_size(request.headers.get("Prefer"), self.page_size)
        rows, following = one_page(rows, request.args, size)
        payload: dict[str, Any] = {"@odata.context": context, "value": [render(r) for r in rows]}
        if following is not None:
            query = {k: v for k, v in request.args.items() if k != "$skiptoken"}
            payload["@odata.nextLink"] = (
                f"{request.base_url}?{urlencode({**query, '$skiptoken': following}, safe='$')}"
            )
        headers = {"Preference-Applied": applied} if applied else None
        return self.json(payload, headers=headers)

    def _entity(self, request: Request, company_id: str, entity_set: str, key: str) -> Response:
        self._only(request, "GET", "DELETE")
        if request.method == "DELETE":
            self.erp.delete(company_id, entity_set, key, request.headers.get("If-Match"))
            return Response(status=204)
        entity = self.erp.get(company_id, entity_set, key)
        rendered = self._render(entity, entity_set, parse_list(request.args.get("$expand")))
        spec = ENTITY_SETS[entity_set]
        rendered = select(rendered, parse_list(request.args.get("$select")), spec.fields)
        context = self._context(request, f"companies({company_id})/{entity_set}/$entity")
        return self.json(
            {"@odata.context": context, **rendered}, headers={"ETag": rendered["@odata.etag"]}
        )

    def _navigation(
        self, request: Request, company_id: str, entity_set: str, key: str, tail: str
    ) -> Response:
        spec = ENTITY_SETS[entity_set]
        if entity_set == "salesInvoices" and tail == "Microsoft.NAV.post":
            self._only(request, "POST")
            self.erp.post_invoice(company_id, key)
            return Response(status=204)
        if tail != spec.lines:
            raise not_found(tail)
        self._only(request, "GET")
        document = self.erp.get(company_id, entity_set, key)
        lines = apply_query(document[tail], request.args, LINE_FIELDS)
        context = self._context(request, f"companies({company_id})/{entity_set}({key})/{tail}")
        return self._page(request, context, lines, lambda line: self._render_line(line, document))

    # -- the punchout shop -----------------------------------------------------

    def _punchout(self, request: Request) -> Response:
        path, root = request.path.rstrip("/"), request.host_url.rstrip("/")
        shop = self.punchout
        method, cookies = request.method, dict(request.cookies)
        page: Page | None = None
        if path == "/punchout/setup" and method == "POST":
            status, body, kind = shop.setup(request.get_data(), root)
        elif path == "/punchout/order" and method == "POST":
            status, body, kind = shop.order(request.get_data())
        elif path.startswith("/punchout/start/") and method == "GET":
            status, text, kind = shop.start_page(path.removeprefix("/punchout/start/"))
            body = text.encode()
        elif path == "/oci/catalog" and method in ("GET", "POST"):
            # SAP calls the catalogue by GET or, where so customised, by POST.
            page = shop.oci_login({**request.args, **request.form})
        elif path == "/oci/shop" and method == "GET":
            page = shop.oci_shop(cookies)
        elif path == "/oci/basket" and method == "POST":
            page = shop.oci_add(cookies, dict(request.form))
        elif path == "/oci/basket" and method == "GET":
            page = shop.oci_basket(cookies)
        elif path == "/oci/checkout" and method == "POST":
            page = shop.oci_checkout(cookies, dict(request.form))
        else:
            status, body, kind = (
                404,
                f"No punchout resource {method} {path}".encode(),
                "text/plain",
            )
        if page is not None:
            text_or_bytes = page.body
            status, kind = page.status, page.content_type
            body = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
            response = Response(body, status=status, content_type=f"{kind}; charset=utf-8")
            for name, value in page.headers:
                response.headers.add(name, value)
            return response
        return Response(body, status=status, content_type=f"{kind}; charset=utf-8")

    # -- the payment provider and the shop's payment integration -------------

    def _problem(self, problem: Problem) -> Response:
        return Response(
            json.dumps(problem.body()), status=problem.status, content_type="application/hal+json"
        )

    def _payments(self, request: Request) -> Response:
        root = request.host_url.rstrip("/")
        path = request.path.rstrip("/")
        try:
            if path.startswith("/_shop/mollie-webhook"):
                return self._shop_webhook(request)
            if path.startswith("/checkout/"):
                return self._checkout(request, path.removeprefix("/checkout/"))
            self.psp.authorize(request.headers.get("Authorization", ""))
            method, parts = request.method, path.removeprefix("/v2/").split("/")
            embed = parse_list(request.args.get("embed"))
            if parts == ["payments"] and method == "POST":
                return self._hal(self.psp.create(self._body(request), root), 201)
            if parts == ["payments"] and method == "GET":
                return self._hal(
                    self.psp.page(self._limit(request), request.args.get("from"), root)
                )
            if parts[0] == "payments" and len(parts) == 2 and method == "GET":
                return self._hal(self.psp.get(parts[1]))
            if parts[0] == "payments" and parts[2:] == ["chargebacks"] and method == "GET":
                page = self.psp.chargeback_page(
                    parts[1], self._limit(request), request.args.get("from"), root
                )
                return self._hal(page)
            if parts == ["orders"] and method == "POST":
                order = self.psp.create_order(self._body(request), root, embed=embed)
                return self._hal(order, 201)
            if parts == ["orders"] and method == "GET":
                page = self.psp.order_page(self._limit(request), request.args.get("from"), root)
                return self._hal(page)
            if parts[0] == "orders" and len(parts) == 2 and method == "GET":
                return self._hal(self.psp.get_order(parts[1], embed))
            raise Problem(404, f"The resource {request.method} {path} does not exist.")
        except Problem as problem:
            return self._problem(problem)
        except BcError as error:  # a malformed body
            return self._problem(Problem(400, error.message))

    @staticmethod
    def _limit(request: Request) -> int:
        raw_limit = request.args.get("limit", "50")
        if not raw_limit.isdigit():
            raise Problem(400, "The limit must be a whole number.", "limit")
        return int(raw_limit)

    def _shop_webhook(self, request: Request) -> Response:
        """The shop's endpoint for Mollie's webhook calls (``id=tr_…`` or ``id=ord_…``)."""
        if self.faults.take_kind(FaultKind.WEBHOOK_BROKEN) is not None:
            return Response("Internal Server Error", status=500, content_type="text/plain")
        try:
            self.shop_payments.handle_webhook(request.form.get("id", ""))
        except BcError as error:
            return Response(f"ERP refused the payment update: {error.message}", status=500)
        return Response("", status=200)

    @staticmethod
    def _hal(payload: Any, status: int = 200) -> Response:
        return Response(json.dumps(payload), status=status, content_type="application/hal+json")

    def _checkout(self, request: Request, payment_id: str) -> Response:
        """Like Mollie's test checkout: choose the status the payment gets."""
        if request.method == "POST":
            status = request.form.get("status", "")
            payment = self.psp.set_status(payment_id, status)
            return Response(status=303, headers={"Location": payment["redirectUrl"]})
        payment = self.psp.get(payment_id)
        options = "".join(
            f'<label><input type="radio" name="status" value="{s}"> {s}</label><br>'
            for s in ("paid", "failed", "canceled", "expired")
        )
        page = (
            f"<!DOCTYPE html><html><head><title>Test checkout</title></head><body><h1>Test payment {payment_id}</h1>"
            f'<form method="post" action="/checkout/{payment_id}">{options}<button>Continue</button></form></body></html>'
        )
        return Response(page, content_type="text/html; charset=utf-8")

    def _send_webhook(self, url: str, payment_id: str) -> None:
        """Mollie calls the webhook on its own time, after the status change."""
        if self.faults.take_kind(FaultKind.WEBHOOK_LOST) is not None:
            return
        late = self.faults.take_kind(FaultKind.WEBHOOK_LATE)

        def post() -> None:
            if late is not None and self.stopping.wait(late.delay):
                return
            data = urlencode({"id": payment_id}).encode()
            # A webhook that fails is lost, as with Mollie after its retries.
            with contextlib.suppress(OSError, ValueError):
                urlopen(UrlRequest(url, data=data, method="POST"), timeout=10).close()

        threading.Thread(target=post, name=f"webhook-{payment_id}", daemon=True).start()

    def seed_reconciliation_mismatches(self, root_url: str) -> None:
        """Two invoices marked paid whose money never came in: one payment failed, one expired."""
        company = self.erp.default_company_id
        earlier = datetime.fromtimestamp(self._clock(), UTC) - timedelta(hours=2)
        for order_id, status in (("WEB-90001", "failed"), ("WEB-90002", "expired")):
            invoice = self.erp.paid_invoice(company, order_id, "C00020")
            amount = f"{invoice['totalAmountIncludingTax']:.2f}"
            payment = self.psp.create(
                {
                    "amount": {"currency": "EUR", "value": amount},
                    "description": f"Order {order_id}",
                    "redirectUrl": "https://webshop.example/thanks",
                    "metadata": {"order_id": order_id},
                },
                root_url,
                created_at=earlier,
            )
            self.psp.set_status(payment["id"], status, at=earlier)

    def seed_chargebacks(self, root_url: str) -> None:
        """Two invoices marked paid whose payment was charged back in full: WEB-90003
        still is, WEB-90004's chargeback was reversed (the money came back)."""
        company = self.erp.default_company_id
        earlier = datetime.fromtimestamp(self._clock(), UTC) - timedelta(hours=2)
        for order_id, reversed_ in (("WEB-90003", False), ("WEB-90004", True)):
            invoice = self.erp.paid_invoice(company, order_id, "C00020")
            payment = self.psp.create(
                {
                    "amount": {
                        "currency": "EUR",
                        "value": f"{invoice['totalAmountIncludingTax']:.2f}",
                    },
                    "description": f"Order {order_id}",
                    "redirectUrl": "https://webshop.example/thanks",
                    "metadata": {"order_id": order_id},
                },
                root_url,
                created_at=earlier,
            )
            self.psp.set_status(payment["id"], "paid", at=earlier)
            self.psp.charge_back(
                payment["id"], reversed_=reversed_, at=earlier + timedelta(hours=1)
            )

    # -- sandbox-only controls ----------------------------------------------

    def _control(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/_sandbox/health":
            return self.json({"status": "ok", "faults": len(self.faults.active())})
        if path == "/_sandbox/reset" and request.method == "POST":
            self.erp.seed()
            self.psp.clear()
            self.faults.clear()
            self.expire_tokens()
            return Response(status=204)
        if path == "/_sandbox/faults":
            if request.method == "GET":
                return self.json(
                    {"faults": [f.as_dict() for f in self.faults.active()], "kinds": KINDS}
                )
            if request.method == "DELETE":
                self.faults.clear()
                return Response(status=204)
            if request.method == "POST":
                try:
                    fault = self.add_fault(
                        parse_fault(self._body(request)), request.host_url.rstrip("/")
                    )
                except FaultSpecError as error:
                    return self.json({"error": str(error)}, 400)
                return self.json(fault.as_dict(), 201)
        if path.startswith("/_sandbox/payments/") and request.method == "POST":
            # {"status": "paid", "refunded": true} and/or {"chargeback": "10.00" or true, "reversed": true}
            payment_id = path.removeprefix("/_sandbox/payments/")
            body = self._body(request)
            try:
                if "status" in body or "chargeback" not in body:
                    self.psp.set_status(
                        payment_id, str(body.get("status")), refunded=bool(body.get("refunded"))
                    )
                if "chargeback" in body:
                    amount = body["chargeback"]
                    self.psp.charge_back(
                        payment_id,
                        None if amount is True else str(amount),
                        reversed_=bool(body.get("reversed")),
                    )
                payment = self.psp.get(payment_id)
            except Problem as problem:
                return self._problem(problem)
            return self._hal(payment)
        return self.json({"error": f"unknown sandbox control {request.method} {path}"}, 404)

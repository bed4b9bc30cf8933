"""A Tryton client for monitors: JSON-RPC at ``/<database>/rpc/``, one login per
run, and failures that name the RPC method and quote Tryton's own message.

Tryton answers every call with HTTP 200, errors included
(``{"error": ["UserError", ["message", "description", …]]}``); only a missing
or ended session (401) and a method Tryton does not expose (403) change the
status. Each becomes a `TrytonCallFailed` carrying Tryton's class and message,
and the recorded exchange lets the diagnosis tell them apart.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import requests

from ._calls import CallFailed, answer_failed, bounded_session, party_error, send
from ._http import Limits
from ._origin import keep_credentials_home
from .capture import call_label
from .checks import NotPersisted, expect_one_of, expect_same_fields
from .config import TrytonSettings
from .diagnosis.dialects.tryton import MISSING_MESSAGE as _MISSING
from .redact import Redactor


class TrytonCallFailed(CallFailed):
    """A Tryton RPC call that did not give the expected answer; Tryton's exception
    class and message are its code and message."""

    party = "Tryton"


class TrytonAuthFailed(TrytonCallFailed):
    """Tryton refused the login, or no longer accepts the session."""


def encode(value: Any) -> Any:
    """Python values as Tryton's JSON-RPC expects them (Decimal and dates are objects)."""
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Mapping):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def _decode_object(node: dict[str, Any]) -> Any:
    kind = node.get("__class__")
    if kind == "Decimal":
        return Decimal(node["decimal"])
    if kind == "date":
        return dt.date(node["year"], node["month"], node["day"])
    if kind == "datetime":
        return dt.datetime(
            node["year"],
            node["month"],
            node["day"],
            node.get("hour", 0),
            node.get("minute", 0),
            node.get("second", 0),
            node.get("microsecond", 0),
        )
    if kind == "bytes":
        return base64.b64decode(node["base64"])
    return node


def decode(value: Any) -> Any:
    """Tryton's JSON values back to Python (``__class__`` objects to Decimal, date…)."""
    if isinstance(value, dict):
        return _decode_object({key: decode(item) for key, item in value.items()})
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


class TrytonClient:
    """Talks to one Tryton database as the monitor user.

    Logs in on the first call and keeps the session; calls run with the
    user's preferences as context (company, language), except that the
    language is English: Tryton's messages are then the same in every
    report, and the ERP partner reads them as they are.
    """

    def __init__(
        self,
        settings: TrytonSettings,
        *,
        redactor: Redactor | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self.session = keep_credentials_home(
            bounded_session(Limits(settings.timeout, settings.connect_timeout), session)
        )
        self._redactor = redactor
        self._login_lock = threading.RLock()  # login() calls get_preferences through call()
        self._authorization: str | None = None
        self._context: dict[str, Any] = {}
        self._ids = itertools.count(1)

    # -- the session ------------------------------------------------------------

    def login(self) -> None:
        """Open a session (``common.db.login``) and load the user's context."""
        with self._login_lock:
            if self._authorization is None:
                self._login()

    def _login(self) -> None:
        method = "common.db.login"
        answer = self._post(
            method,
            [self.settings.user, {"password": self.settings.password}, "en"],
            authorization=None,
        )
        call = self._call_label(method)
        if answer.status_code in (401, 403):
            raise TrytonAuthFailed(
                call,
                status=answer.status_code,
                problem=f"Tryton refused the login of user {self.settings.user!r} on database "
                f"{self.settings.database!r}: wrong password, or the user is inactive",
            )
        if answer.status_code == 404:
            raise TrytonCallFailed(
                call,
                status=404,
                problem=f"Tryton has no database {self.settings.database!r} (check TRYTON_DATABASE)",
            )
        result = self._result(method, answer)
        try:
            user_id, session_key = int(result[0]), str(result[1])
        except (TypeError, ValueError, IndexError, KeyError):
            raise TrytonCallFailed(
                call, status=answer.status_code, problem="the login answer has no session"
            ) from None
        token = base64.b64encode(f"{self.settings.user}:{user_id}:{session_key}".encode()).decode()
        if self._redactor is not None:
            self._redactor.add_secret(session_key)
            self._redactor.add_secret(token)
        self._authorization = f"Session {token}"
        try:
            preferences = self.call("model.res.user.get_preferences", True, context={})
        except TrytonCallFailed:
            # Without the user's company every later call would run in the wrong
            # context: the next call logs in again instead.
            self._authorization = None
            raise
        if isinstance(preferences, dict):
            self._context = {
                key: value
                for key, value in preferences.items()
                if key in ("company", "companies", "company_filter", "employee", "employees")
            }
        self._context["language"] = "en"

    def logout(self) -> None:
        """End the session (``common.db.logout``), as the integration does at shut-down."""
        if self._authorization is not None:
            self._post("common.db.logout", [], authorization=self._authorization)
            self._authorization = None

    @property
    def context(self) -> dict[str, Any]:
        """The context sent with every model call (the user's company, English)."""
        self.login()
        return dict(self._context)

    # -- raw calls ---------------------------------------------------------------

    def _call_label(self, method: str) -> str:
        return call_label("POST", self.settings.rpc_url, method)

    def _post(
        self, method: str, params: Sequence[Any], *, authorization: str | None
    ) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        payload = {"id": next(self._ids), "method": method, "params": encode(list(params))}
        return send(
            self.session,
            "POST",
            self.settings.rpc_url,
            call=self._call_label(method),
            failure=TrytonCallFailed,
            json=payload,
            headers=headers,
        )

    def _result(self, method: str, answer: requests.Response) -> Any:
        call = self._call_label(method)
        if answer.status_code == 401:
            raise TrytonAuthFailed(
                call,
                status=401,
                problem="Tryton no longer accepts the session: it expired or was ended",
            )
        if answer.status_code == 403:
            raise TrytonCallFailed(
                call,
                status=403,
                problem=f"Tryton does not offer {method} over RPC: "
                "the method does not exist or is not exposed",
            )
        if answer.status_code != 200:
            raise answer_failed(call, answer, TrytonCallFailed)
        try:
            body = answer.json()
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict) or not ("result" in body or "error" in body):
            raise TrytonCallFailed(
                call,
                status=200,
                problem="the answer is not a JSON-RPC answer",
                unexpected_body=True,
            )
        if body.get("error") is not None:
            error = party_error(answer)
            if error is None:
                raise TrytonCallFailed(
                    call,
                    status=200,
                    problem="the answer's error is not in Tryton's form "
                    '(["Exception", [message, …]])',
                    unexpected_body=True,
                )
            raise TrytonCallFailed(
                call, status=200, code=error.code, message=error.message, error=error
            )
        return decode(body["result"])

    def call(self, method: str, *args: Any, context: Mapping[str, Any] | None = None) -> Any:
        """Call ``method`` (e.g. ``model.sale.sale.quote``) with ``args`` and the context;
        the decoded result, or `TrytonCallFailed` naming the method."""
        self.login()
        params = [*args, self._context if context is None else dict(context)]
        answer = self._post(method, params, authorization=self._authorization)
        return self._result(method, answer)

    # -- the model verbs, as a monitor speaks them -------------------------------

    def create(self, model: str, values: Mapping[str, Any]) -> int:
        """Create one record; its id."""
        created = self.call(f"model.{model}.create", [dict(values)])
        if not isinstance(created, list) or len(created) != 1:
            raise TrytonCallFailed(
                self._call_label(f"model.{model}.create"),
                status=200,
                problem=f"the answer is not the list of one new id: {created!r}"[:200],
                unexpected_body=True,
            )
        return int(created[0])

    def read(self, model: str, record_id: int, fields: Iterable[str]) -> dict[str, Any]:
        """One record's fields (dotted names follow relations: ``country.code``)."""
        try:
            rows = self.call(f"model.{model}.read", [record_id], list(fields))
        except TrytonCallFailed as error:
            if error.message and _MISSING.match(error.message):
                raise NotPersisted(
                    error.call,
                    f"Tryton does not know {model} {record_id} when read back: {error.message}",
                    status=200,
                ) from error
            raise
        if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
            raise NotPersisted(
                self._call_label(f"model.{model}.read"),
                f"Tryton does not return {model} {record_id} when read back",
                status=200,
            )
        return dict(rows[0])

    def search_read(
        self,
        model: str,
        domain: Sequence[Any],
        fields: Iterable[str],
        *,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
    ) -> list[dict[str, Any]]:
        """Records matching a Tryton domain, e.g. ``[("code", "=", "1896-S")]``."""
        rows = self.call(
            f"model.{model}.search_read",
            [list(clause) if isinstance(clause, tuple) else clause for clause in domain],
            0,
            limit,
            [list(pair) for pair in order] if order else None,
            list(fields),
        )
        return [dict(row) for row in rows]

    def write(self, model: str, record_ids: Sequence[int], values: Mapping[str, Any]) -> None:
        self.call(f"model.{model}.write", list(record_ids), dict(values))

    def delete(self, model: str, record_ids: Sequence[int]) -> None:
        self.call(f"model.{model}.delete", list(record_ids))

    def click(self, model: str, button: str, record_ids: Sequence[int]) -> Any:
        """Press a workflow button, as a user would: ``click("sale.sale", "confirm", [id])``."""
        return self.call(f"model.{model}.{button}", list(record_ids))

    def read_back(
        self,
        model: str,
        record_id: int,
        *,
        sent: Mapping[str, Any],
        fields: Iterable[str],
        also: Iterable[str] = (),
        find_by: Sequence[Any] | None = None,
        one_of: Mapping[str, Collection[Any]] | None = None,
    ) -> dict[str, Any]:
        """Prove a write reached Tryton, in one line: read the record back, compare
        ``fields`` with what was ``sent``, check that each ``one_of`` field holds one
        of its values (a state Tryton may move on by itself) and, with ``find_by``
        (a domain), find it by its reference too. Returns the stored record, with
        the ``also`` fields."""
        compared = list(fields)
        allowed = dict(one_of or {})
        stored = self.read(model, record_id, [*compared, *allowed, *also])
        call = self._call_label(f"model.{model}.read")
        expect_same_fields(sent, stored, compared, call=call)
        expect_one_of(allowed, stored, call=call)
        if find_by is not None:
            found = [row["id"] for row in self.search_read(model, find_by, ["id"])]
            if found != [record_id]:
                raise NotPersisted(
                    self._call_label(f"model.{model}.search_read"),
                    f"searching {model} by {find_by!r} found {len(found)} record(s) "
                    "instead of the one just created",
                    status=200,
                )
        return stored

    def remove(self, model: str, record_id: int) -> None:
        """Delete a record; one that is already gone is fine."""
        if self.search_read(model, [("id", "=", record_id)], ["id"]):
            self.delete(model, [record_id])


# -- removing what a monitor created, as far as Tryton allows --------------------

# Confirming a sale queues its processing (trytond-sale, sale.py: Sale.confirm
# → __queue__.process), which creates its invoices and shipments and moves it
# to "processing", or "done" once all is invoiced and shipped. Without a queue
# worker that runs before confirm answers; with one, whenever the worker gets
# to it, after the configuration's sale_process_after at the earliest.
SALE_CONFIRMED_STATES = ("confirmed", "processing", "done")
# No transition leads out of these but to each other (Sale._transitions), and
# only a draft or cancelled sale may be deleted (Sale.check_modification).
SALE_PROCESSED_STATES = ("processing", "done")


class NotRemovable(Exception):
    """Tryton keeps this record by its own rules; the message says why and what a
    person can do. Reported as a leftover, never hidden."""


def remove_sale(tryton: TrytonClient, sale_id: int) -> None:
    """Remove a test sale as Tryton allows: a quotation or a sale not yet processed
    goes back to draft, is cancelled and deleted; one already gone is fine. A
    processed sale raises `NotRemovable`, naming the invoices and shipments that
    processing made, for a person to cancel."""
    found = tryton.search_read("sale.sale", [("id", "=", sale_id)], ["state"])
    if not found:
        return
    state = found[0]["state"]
    if state in SALE_PROCESSED_STATES:
        raise _processed(tryton, sale_id)
    if state in ("quotation", "confirmed"):
        try:
            tryton.click("sale.sale", "draft", [sale_id])
        except TrytonCallFailed:
            # A queue worker may have processed it since it was read.
            if tryton.read("sale.sale", sale_id, ["state"])["state"] in SALE_PROCESSED_STATES:
                raise _processed(tryton, sale_id) from None
            raise
    if state != "cancelled":
        tryton.click("sale.sale", "cancel", [sale_id])
    tryton.delete("sale.sale", [sale_id])


def _processed(tryton: TrytonClient, sale_id: int) -> NotRemovable:
    sale = tryton.read("sale.sale", sale_id, ["state", "number", "invoices", "shipments"])
    made = [
        f"invoice {row['id']} ({row['state']})"
        for row in tryton.search_read(
            "account.invoice", [("id", "in", sale["invoices"])], ["state"]
        )
    ] + [
        f"shipment {row['id']} ({row['state']})"
        for row in tryton.search_read(
            "stock.shipment.out", [("id", "in", sale["shipments"])], ["state"]
        )
    ]
    return NotRemovable(
        f"Tryton processed sale {sale['number']} after its confirmation (state {sale['state']!r}) "
        "and never lets a processed sale be taken back, cancelled or deleted; "
        + (
            f"it made {', '.join(made)}: cancel these in Tryton"
            if made
            else "it made no invoice or shipment"
        )
    )


def remove_party(tryton: TrytonClient, party_id: int) -> None:
    """Delete a test party; one that is still the customer of a sale that was not
    removed raises `NotRemovable` saying so (Tryton would only say that a sale's
    address is required)."""
    sales = tryton.search_read("sale.sale", [("party", "=", party_id)], ["number"])
    if sales:
        numbers = ", ".join(str(sale["number"] or sale["id"]) for sale in sales)
        raise NotRemovable(f"it is still the customer of sale {numbers}, which is left too")
    tryton.remove("party.party", party_id)

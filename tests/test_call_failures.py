"""One family of failures, one reading of an answer: every party's client raises
its own subclass of `CallFailed`, and the code and message it carries are the
ones the diagnosis decodes from the recorded exchange of the same answer.
Against real loopback servers."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from erpwatch import (
    CallFailed,
    ErpAuthFailed,
    ErpCallFailed,
    ErpClient,
    PaymentCallFailed,
    PaymentProviderClient,
    PunchoutCallFailed,
    TrytonCallFailed,
    TrytonClient,
)
from erpwatch.capture import Recorder
from erpwatch.diagnosis import decode

from .hostile_http import Request, answer, hostile_http
from .test_bounds import _cxml_call as cxml_call
from .test_bounds import erp_settings, psp_settings

BC_ERROR: dict[str, object] = {
    "error": {
        "code": "Application_FieldValidationException",
        "message": "Customer No. must have a value in Sales Header.  "
        "CorrelationId:  2a8d1c55-1b41-4c6a-9a8f-0c8e4f0b5c11.",
    }
}
MOLLIE_PROBLEM = {
    "status": 422,
    "title": "Unprocessable Entity",
    "detail": "The amount is lower than the minimum",
    "field": "amount.value",
}
CXML_FAILURE = (
    b'<?xml version="1.0"?><cXML payloadID="1" timestamp="2026-01-01T00:00:00Z">'
    b'<Response><Status code="401" text="Unauthorized">Shared secret is wrong</Status>'
    b"</Response></cXML>"
)


def _erp(request: Request, conn: socket.socket) -> None:
    if request.path.startswith("/token"):
        answer(conn, 200, {"access_token": "t0ken-for-the-test", "expires_in": 3600})
    else:
        answer(conn, 400, BC_ERROR)


def _tryton(request: Request, conn: socket.socket) -> None:
    method = json.loads(request.body)["method"]
    if method == "common.db.login":
        answer(conn, 200, {"id": 1, "result": [1, "session-key-for-the-test"]})
    elif method == "model.res.user.get_preferences":
        answer(conn, 200, {"id": 2, "result": {}})
    else:
        error = ["UserError", ['The value for field "Code" in "Party" is not unique.', ""]]
        answer(conn, 200, {"id": 3, "error": error})


def _call_erp(url: str) -> None:
    ErpClient(erp_settings(url)).create("salesOrders", {})


def _call_psp(url: str) -> None:
    PaymentProviderClient(psp_settings(url)).payment("tr_1")


def _call_tryton(url: str) -> None:
    from erpwatch.config import TrytonSettings

    settings = TrytonSettings(f"{url}/", "erp", "admin", "s3cret", 5.0, 5.0)
    TrytonClient(settings).create("party.party", {"name": "x"})


PARTIES: dict[str, tuple[Callable[[Request, socket.socket], None], Callable[[str], None], Any]] = {
    "erp": (_erp, _call_erp, ErpCallFailed),
    "payment provider": (
        lambda request, conn: answer(conn, 422, MOLLIE_PROBLEM),
        _call_psp,
        PaymentCallFailed,
    ),
    "punchout": (
        lambda request, conn: answer(conn, 200, CXML_FAILURE, Content_Type="text/xml"),
        cxml_call,
        PunchoutCallFailed,
    ),
    "tryton": (_tryton, _call_tryton, TrytonCallFailed),
}


@pytest.mark.parametrize("party", PARTIES)
def test_a_clients_failure_quotes_the_party_as_the_diagnosis_reads_it(
    party: str, recorder: Recorder
) -> None:
    behaviour, call, failure = PARTIES[party]
    with (
        hostile_http(behaviour) as server,
        recorder.recording() as log,
        pytest.raises(CallFailed) as raised,
    ):
        call(server.url)
    error = raised.value
    assert type(error) is failure
    decoded = decode(list(log)[-1])
    assert decoded is not None
    assert error.error == decoded
    assert decoded.message
    assert decoded.message in (error.message or "")
    assert decoded.code
    assert decoded.code in (error.code or "")


def test_the_party_families_are_apart_and_share_one_base() -> None:
    families = (ErpCallFailed, PaymentCallFailed, PunchoutCallFailed, TrytonCallFailed)
    for family in families:
        assert issubclass(family, CallFailed)
        assert not any(issubclass(family, other) for other in families if other is not family)
    assert issubclass(ErpAuthFailed, ErpCallFailed)


def test_the_erp_failure_keeps_what_the_dialect_decoded_beyond_the_message(
    recorder: Recorder,
) -> None:
    with hostile_http(_erp) as server, pytest.raises(ErpCallFailed) as raised:
        _call_erp(server.url)
    error = raised.value
    assert error.message == "Customer No. must have a value in Sales Header."
    assert error.error is not None
    assert (error.error.field, error.error.correlation_id) == (
        "Customer No.",
        "2a8d1c55-1b41-4c6a-9a8f-0c8e4f0b5c11",
    )
    assert str(error) == (
        "POST /companies(…)/salesOrders → 400 Application_FieldValidationException: "
        "Customer No. must have a value in Sales Header."
    )

"""From a failed (or slow) monitor's exchanges and exception to a diagnosis.

Classification works from evidence: the recorded answers and the type of the
exception, never from the wording of an assertion message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .._http import retry_after as parse_retry_after
from .._http import wait_seconds
from .._vocabulary import Category
from ..capture import Exchange
from ._failure import FailureFacts
from ._model import Diagnosis
from .dialects import ErpError, decode, is_html

TIMEOUT_ERRORS = frozenset(
    {"ReadTimeout", "Timeout", "TimeoutError", "socket.timeout", "TotalTimeout"}
)
# What a diagnosis quotes of the ERP's words: a 20 MB message must not make a
# 20 MB terminal line, JUnit XML, report or mail.
QUOTE_LIMIT = 2000

# When the ERP's error class says what happened, that decides, even inside an
# HTTP 200: RPC-style ERPs (Tryton, Odoo) answer every refusal with 200.
_BY_KIND = {
    "access": (Category.AUTH, "{dialect} refused the monitor user access to this call"),
    "login": (Category.AUTH, "{dialect} refused the login"),
    "session": (Category.AUTH, "{dialect} no longer accepts the session: it expired or was ended"),
    "validation": (Category.REJECTED, "{dialect} refused the data: a rule or required field"),
    "conflict": (Category.CONFLICT, "{dialect} reports a conflicting change"),
    "rate_limited": (Category.RATE_LIMITED, "{dialect} limits the number of calls"),
    "unknown_call": (
        Category.UNEXPECTED_RESPONSE,
        "{dialect} does not offer this call: the method does not exist or is not exposed",
    ),
    "server": (Category.ERP_ERROR, "{dialect} failed while handling the call"),
}


def classify(
    exchanges: Sequence[Exchange], failure: FailureFacts | None, threshold_s: float | None = None
) -> Diagnosis | None:
    """The diagnosis of a monitor; None for a monitor that passed in time."""
    if failure is None:
        return _slow(exchanges, threshold_s)
    return _failed(exchanges, failure)


def _slow(exchanges: Sequence[Exchange], threshold_s: float | None) -> Diagnosis | None:
    answered = [(i, e) for i, e in enumerate(exchanges) if e.status is not None]
    if threshold_s is None or not answered:
        return None
    index, slowest = max(answered, key=lambda pair: pair[1].duration_ms)
    if slowest.duration_ms <= threshold_s * 1000:
        return None
    return _diagnosis(
        Category.SLOW,
        f"answered correctly in {slowest.duration_ms / 1000:.2f} s; the threshold is {threshold_s:.2f} s",
        slowest,
        index,
        None,
        threshold_ms=threshold_s * 1000,
    )


def _diagnosis(
    category: Category,
    reason: str,
    exchange: Exchange | None,
    index: int | None,
    erp: ErpError | None,
    *,
    error: str | None = None,
    threshold_ms: float | None = None,
) -> Diagnosis:
    retry_after = wait_seconds(erp.retry_after) if erp is not None else None
    if exchange is not None and retry_after is None:
        retry_after = parse_retry_after(
            next(
                (v for k, v in exchange.response_headers.items() if k.lower() == "retry-after"),
                None,
            )
        )
    return Diagnosis(
        category=category,
        reason=reason,
        call=exchange.call if exchange else None,
        method=exchange.method if exchange else None,
        url=exchange.url if exchange else None,
        status=exchange.status if exchange else None,
        erp_dialect=erp.dialect if erp else None,
        erp_code=_quote(erp.code if erp else None, 200),
        erp_message=_quote(erp.message if erp else None),
        erp_field=_quote(erp.field if erp else None, 200),
        erp_detail=_quote(erp.detail if erp else None),
        correlation_id=_quote(erp.correlation_id if erp else None, 200),
        retry_after=retry_after,
        duration_ms=exchange.duration_ms if exchange else None,
        threshold_ms=threshold_ms,
        exchange_index=index,
        error=_quote(
            error
            if error is not None
            else (exchange.outcome if exchange and exchange.status is None else None)
        ),
    )


def _quote(text: str | None, limit: int = QUOTE_LIMIT) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text) - limit} more characters]"


def _last_failed(exchanges: Sequence[Exchange]) -> int | None:
    for index in range(len(exchanges) - 1, -1, -1):
        exchange = exchanges[index]
        if exchange.failed:
            return index
        error = decode(exchange)
        if error is not None and error.inside_success:
            return index
    return None


def _created_ids(exchanges: Sequence[Exchange]) -> set[str]:
    ids = set()
    for exchange in exchanges:
        if exchange.method == "POST" and exchange.status in (200, 201) and exchange.response_body:
            try:
                body = json.loads(exchange.response_body)
            except ValueError:
                continue
            if isinstance(body, dict) and isinstance(body.get("id"), str | int):
                ids.add(str(body["id"]))
    return ids


def _by_answer(exchanges: Sequence[Exchange], index: int) -> Diagnosis:
    """Classify a call that went wrong by what came back (or did not)."""
    exchange = exchanges[index]
    status = exchange.status
    if exchange.error_type == "RedirectRefused":
        return _diagnosis(
            Category.UNEXPECTED_RESPONSE,
            "redirected to another host, where erpwatch does not send credentials",
            exchange,
            index,
            None,
            error=exchange.error,
        )
    if status is None:
        if exchange.error_type in TIMEOUT_ERRORS:
            return _diagnosis(
                Category.TIMEOUT, "no answer within the call's time-out", exchange, index, None
            )
        return _diagnosis(
            Category.UNREACHABLE, "no connection could be made or kept", exchange, index, None
        )
    erp = decode(exchange)
    if erp is not None and erp.kind in _BY_KIND:
        category, reason = _BY_KIND[erp.kind]
        where = (
            f" (HTTP {status} with the error inside)" if erp.inside_success else f" (HTTP {status})"
        )
        return _diagnosis(
            category, reason.format(dialect=erp.dialect) + where, exchange, index, erp
        )
    if erp is not None and erp.inside_success and erp.code in ("401", "403"):
        return _diagnosis(
            Category.AUTH,
            f"HTTP {status} with a {erp.dialect} {erp.code} inside: credentials refused",
            exchange,
            index,
            erp,
        )
    if erp is not None and erp.inside_success:
        return _diagnosis(
            Category.SILENT_FAILURE,
            f"HTTP {status} 'success' with an error inside",
            exchange,
            index,
            erp,
        )
    html = is_html(exchange)
    if status in (401, 403):
        return _diagnosis(
            Category.AUTH, f"HTTP {status}: the credentials were refused", exchange, index, erp
        )
    if status == 429:
        return _diagnosis(
            Category.RATE_LIMITED, "HTTP 429: too many requests", exchange, index, erp
        )
    if status == 503 or (html and status >= 500):
        return _diagnosis(
            Category.MAINTENANCE,
            f"HTTP {status}: the service is not available",
            exchange,
            index,
            erp,
        )
    if status == 502:
        return _diagnosis(
            Category.UNREACHABLE,
            "HTTP 502: a gateway could not reach the ERP",
            exchange,
            index,
            erp,
        )
    if status == 504:
        return _diagnosis(
            Category.TIMEOUT,
            "HTTP 504: a gateway got no answer from the ERP in time",
            exchange,
            index,
            erp,
        )
    if status == 409:
        return _diagnosis(
            Category.CONFLICT, "HTTP 409: the record exists or was changed", exchange, index, erp
        )
    if status in (404, 410):
        created = _created_ids(exchanges[:index])
        if any(
            f"({record_id})" in exchange.url or f"/{record_id}" in exchange.url
            for record_id in created
        ):
            return _diagnosis(
                Category.SILENT_FAILURE,
                "HTTP 404 when reading back a record the ERP had accepted",
                exchange,
                index,
                erp,
            )
        return _diagnosis(
            Category.UNEXPECTED_RESPONSE,
            "HTTP 404: the ERP does not know this address",
            exchange,
            index,
            erp,
        )
    if 400 <= status < 500:
        return _diagnosis(
            Category.REJECTED, f"HTTP {status}: the ERP refused the request", exchange, index, erp
        )
    if status >= 500:
        return _diagnosis(
            Category.ERP_ERROR, f"HTTP {status}: the ERP failed", exchange, index, erp
        )
    if html:
        return _diagnosis(
            Category.MAINTENANCE,
            "an HTML page came back where JSON was expected",
            exchange,
            index,
            _page(exchange),
        )
    return _diagnosis(
        Category.UNEXPECTED_RESPONSE,
        f"HTTP {status} with an answer that could not be used",
        exchange,
        index,
        erp,
    )


def _page(exchange: Exchange) -> ErpError | None:
    from .dialects import Answer, generic

    return generic.decode_html(Answer(exchange))


def _failed(exchanges: Sequence[Exchange], failure: FailureFacts) -> Diagnosis:
    last = len(exchanges) - 1 if exchanges else None
    failed = _last_failed(exchanges)
    kind = failure.kind

    if kind in ("erp_call", "http") and last is not None:
        # Raised right after the call: the last exchange is the one that failed.
        return _by_answer(exchanges, last)
    if kind == "no_json" and last is not None:
        answered = exchanges[last]
        if is_html(answered):
            return _by_answer(exchanges, last)
        content_type = next(
            (v for k, v in answered.response_headers.items() if k.lower() == "content-type"), "none"
        )
        return _diagnosis(
            Category.UNEXPECTED_RESPONSE,
            f"the answer could not be used: {failure.extra.get('problem') or 'not JSON'} (Content-Type: {content_type})",
            answered,
            last,
            None,
            error=failure.message,
        )
    if kind == "not_persisted":
        index = failed if failed is not None else last
        read_back = exchanges[index] if index is not None else None
        return _diagnosis(
            Category.SILENT_FAILURE,
            "the ERP accepted the record but it cannot be read back",
            read_back,
            index,
            decode(read_back) if read_back else None,
            error=failure.message,
        )
    if failed is not None:
        # The monitor's own check failed on an answer that was an error: the answer tells.
        return _by_answer(exchanges, failed)
    exchange = exchanges[last] if last is not None else None
    if kind == "data_mismatch":
        if failure.missing_fields:
            return _diagnosis(
                Category.UNEXPECTED_RESPONSE,
                f"the answer has no field {', '.join(failure.missing_fields)} (schema drift)",
                exchange,
                last,
                None,
                error=failure.message,
            )
        return _diagnosis(
            Category.DATA_MISMATCH,
            f"the ERP holds other data than was sent: {', '.join(failure.different_fields)}",
            exchange,
            last,
            None,
            error=failure.message,
        )
    if kind == "assertion" and not failure.raised_in_erpwatch and exchange is not None:
        return _diagnosis(
            Category.DATA_MISMATCH,
            "a check of the monitor on the ERP's answer failed",
            exchange,
            last,
            None,
            error=failure.message,
        )
    if (
        failure.key is not None
        and exchange is not None
        and exchange.status is not None
        and _lacks_key(exchange, failure.key)
    ):
        return _diagnosis(
            Category.UNEXPECTED_RESPONSE,
            f"the answer has no field '{failure.key}' (schema drift)",
            exchange,
            last,
            None,
            error=failure.message,
        )
    return _diagnosis(
        Category.MONITOR_ERROR,
        f"the monitor itself failed with {failure.type_name}",
        None,
        None,
        None,
        error=f"{failure.type_name}: {failure.message}",
    )


def _lacks_key(exchange: Exchange, key: str) -> bool:
    try:
        body = json.loads(exchange.response_body or "")
    except ValueError:
        return False
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return any(isinstance(row, dict) and key not in row for row in body["value"])
    return isinstance(body, dict) and key not in body

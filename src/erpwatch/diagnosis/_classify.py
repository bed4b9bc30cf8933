"""From a failed (or slow) monitor's exchanges and exception to a diagnosis.

Classification works from evidence: the recorded answers and the type of the
exception, never from the wording of an assertion message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .._http import retry_after as parse_retry_after
from .._http import wait_seconds
from .._vocabulary import Category, ErpErrorKind, FailureKind, Wire
from ..capture import Exchange, call_label
from ._failure import FailureFacts
from ._model import Diagnosis, Difference
from .dialects import ErpError, decode, is_html

# The names of the exceptions (Exchange.error_type) that mean "no answer in time".
TIMEOUT_ERRORS = frozenset({"ReadTimeout", "Timeout", "TimeoutError", "TotalTimeout"})
# What a diagnosis quotes of the ERP's words: a 20 MB message must not make a
# 20 MB terminal line, JUnit XML, report or mail.
QUOTE_LIMIT = 2000

# When the ERP's error class says what happened, that decides, even inside an
# HTTP 200: RPC-style ERPs (Tryton, Odoo) answer every refusal with 200.
_BY_KIND: dict[ErpErrorKind, tuple[Category, str]] = {
    ErpErrorKind.ACCESS: (Category.AUTH, "{dialect} refused the monitor user access to this call"),
    ErpErrorKind.LOGIN: (Category.AUTH, "{dialect} refused the login"),
    ErpErrorKind.SESSION: (
        Category.AUTH,
        "{dialect} no longer accepts the session: it expired or was ended",
    ),
    ErpErrorKind.VALIDATION: (
        Category.REJECTED,
        "{dialect} refused the data: a rule or required field",
    ),
    ErpErrorKind.CONFLICT: (Category.CONFLICT, "{dialect} reports a conflicting change"),
    ErpErrorKind.RATE_LIMITED: (Category.RATE_LIMITED, "{dialect} limits the number of calls"),
    ErpErrorKind.UNKNOWN_CALL: (
        Category.UNEXPECTED_RESPONSE,
        "{dialect} does not offer this call: the method does not exist or is not exposed",
    ),
    ErpErrorKind.SERVER: (Category.ERP_ERROR, "{dialect} failed while handling the call"),
}


def classify(
    exchanges: Sequence[Exchange], failure: FailureFacts | None, threshold_s: float | None = None
) -> Diagnosis | None:
    """The diagnosis of a monitor; None for a monitor that passed in time."""
    if failure is None:
        return _slow(exchanges, threshold_s)
    return _failed(exchanges, failure)


def verdict(
    category: Category, reason: str, url: str, detail: str, exchanges: Sequence[Exchange]
) -> Diagnosis:
    """A built-in check's own finding, with the call to ``url`` as evidence when
    one was made (the http:// answer that did not redirect, the GET over a
    certificate about to expire)."""
    index = next((i for i in range(len(exchanges) - 1, -1, -1) if exchanges[i].url == url), None)
    exchange = exchanges[index] if index is not None else None
    found = _diagnosis(
        category=category, reason=reason, exchange=exchange, index=index, erp=None, error=detail
    )
    if exchange is not None:
        return found
    # The handshake failed before the check's GET could be made: that GET is the
    # call, and no answer came because the secure connection was refused.
    wire = Wire.TLS if category is Category.CERTIFICATE else None
    return replace(found, url=url, call=call_label("GET", url), method="GET", wire=wire)


def _slow(exchanges: Sequence[Exchange], threshold_s: float | None) -> Diagnosis | None:
    answered = [(i, e) for i, e in enumerate(exchanges) if e.status is not None]
    if threshold_s is None or not answered:
        return None
    index, slowest = max(answered, key=lambda pair: pair[1].duration_ms)
    if slowest.duration_ms <= threshold_s * 1000:
        return None
    return _diagnosis(
        category=Category.SLOW,
        reason=f"answered correctly in {slowest.duration_ms / 1000:.2f} s; the threshold is {threshold_s:.2f} s",
        exchange=slowest,
        index=index,
        erp=None,
        threshold_ms=threshold_s * 1000,
    )


def _diagnosis(
    *,
    category: Category,
    reason: str,
    exchange: Exchange | None,
    index: int | None,
    erp: ErpError | None,
    error: str | None = None,
    threshold_ms: float | None = None,
    differences: tuple[Difference, ...] = (),
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
        wire=Wire.of(exchange.error_type, exchange.error)
        if exchange is not None and exchange.status is None
        else None,
        differences=differences,
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
            except (ValueError, RecursionError):
                continue
            if isinstance(body, dict) and isinstance(body.get("id"), str | int):
                ids.add(str(body["id"]))
    return ids


@dataclass(frozen=True)
class _Answer:
    """What the classifiers of a call that went wrong look at."""

    exchanges: Sequence[Exchange]  # the monitor's, up to and with the call
    index: int  # of the call
    erp: ErpError | None  # the error the dialects decoded from the answer
    html: bool  # an HTML page came back

    @property
    def exchange(self) -> Exchange:
        return self.exchanges[self.index]


@dataclass(frozen=True)
class _Finding:
    """A classifier's verdict: the category and the evidence for it, in a sentence."""

    category: Category
    reason: str
    error: str | None = None
    # Evidence other than the decoded answer (the text of an HTML page).
    erp: ErpError | None = None
    # False when the answer is not the ERP's answer to the call (a redirect erpwatch
    # did not follow): what it says is no evidence.
    quotes_answer: bool = True


@dataclass(frozen=True)
class _StatusRule:
    """An HTTP status (and whether an HTML page came) that decides by itself."""

    matches: Callable[[int, bool], bool]  # (status, html)
    category: Category
    reason: str  # {status} is filled in


# In order: the first rule that matches decides.
_BY_STATUS = (
    _StatusRule(
        matches=lambda status, html: status in (401, 403),
        category=Category.AUTH,
        reason="HTTP {status}: the credentials were refused",
    ),
    _StatusRule(
        matches=lambda status, html: status == 429,
        category=Category.RATE_LIMITED,
        reason="HTTP 429: too many requests",
    ),
    _StatusRule(
        # A proxy's or the ERP's own "down for maintenance" page comes as HTML.
        matches=lambda status, html: status == 503 or (html and status >= 500),
        category=Category.MAINTENANCE,
        reason="HTTP {status}: the service is not available",
    ),
    _StatusRule(
        matches=lambda status, html: status == 502,
        category=Category.UNREACHABLE,
        reason="HTTP 502: a gateway could not reach the ERP",
    ),
    _StatusRule(
        matches=lambda status, html: status == 504,
        category=Category.TIMEOUT,
        reason="HTTP 504: a gateway got no answer from the ERP in time",
    ),
    _StatusRule(
        matches=lambda status, html: status == 409,
        category=Category.CONFLICT,
        reason="HTTP 409: the record exists or was changed",
    ),
    _StatusRule(
        matches=lambda status, html: 400 <= status < 500,
        category=Category.REJECTED,
        reason="HTTP {status}: the ERP refused the request",
    ),
    _StatusRule(
        matches=lambda status, html: status >= 500,
        category=Category.ERP_ERROR,
        reason="HTTP {status}: the ERP failed",
    ),
)


def _refused_redirect(answer: _Answer) -> _Finding | None:
    if answer.exchange.error_type != "RedirectRefused":
        return None
    return _Finding(
        category=Category.UNEXPECTED_RESPONSE,
        reason="redirected to another host, where erpwatch does not send credentials",
        error=answer.exchange.error,
        quotes_answer=False,
    )


def _no_answer(answer: _Answer) -> _Finding | None:
    if answer.exchange.status is not None:
        return None
    if answer.exchange.error_type in TIMEOUT_ERRORS:
        return _Finding(category=Category.TIMEOUT, reason="no answer within the call's time-out")
    return _Finding(category=Category.UNREACHABLE, reason="no connection could be made or kept")


def _erp_error_class(answer: _Answer) -> _Finding | None:
    erp = answer.erp
    if erp is None or erp.kind is None or erp.kind not in _BY_KIND:
        return None
    category, reason = _BY_KIND[erp.kind]
    status = answer.exchange.status
    where = f" (HTTP {status} with the error inside)" if erp.inside_success else f" (HTTP {status})"
    return _Finding(category=category, reason=reason.format(dialect=erp.dialect) + where)


def _error_inside_success(answer: _Answer) -> _Finding | None:
    erp = answer.erp
    if erp is None or not erp.inside_success:
        return None
    status = answer.exchange.status
    if erp.code in ("401", "403"):
        return _Finding(
            category=Category.AUTH,
            reason=f"HTTP {status} with a {erp.dialect} {erp.code} inside: credentials refused",
        )
    return _Finding(
        category=Category.SILENT_FAILURE, reason=f"HTTP {status} 'success' with an error inside"
    )


def _gone(answer: _Answer) -> _Finding | None:
    """A 404 for a record the ERP said it created is a silent failure, not a wrong address."""
    status = answer.exchange.status
    if status not in (404, 410):
        return None
    url = answer.exchange.url
    created = _created_ids(answer.exchanges[: answer.index])
    if any(f"({record_id})" in url or f"/{record_id}" in url for record_id in created):
        return _Finding(
            category=Category.SILENT_FAILURE,
            reason=f"HTTP {status} when reading back a record the ERP had accepted",
        )
    gone = "no longer serves" if status == 410 else "does not know"
    return _Finding(
        category=Category.UNEXPECTED_RESPONSE,
        reason=f"HTTP {status}: the server {gone} this address",
    )


def _by_status(answer: _Answer) -> _Finding | None:
    status = answer.exchange.status
    if status is None:
        return None
    for rule in _BY_STATUS:
        if rule.matches(status, answer.html):
            return _Finding(category=rule.category, reason=rule.reason.format(status=status))
    return None


def _html_page(answer: _Answer) -> _Finding | None:
    if not answer.html:
        return None
    return _Finding(
        category=Category.MAINTENANCE,
        reason="an HTML page came back where JSON was expected",
        erp=_page(answer.exchange),
    )


# In order: the first classifier with a finding decides. What the ERP said (its
# error class, an error inside a 200) weighs more than the HTTP status.
_CLASSIFIERS: tuple[Callable[[_Answer], _Finding | None], ...] = (
    _refused_redirect,
    _no_answer,
    _erp_error_class,
    _error_inside_success,
    _gone,
    _by_status,
    _html_page,
)


def _by_answer(exchanges: Sequence[Exchange], index: int) -> Diagnosis:
    """Classify a call that went wrong by what came back (or did not)."""
    exchange = exchanges[index]
    # Without an answer there is nothing to decode, and no Retry-After to quote.
    erp = decode(exchange) if exchange.status is not None else None
    answer = _Answer(exchanges=exchanges, index=index, erp=erp, html=is_html(exchange))
    finding = next(
        (found for classifier in _CLASSIFIERS if (found := classifier(answer)) is not None),
        _Finding(
            category=Category.UNEXPECTED_RESPONSE,
            reason=f"HTTP {exchange.status} with an answer that could not be used",
        ),
    )
    evidence = finding.erp if finding.erp is not None else erp
    return _diagnosis(
        category=finding.category,
        reason=finding.reason,
        exchange=exchange,
        index=index,
        erp=evidence if finding.quotes_answer else None,
        error=finding.error,
    )


def _page(exchange: Exchange) -> ErpError | None:
    from .dialects import Answer, generic

    return generic.decode_html(Answer(exchange))


def _failed(exchanges: Sequence[Exchange], failure: FailureFacts) -> Diagnosis:
    last = len(exchanges) - 1 if exchanges else None
    failed = _last_failed(exchanges)
    kind = failure.kind

    if kind is FailureKind.VERDICT:
        return verdict(
            Category(failure.extra["category"]),
            failure.extra["reason"],
            failure.extra["url"],
            failure.message,
            exchanges,
        )
    if kind in (FailureKind.ERP_CALL, FailureKind.HTTP) and last is not None:
        # Raised right after the call: the last exchange is the one that failed.
        return _by_answer(exchanges, last)
    if kind is FailureKind.NO_JSON and last is not None:
        answered = exchanges[last]
        if is_html(answered):
            return _by_answer(exchanges, last)
        content_type = next(
            (v for k, v in answered.response_headers.items() if k.lower() == "content-type"), "none"
        )
        return _diagnosis(
            category=Category.UNEXPECTED_RESPONSE,
            reason=f"the answer could not be used: {failure.extra.get('problem') or 'not JSON'} (Content-Type: {content_type})",
            exchange=answered,
            index=last,
            erp=None,
            error=failure.message,
        )
    if kind is FailureKind.NOT_PERSISTED:
        index = failed if failed is not None else last
        read_back = exchanges[index] if index is not None else None
        return _diagnosis(
            category=Category.SILENT_FAILURE,
            reason="the ERP accepted the record but it cannot be read back",
            exchange=read_back,
            index=index,
            erp=decode(read_back) if read_back else None,
            error=failure.message,
        )
    if failed is not None:
        # The monitor's own check failed on an answer that was an error: the answer tells.
        return _by_answer(exchanges, failed)
    exchange = exchanges[last] if last is not None else None
    if kind is FailureKind.DATA_MISMATCH:
        if failure.missing_fields:
            return _diagnosis(
                category=Category.UNEXPECTED_RESPONSE,
                reason=f"the answer has no field {', '.join(failure.missing_fields)} (schema drift)",
                exchange=exchange,
                index=last,
                erp=None,
                error=failure.message,
            )
        return _diagnosis(
            category=Category.DATA_MISMATCH,
            reason=f"the ERP holds other data than was sent: {', '.join(failure.different_fields)}",
            exchange=exchange,
            index=last,
            erp=None,
            error=failure.message,
            differences=failure.differences,
        )
    if (
        failure.key is not None
        and exchange is not None
        and exchange.status is not None
        and _lacks_key(exchange, failure.key)
    ):
        return _diagnosis(
            category=Category.UNEXPECTED_RESPONSE,
            reason=f"the answer has no field '{failure.key}' (schema drift)",
            exchange=exchange,
            index=last,
            erp=None,
            error=failure.message,
        )
    if kind is FailureKind.ASSERTION and not failure.raised_in_erpwatch and exchange is not None:
        return _diagnosis(
            category=Category.DATA_MISMATCH,
            reason="a check of the monitor on the ERP's answer failed",
            exchange=exchange,
            index=last,
            erp=None,
            error=failure.message,
        )
    return _diagnosis(
        category=Category.MONITOR_ERROR,
        reason=f"the monitor itself failed with {failure.type_name}",
        exchange=None,
        index=None,
        erp=None,
        error=f"{failure.type_name}: {failure.message}",
    )


def _lacks_key(exchange: Exchange, key: str) -> bool:
    try:
        body = json.loads(exchange.response_body or "")
    except (ValueError, RecursionError):
        return False
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return any(isinstance(row, dict) and key not in row for row in body["value"])
    return isinstance(body, dict) and key not in body

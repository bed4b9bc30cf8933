"""One call to another party, and one way it fails.

Every client (the ERP, the payment provider, the punchout shop, Tryton) sends
through `send`: bounded in time and size by `_http`, transport errors mapped
here and nowhere else. A failed call is a `CallFailed`; each party has its own
subclass (`erp.ErpCallFailed`, `psp.PaymentCallFailed`, …) so a monitor can
catch one party's failures or all of them.

A party's answer is decoded once, by the diagnosis's dialects, from the record
capture keeps of it (`Recorder.exchange_of`): the failure a monitor catches and
the diagnosis a person reads quote the same code and message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import requests

from ._http import Limits, TotalTimeout, answer_cut, bound, one_call, retry_after
from ._origin import RedirectRefused
from .capture import RECORDER, wire_reason

if TYPE_CHECKING:
    from .diagnosis.dialects import ErpError

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# What erpwatch quotes of another party's message or of a problem: enough for any
# real error, and a 20 MB "message" stays out of the terminal, JUnit XML and mails.
MESSAGE_LIMIT = 2000


class CallFailed(Exception):
    """A call to another party that did not give the expected answer.

    Carries what a caller needs to decide: the call, the status (None when no
    answer came), the party's own error code and message (``error``: all the
    dialect decoded, such as the field or a correlation id), Retry-After, and
    whether trying again later could help (`transient`). Whether a retry is
    *safe* depends on the call: never repeat a non-idempotent POST blindly.
    """

    party: ClassVar[str] = "another party"

    def __init__(
        self,
        call: str,
        *,
        status: int | None,
        code: str | None = None,
        message: str | None = None,
        problem: str | None = None,
        retry_after: float | None = None,
        unexpected_body: bool = False,
        error: ErpError | None = None,
    ) -> None:
        self.call = call
        self.status = status
        self.code = cut(code, 200)
        self.message = cut(message)
        self.problem = cut(problem)
        self.retry_after = retry_after
        self.unexpected_body = unexpected_body
        self.error = error
        super().__init__(self._describe())

    @property
    def transient(self) -> bool:
        if isinstance(self.__cause__, RedirectRefused):
            return False  # the same redirect comes again
        return self.status is None or self.status in TRANSIENT_STATUSES

    def _describe(self) -> str:
        if self.status is None:
            return f"{self.call} → no answer: {self.problem}"
        parts = [f"{self.call} → {self.status}"]
        if self.code:
            parts.append(self.code)
        text = " ".join(parts)
        detail = self.message or self.problem
        return f"{text}: {detail}" if detail else text


def cut(text: str | None, limit: int = MESSAGE_LIMIT) -> str | None:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text) - limit} more characters]"


def party_error(response: requests.Response) -> ErpError | None:
    """The party's own error in ``response``, decoded as the diagnosis decodes it:
    from the masked record capture keeps, by the same dialects."""
    # Imported here: the diagnosis imports this module to recognise a failed call.
    from .diagnosis.dialects import decode

    return decode(RECORDER.exchange_of(response))


def answer_failed(call: str, response: requests.Response, failure: type[CallFailed]) -> CallFailed:
    """The failure of a call that got an answer it should not have: status, the
    party's own code and message (and Retry-After) as evidence."""
    error = party_error(response)
    waited = retry_after(response.headers.get("Retry-After"))
    return failure(
        call,
        status=response.status_code,
        code=error.code if error else None,
        message=error.message if error else None,
        retry_after=waited if waited is not None else (error.retry_after if error else None),
        error=error,
    )


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    call: str,
    failure: type[CallFailed],
    timeout: tuple[float, float] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Every client's one HTTP call: bounded in time and size by the session's
    `BoundedAdapter` (see `bounded_session`), ``timeout`` as ``(connect, total)``
    overriding its limits. Whatever goes wrong on the wire, and a successful
    answer too large to read whole, is a ``failure`` naming ``call``."""
    try:
        with one_call():  # one deadline however many redirects it follows
            response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as error:
        raise failure(call, status=None, problem=wire_problem(error)) from error
    size = answer_cut(response)
    if size is not None and response.status_code < 400:
        raise failure(
            call,
            status=response.status_code,
            problem=f"the answer is larger than {size // 1024} KB, more than erpwatch reads "
            "of one answer; only the first part was read",
            unexpected_body=True,
        )
    return response


def bounded_session(limits: Limits, session: requests.Session | None = None) -> requests.Session:
    """``session`` (or a new one) whose calls all end by ``limits``."""
    return bound(session or requests.Session(), limits)


def wire_problem(error: requests.RequestException) -> str:
    """What went wrong on the wire, in a few words: the OS's reason when there is one."""
    if isinstance(error, RedirectRefused):
        return str(error)
    detail = wire_reason(type(error).__name__, str(error))
    if isinstance(error, TotalTimeout):
        return str(error)
    if isinstance(error, requests.Timeout):
        return f"no answer within the time-out ({detail})"
    if isinstance(error, requests.ConnectionError):
        return f"could not connect ({detail})"
    return detail

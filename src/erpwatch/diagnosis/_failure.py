"""What a failed monitor raised, reduced to the facts the classifier needs.

Built where the exception lives (an xdist worker); plain data, so it travels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from .._calls import CallFailed
from ..checks import DataMismatch, NotPersisted

_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FailureFacts:
    kind: str  # erp_call, not_persisted, data_mismatch, no_json, assertion, http, other
    type_name: str
    message: str
    call: str | None = None
    status: int | None = None
    missing_fields: tuple[str, ...] = ()
    different_fields: tuple[str, ...] = ()
    key: str | None = None  # the key of a KeyError
    raised_in_erpwatch: bool = False  # in erpwatch's own code (not its checks)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FailureFacts:
        return cls(
            **{
                **data,
                "missing_fields": tuple(data["missing_fields"]),
                "different_fields": tuple(data["different_fields"]),
            }
        )


def _raised_in_erpwatch(error: BaseException) -> bool:
    """Was the exception raised in erpwatch's own code (not in a check of a monitor's)?"""
    traceback = error.__traceback__
    last = None
    while traceback is not None:
        last = traceback.tb_frame.f_code.co_filename
        traceback = traceback.tb_next
    if last is None:
        return False
    path = Path(last).resolve()
    return _PACKAGE in path.parents and path.name != "checks.py"


def describe_failure(error: BaseException) -> FailureFacts:
    name = type(error).__name__
    message = str(error)
    if isinstance(error, NotPersisted):
        return FailureFacts("not_persisted", name, message, call=error.call, status=error.status)
    if isinstance(error, DataMismatch):
        return FailureFacts(
            "data_mismatch",
            name,
            message,
            call=error.call,
            missing_fields=tuple(error.missing),
            different_fields=tuple(error.different),
        )
    if isinstance(error, CallFailed):
        return FailureFacts(
            "no_json" if error.unexpected_body else "erp_call",
            name,
            message,
            call=error.call,
            status=error.status,
            extra={"problem": error.problem} if error.problem else {},
        )
    if isinstance(error, requests.JSONDecodeError):
        return FailureFacts("no_json", name, message)
    if isinstance(error, requests.RequestException):
        return FailureFacts("http", name, message)
    if isinstance(error, AssertionError):
        return FailureFacts(
            "assertion", name, message, raised_in_erpwatch=_raised_in_erpwatch(error)
        )
    key = str(error.args[0]) if isinstance(error, KeyError) and error.args else None
    return FailureFacts(
        "other", name, message, key=key, raised_in_erpwatch=_raised_in_erpwatch(error)
    )

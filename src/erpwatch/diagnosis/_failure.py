"""What a failed monitor raised, reduced to the facts the classifier needs.

Built where the exception lives (the test process, an xdist worker or not) and
classified there: the exception itself never leaves it, only the diagnosis does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .._calls import CallFailed
from .._vocabulary import FailureKind
from ..checks import DataMismatch, NotPersisted

_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FailureFacts:
    kind: FailureKind
    type_name: str
    message: str
    call: str | None = None
    status: int | None = None
    missing_fields: tuple[str, ...] = ()
    different_fields: tuple[str, ...] = ()
    key: str | None = None  # the key of a KeyError
    raised_in_erpwatch: bool = False  # in erpwatch's own code (not its checks)
    extra: dict[str, Any] = field(default_factory=dict)


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
        return FailureFacts(
            FailureKind.NOT_PERSISTED, name, message, call=error.call, status=error.status
        )
    if isinstance(error, DataMismatch):
        return FailureFacts(
            FailureKind.DATA_MISMATCH,
            name,
            message,
            call=error.call,
            missing_fields=tuple(error.missing),
            different_fields=tuple(error.different),
        )
    if isinstance(error, CallFailed):
        return FailureFacts(
            FailureKind.NO_JSON if error.unexpected_body else FailureKind.ERP_CALL,
            name,
            message,
            call=error.call,
            status=error.status,
            extra={"problem": error.problem} if error.problem else {},
        )
    if isinstance(error, requests.JSONDecodeError):
        return FailureFacts(FailureKind.NO_JSON, name, message)
    if isinstance(error, requests.RequestException):
        return FailureFacts(FailureKind.HTTP, name, message)
    if isinstance(error, AssertionError):
        return FailureFacts(
            FailureKind.ASSERTION, name, message, raised_in_erpwatch=_raised_in_erpwatch(error)
        )
    key = str(error.args[0]) if isinstance(error, KeyError) and error.args else None
    return FailureFacts(
        FailureKind.OTHER, name, message, key=key, raised_in_erpwatch=_raised_in_erpwatch(error)
    )

"""What a failed monitor raised, reduced to the facts the classifier needs.

Built where the exception lives (the test process, an xdist worker or not) and
classified there: the exception itself never leaves it, only the diagnosis does.
"""

from __future__ import annotations

import ast
import linecache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .._calls import CallFailed
from .._vocabulary import FailureKind
from ..checks import CheckFailed, DataMismatch, NotPersisted
from ._model import Difference, Scalar

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
    key: str | None = None  # the key of a KeyError, or of a failed ``assert "key" in answer``
    differences: tuple[Difference, ...] = ()
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
    if isinstance(error, CheckFailed):
        return FailureFacts(
            FailureKind.VERDICT,
            name,
            message,
            extra={"category": error.category.value, "reason": error.reason, "url": error.url},
        )
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
            differences=tuple(
                Difference(str(field_name), _scalar(want), _scalar(got))
                for field_name, (want, got) in error.different.items()
            ),
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
        # pytest appends its picture of the operands to the author's message
        # ("\nassert 'x' in {...}"): a developer's aid (the report keeps it), not
        # words for a client's mail, and it can quote a whole answer.
        return FailureFacts(
            FailureKind.ASSERTION,
            name,
            authors_message(message),
            key=_asserted_key(error),
            raised_in_erpwatch=_raised_in_erpwatch(error),
        )
    key = str(error.args[0]) if isinstance(error, KeyError) and error.args else None
    return FailureFacts(
        FailureKind.OTHER, name, message, key=key, raised_in_erpwatch=_raised_in_erpwatch(error)
    )


def _scalar(value: object) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def authors_message(message: str) -> str:
    """What the monitor's author wrote in ``assert …, "message"``, without the
    explanation pytest's assertion rewriting adds (empty when there was none)."""
    if message.startswith("assert "):
        return ""
    head, separator, _ = message.partition("\nassert ")
    return head.strip() if separator else message.strip()


def _asserted_key(error: BaseException) -> str | None:
    """``assert "inventory" in item`` failed: the monitor looked for a field.

    Read from the failed statement's source (its structure, not its words)."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    if traceback is None:
        return None
    filename, line = traceback.tb_frame.f_code.co_filename, traceback.tb_lineno
    source = ""
    for offset in range(8):  # an assert may span a few lines
        source += linecache.getline(filename, line + offset)
        try:
            tree = ast.parse(source.strip())
        except SyntaxError:
            continue
        statement = tree.body[0] if tree.body else None
        if not isinstance(statement, ast.Assert):
            return None
        test = statement.test
        if (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.In)
            and isinstance(test.left, ast.Constant)
            and isinstance(test.left.value, str)
        ):
            return test.left.value
        return None
    return None

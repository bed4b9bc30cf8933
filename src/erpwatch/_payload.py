"""What a worker tells the controller about one phase of one monitor.

The record travels as a plain JSON object on the test report (``report.erpwatch``):
pytest-xdist serialises a report's attributes as JSON, and a run without xdist
reads the very same form, so there is one shape and one reader. The reader
checks every field: a payload that is damaged, or was put there by something
else, is a ``DamagedPayload`` with one line saying what is wrong, never a
``KeyError`` deep in the run result.
"""

from __future__ import annotations

import types
from dataclasses import MISSING, dataclass, fields
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest

from .capture import Exchange
from .diagnosis import Diagnosis
from .synthetic import Leftover

# Says "this is erpwatch's, in this shape": a foreign or older payload is told apart.
FORMAT = "erpwatch.phase/1"
ATTRIBUTE = "erpwatch"  # the test report's attribute that carries it


class DamagedPayload(ValueError):
    """A report's erpwatch payload that cannot be read; the message is one line."""


@dataclass(frozen=True)
class PhaseReport:
    """One phase (setup, call, teardown) of one attempt of one monitor."""

    process: str | None
    critical: bool
    # Counted from 1 each time the monitor's setup runs again, whoever re-runs it
    # (erpwatch's retry, pytest-rerunfailures): the controller keeps the last one.
    attempt: int = 1
    exchanges: tuple[Exchange, ...] = ()
    dropped: int = 0  # exchanges the bounded log left out
    message: str | None = None
    diagnosis: Diagnosis | None = None
    leftovers: tuple[Leftover, ...] = ()  # this attempt's, on its teardown report
    retried: str | None = None  # an earlier attempt's failure, one line, and why it ran again
    unfinished: str | None = None  # why an interruption stopped the monitor
    # Stopped by the run deadline, not by a person: a process too slow to finish.
    overran: bool = False
    # A failure as the terminal shows it by default: the monitor's own frames,
    # rendered where the exception lives (see ``_terminal``).
    pointer: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "process": self.process,
            "critical": self.critical,
            "attempt": self.attempt,
            "exchanges": [exchange.to_dict() for exchange in self.exchanges],
            "dropped": self.dropped,
            "message": self.message,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis is not None else None,
            "leftovers": [{"description": x.description, "error": x.error} for x in self.leftovers],
            "retried": self.retried,
            "unfinished": self.unfinished,
            "overran": self.overran,
            "pointer": self.pointer,
        }

    @classmethod
    def from_json(cls, data: object) -> PhaseReport:
        if not isinstance(data, dict):
            raise DamagedPayload(f"not an object but {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise DamagedPayload(f"format {data.get('format')!r}, expected {FORMAT!r}")
        plain = _checked(cls, data, "", skip={"format"})
        exchanges = _list(data, "exchanges")
        leftovers = _list(data, "leftovers")
        diagnosis = data.get("diagnosis")
        return cls(
            **plain,
            exchanges=tuple(
                Exchange(**_checked(Exchange, x, f"exchanges[{i}]."))
                for i, x in enumerate(exchanges)
            ),
            leftovers=tuple(
                Leftover(**_checked(Leftover, x, f"leftovers[{i}]."))
                for i, x in enumerate(leftovers)
            ),
            diagnosis=(
                Diagnosis(**_checked(Diagnosis, diagnosis, "diagnosis."))
                if diagnosis is not None
                else None
            ),
        )


def attach(report: pytest.TestReport, phase: PhaseReport) -> None:
    setattr(report, ATTRIBUTE, phase.to_json())


def read(report: pytest.TestReport) -> PhaseReport | None:
    """The report's payload; None for a report erpwatch did not make (a collection report)."""
    data = getattr(report, ATTRIBUTE, None)
    return None if data is None else PhaseReport.from_json(data)


_NESTED = {"exchanges", "leftovers", "diagnosis"}  # read by from_json itself


def _list(data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise DamagedPayload(f"{name}: not a list but {type(value).__name__}")
    return value


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """A record's field types, worked out once per class: every phase of every
    monitor is checked against the same few classes."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _checked(
    cls: type[Any], data: object, where: str, skip: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    """The fields of dataclass ``cls`` from JSON ``data``, each of its declared type."""
    if not isinstance(data, dict):
        raise DamagedPayload(f"{where.rstrip('.') or 'payload'}: not an object")
    hints = _hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known - set(skip)
    if unknown:
        raise DamagedPayload(f"{where}{sorted(unknown)[0]}: not a field erpwatch knows")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if cls is PhaseReport and f.name in _NESTED:
            continue
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise DamagedPayload(f"{where}{f.name}: missing")
            continue
        values[f.name] = _value(hints[f.name], data[f.name], where + f.name)
    return values


def _value(hint: Any, value: object, where: str) -> Any:
    options = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        if isinstance(option, type) and issubclass(option, Enum):
            try:
                return option(value)
            except ValueError:
                continue
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option in (str, bool) and type(value) is option:
            return value
        if get_origin(option) is tuple and isinstance(value, list):
            # A tuple of records (a diagnosis's differences): each checked in turn.
            record = get_args(option)[0]
            return tuple(
                record(**_checked(record, item, f"{where}[{i}].")) for i, item in enumerate(value)
            )
        if (
            get_origin(option) is dict
            and isinstance(value, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        ):
            return value
    raise DamagedPayload(
        f"{where}: {type(value).__name__} {_preview(value)} is not {_described(options)}"
    )


_WORDS = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}


def _described(options: tuple[Any, ...]) -> str:
    """The expected type in words: ``a string or null``, not ``typing.Optional[str]``."""
    words = []
    for option in options:
        if option is type(None):
            words.append("null")
        elif isinstance(option, type) and issubclass(option, Enum):
            words.append("one of " + ", ".join(str(member.value) for member in option))
        elif get_origin(option) is dict:
            words.append("an object of strings")
        else:
            words.append(_WORDS.get(option, str(option)))
    return " or ".join(words)


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"

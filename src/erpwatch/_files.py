"""The files erpwatch writes and keeps between runs (summary, alert state,
history, dashboard): written whole or not at all, locked against a second run,
read into checked shapes, and set aside rather than trusted or lost when
damaged. A damaged file must never take a run's alerting down with it."""

from __future__ import annotations

import fcntl
import math
import os
import tempfile
import time
import types
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        # mkstemp makes the file private; reports are meant to be read and published.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FileLockTimeout(TimeoutError):
    """Another run holds a file for longer than erpwatch waits."""


@contextmanager
def exclusive_lock(path: Path, timeout: float, error: type[FileLockTimeout]) -> Iterator[None]:
    """Hold ``<path>.lock`` for one read-modify-write; a second run waits its turn.
    flock is released by the kernel when a process dies, so a crashed run never
    leaves a stale lock behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise error(
                        f"another erpwatch run has held {lock_path} for {timeout:.0f} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def aside_path(path: Path, now: datetime | None = None) -> Path:
    """``<name>.corrupt-<UTC time>``, never one that already exists."""
    stamp = f"{(now or datetime.now(UTC)).astimezone(UTC):%Y%m%dT%H%M%SZ}"
    candidate = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
    return candidate


def keep_lines_aside(path: Path, lines: Iterable[bytes]) -> Path:
    """Damaged lines of ``path`` into a new ``<name>.corrupt-<UTC time>`` file
    (created exclusively: what an earlier run set aside is never overwritten)."""
    aside = aside_path(path)
    with aside.open("xb") as stream:
        stream.writelines(line + b"\n" for line in lines)
    return aside


def set_aside(path: Path) -> Path:
    """Move a damaged file out of the way, kept for a person to look at."""
    aside = aside_path(path)
    os.replace(path, aside)
    return aside


# -- shapes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A time as erpwatch writes it: ISO 8601 text with an offset. A time without
    one cannot be compared with the aware times of a run."""


@dataclass(frozen=True)
class OneOf:
    """One of a closed set of texts."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class Maybe:
    """The shape ``hint``, or null."""

    hint: Any


MOMENT = Moment()


def _is_moment(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def conforms(value: object, hint: Any) -> bool:
    """Whether JSON-decoded ``value`` has the shape ``hint`` describes: a type
    hint (str, int, float, bool, None, unions, list/tuple/dict of those, an Enum,
    a dataclass as a JSON object), a ``Moment``, a ``OneOf`` or a shape mapping."""
    if hint is Any:
        return True
    if isinstance(hint, Moment):
        return _is_moment(value)
    if isinstance(hint, OneOf):
        return value in hint.values
    if isinstance(hint, Maybe):
        return value is None or conforms(value, hint.hint)
    if isinstance(hint, Mapping):
        return problem_of(value, hint) is None
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if hint is None or hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(float(value))
        )
    if hint is str:
        return isinstance(value, str)
    if hint in (list, dict):
        return isinstance(value, hint)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return any(value == member.value for member in hint)
    if isinstance(hint, type) and is_dataclass(hint):
        return problem_of(value, dataclass_shape(hint)) is None
    if origin in (list, tuple):
        item = args[0] if args else Any
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if origin is dict:
        key, item = args or (Any, Any)
        return isinstance(value, dict) and all(
            conforms(k, key) and conforms(v, item) for k, v in value.items()
        )
    return False


@dataclass(frozen=True)
class Field:
    hint: Any
    required: bool = True


def dataclass_shape(cls: type, **overrides: Any) -> dict[str, Field]:
    """The JSON shape of a dataclass's ``asdict``: every field with its type, required
    unless it has a default. ``overrides`` give a field a stricter shape (a Moment)."""
    hints = get_type_hints(cls)
    return {
        f.name: Field(
            overrides.get(f.name, hints[f.name]),
            required=f.default is MISSING and f.default_factory is MISSING,
        )
        for f in fields(cls)
    }


def problem_of(
    value: object, shape: Mapping[str, Field | Any], *, open_ended: bool = False
) -> str | None:
    """What is wrong with a JSON object against ``shape`` (key → Field or hint), or
    None. Unknown keys are a problem (the object would not load), unless the shape
    is ``open_ended``: a record a later erpwatch wrote with more in it."""
    if not isinstance(value, dict):
        return f"not an object but {type(value).__name__}"
    for key in value:
        if key not in shape and not open_ended:
            return f"unknown key {str(key)[:40]!r}"
    for key, spec in shape.items():
        field = spec if isinstance(spec, Field) else Field(spec)
        if key not in value:
            if field.required:
                return f"no {key!r}"
            continue
        if not conforms(value[key], field.hint):
            return f"{key!r} is {_brief(value[key])}"
    return None


def _brief(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"

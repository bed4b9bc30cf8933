"""Alert state between scheduled runs: an explicit JSON file with a schema
version, written atomically, locked against a second run, and survived when
missing or corrupted."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..result import write_atomically

SCHEMA_VERSION = 1


@dataclass
class Track:
    """One aspect (failing, or slow) of one monitor across runs."""

    bad: bool = False
    since: str | None = None  # when the current incident began (ISO, UTC)
    last_seen: str | None = None  # the last bad run
    bad_runs: int = 0  # consecutive bad runs
    good_runs: int = 0  # consecutive good runs while the incident is open
    recovered_at: str | None = None  # the first good run of the current good streak
    runs: int = 0  # bad runs in the current incident
    alerted: bool = False  # an alert was due (sent or pending) for this incident
    last_notified: str | None = None
    diagnosis: dict[str, Any] | None = None


@dataclass
class MonitorState:
    process: str
    failing: Track = field(default_factory=Track)
    slow: Track = field(default_factory=Track)

    def track(self, aspect: str) -> Track:
        track: Track = getattr(self, aspect)
        return track


@dataclass
class State:
    monitors: dict[str, MonitorState] = field(default_factory=dict)
    # Per group: notifications that could not be delivered yet (serialized incidents).
    pending: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Per group: flaky passes to mention in the next digest.
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Per run: mails it took from ``pending`` and is sending, outside the lock.
    sending: dict[str, dict[str, Any]] = field(default_factory=dict)
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"schema {data.get('schema')!r}, expected {SCHEMA_VERSION}")
        monitors = {
            nodeid: MonitorState(
                process=entry["process"],
                failing=Track(**entry["failing"]),
                slow=Track(**entry["slow"]),
            )
            for nodeid, entry in data["monitors"].items()
        }
        return cls(
            monitors=monitors,
            pending={k: list(v) for k, v in data.get("pending", {}).items()},
            notes={k: list(v) for k, v in data.get("notes", {}).items()},
            sending=dict(data.get("sending", {})),
            updated_at=data.get("updated_at"),
        )


class StateLockTimeout(Exception):
    """Another run holds the state for longer than erpwatch waits."""


@dataclass
class StateStore:
    path: Path
    lock_timeout: float = 120.0
    warnings: list[str] = field(default_factory=list)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the state for one read-decide-write; a second run waits its turn."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StateLockTimeout(
                            f"another erpwatch run has held {lock_path} for {self.lock_timeout:.0f} s"
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def load(self) -> State:
        """The saved state; a fresh one when there is none or it cannot be read."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return State()
        try:
            return State.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError) as error:
            aside = self.path.with_name(
                f"{self.path.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S}"
            )
            os.replace(self.path, aside)
            self.warnings.append(
                f"the alert state {self.path} could not be read ({type(error).__name__}: {error}); "
                f"it was set aside as {aside.name} and alerting starts afresh"
            )
            return State()

    def save(self, state: State) -> None:
        write_atomically(self.path, _readable_json(state.to_dict()))


def _readable_json(data: dict[str, Any]) -> str:
    """One top-level key per line and one monitor per line: readable in a diff,
    and written by json's C encoder (``indent`` falls back to pure Python)."""
    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            inner = ",\n".join(
                f"  {_compact(name)}: {_compact(item)}" for name, item in value.items()
            )
            lines.append(f" {_compact(key)}: {{\n{inner}\n }}")
        else:
            lines.append(f" {_compact(key)}: {_compact(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

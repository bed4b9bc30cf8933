"""Alert state between scheduled runs: an explicit JSON file with a schema
version, written atomically, locked against a second run, and survived when
missing or corrupted."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._files import (
    MOMENT,
    Field,
    FileLockTimeout,
    Maybe,
    conforms,
    dataclass_shape,
    exclusive_lock,
    problem_of,
    set_aside,
    write_atomically,
)
from .._vocabulary import Aspect, IncidentKind
from .._words import counted
from ..config._alerts import FLAP_WINDOW_MAX

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
    # Flapping: the monitor's last runs, "F" failed and "P" passed, oldest first
    # and at most FLAP_WINDOW_MAX of them; and the unstable period, if one is open.
    # Both absent from a state file written before flapping was watched.
    history: str = ""
    unstable: Track = field(default_factory=Track)

    def track(self, aspect: Aspect) -> Track:
        if aspect is Aspect.UNSTABLE:
            return self.unstable
        return self.slow if aspect is Aspect.SLOW else self.failing

    def set_track(self, aspect: Aspect, track: Track) -> None:
        if aspect is Aspect.SLOW:
            self.slow = track
        elif aspect is Aspect.UNSTABLE:
            self.unstable = track
        else:
            self.failing = track


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
    # Per group: the mail server's final refusal, not retried with the same
    # settings (notify/_refusal.py).
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per group: chat posts its webhook did not take, to post with the next run
    # (notify/_deliver.py's pending_post: masked words, never the address). The
    # chat's own delivery state: a failed post resends no mail, a failed mail no post.
    chat: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # The maintainers' last "mail was not delivered" post: {"fingerprint", "at"},
    # or empty while every mail goes out.
    mail_failed_told: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: object) -> State:
        """The state a file holds, all of it; ``ValueError`` naming the first problem."""
        state, problems = parse_state(data)
        if problems:
            raise ValueError(problems[0])
        return state


class StateLockTimeout(FileLockTimeout):
    """Another run holds the state for longer than erpwatch waits."""


def chat_post_shape() -> dict[str, Any]:
    """The JSON shape of a kept chat post, as notify's pending_post writes it."""
    from ..notify._webhook import WebhookEvent

    incident = {
        "kind": IncidentKind,
        "process": str,
        "aspect": Aspect,
        "headline": str,
        "when": str,
        "first_seen": MOMENT,
        "ended_at": Maybe(MOMENT),
        "runs": int,
    }
    failure = {"group": str, "subject": str, "error": str}
    message = {
        "event": WebhookEvent,
        "kind": str,
        "subject": str,
        "intro": str,
        "incidents": list[incident],  # type: ignore[valid-type]
        "failures": list[failure],  # type: ignore[valid-type]
        "problems": list[str],
        "run_id": str,
        "run_url": Maybe(str),
    }
    return {"id": str, "queued_at": MOMENT, "tries": int, "eml": str, "message": message}


def _shapes() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The JSON shapes of a monitor's entry, a pending mail's incident and a note:
    what the alert lifecycle relies on when it reads them back."""
    # Imported here: only the controller reads the state, and notify brings mail along.
    from ..capture import Exchange
    from ..diagnosis import Diagnosis

    diagnosis = Maybe(dataclass_shape(Diagnosis))
    track = dataclass_shape(
        Track,
        since=Maybe(MOMENT),
        last_seen=Maybe(MOMENT),
        recovered_at=Maybe(MOMENT),
        last_notified=Maybe(MOMENT),
        diagnosis=diagnosis,
    )
    monitor = {
        "process": str,
        "failing": track,
        "slow": track,
        "history": Field(str, required=False),
        "unstable": Field(track, required=False),
    }
    incident = {
        "kind": IncidentKind,
        "process": str,
        "diagnosis": Field(diagnosis, required=False),
        "monitors": list[str],
        "exchange": Field(Maybe(Exchange), required=False),
        "first_seen": MOMENT,
        "last_seen": MOMENT,
        "runs": Field(int, required=False),
        "aspect": Field(Aspect, required=False),
        "ended_at": Field(Maybe(MOMENT), required=False),
        "processes": Field(list[str], required=False),
        "pattern": Field(str, required=False),
        # Given back after its mail failed, but already posted to the group's chat.
        "chat_done": Field(bool, required=False),
    }
    note = {"process": str, "monitor": str, "at": MOMENT, "what": str}
    return monitor, incident, note


def _groups(
    data: Mapping[str, Any], section: str, shape: Mapping[str, Any], problems: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Per group, the items of ``section`` that have ``shape``; the others are noted."""
    value = data.get(section, {})
    if not isinstance(value, dict):
        problems.append(f"{section}: not an object")
        return {}
    kept: dict[str, list[dict[str, Any]]] = {}
    for group, items in value.items():
        if not isinstance(items, list):
            problems.append(f"{section}.{group}: not a list")
            continue
        good = []
        for index, item in enumerate(items):
            problem = problem_of(item, shape)
            if problem is None:
                good.append(item)
            else:
                problems.append(f"{section}.{group}[{index}]: {problem}")
        if good:
            kept[group] = good
    return kept


def parse_state(data: object) -> tuple[State, list[str]]:
    """Whatever of ``data`` can be used, entry by entry, and what could not.
    A file of another schema (or no object at all) is used not at all."""
    if not isinstance(data, dict):
        raise ValueError(f"not a state object but {type(data).__name__}")
    if data.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"schema {data.get('schema')!r}, expected {SCHEMA_VERSION}")
    monitor_shape, incident_shape, note_shape = _shapes()
    problems: list[str] = []
    monitors: dict[str, MonitorState] = {}
    entries = data.get("monitors", {})
    if not isinstance(entries, dict):
        problems.append("monitors: not an object")
        entries = {}
    for nodeid, entry in entries.items():
        problem = problem_of(entry, monitor_shape) or _history_problem(entry.get("history", ""))
        if problem is not None:
            problems.append(f"monitors.{nodeid}: {problem}")
            continue
        monitors[nodeid] = MonitorState(
            process=entry["process"],
            failing=Track(**entry["failing"]),
            slow=Track(**entry["slow"]),
            history=entry.get("history", ""),
            unstable=Track(**entry.get("unstable", {})),
        )
    updated_at = data.get("updated_at")
    if not conforms(updated_at, Maybe(MOMENT)):
        problems.append(f"updated_at: {updated_at!r}"[:80])
        updated_at = None
    state = State(
        monitors=monitors,
        pending=_groups(data, "pending", incident_shape, problems),
        notes=_groups(data, "notes", note_shape, problems),
        sending=_claims(data, incident_shape, note_shape, problems),
        updated_at=updated_at,
        refused=_refusals(data, problems),
        chat=_groups(data, "chat", chat_post_shape(), problems),
        mail_failed_told=_told(data, problems),
    )
    return state, problems


def _told(data: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """A missing or damaged record only means the maintainers hear of failing
    mail once more than they needed to."""
    value = data.get("mail_failed_told", {})
    if value == {} or problem_of(value, {"fingerprint": str, "at": MOMENT}) is None:
        return dict(value)
    problems.append("mail_failed_told: not a fingerprint and a moment")
    return {}


def _history_problem(history: str) -> str | None:
    """A monitor's recent runs are F and P, no more of them than a window can use."""
    if len(history) > FLAP_WINDOW_MAX or history.strip("FP"):
        return f"'history' is {history[:40]!r}"
    return None


def _refusals(data: Mapping[str, Any], problems: list[str]) -> dict[str, dict[str, Any]]:
    """The remembered refusals that have their shape; a missing one only means the
    next run tries that group's mail again."""
    value = data.get("refused", {})
    if not isinstance(value, dict):
        problems.append("refused: not an object")
        return {}
    shape = {"error": str, "since": MOMENT, "tried": MOMENT, "salt": str, "fingerprint": str}
    kept: dict[str, dict[str, Any]] = {}
    for group, refusal in value.items():
        problem = problem_of(refusal, shape)
        if problem is None:
            kept[group] = refusal
        else:
            problems.append(f"refused.{group}: {problem}")
    return kept


def _claims(
    data: Mapping[str, Any],
    incident_shape: Mapping[str, Any],
    note_shape: Mapping[str, Any],
    problems: list[str],
) -> dict[str, dict[str, Any]]:
    """Mails runs took from ``pending`` to send; each claim is kept whole or not at
    all, since a later run gives a stale claim back to ``pending`` as it stands."""
    value = data.get("sending", {})
    if not isinstance(value, dict):
        problems.append("sending: not an object")
        return {}
    kept: dict[str, dict[str, Any]] = {}
    for run_id, claim in value.items():
        groups = claim.get("groups") if isinstance(claim, dict) else None
        problem = None
        if not isinstance(claim, dict) or not conforms(claim.get("since"), MOMENT):
            problem = "no time the claim was made"
        elif not isinstance(groups, dict):
            problem = "groups: not an object"
        elif not conforms(claim.get("chat", {}), dict[str, list[chat_post_shape()]]):  # type: ignore[misc]
            problem = "chat: not the posts a run took"
        else:
            for group, claimed in groups.items():
                shape = {
                    "incidents": list,
                    "notes": list,
                    "chat_done": Field(list[str], required=False),
                }
                problem = problem_of(claimed, shape) or next(
                    (
                        f"{group}: {p}"
                        for p in (
                            *(problem_of(i, incident_shape) for i in claimed["incidents"]),
                            *(problem_of(n, note_shape) for n in claimed["notes"]),
                        )
                        if p is not None
                    ),
                    None,
                )
                if problem is not None:
                    break
        if problem is None:
            kept[run_id] = claim
        else:
            problems.append(f"sending.{run_id}: {problem}")
    return kept


@dataclass
class StateStore:
    path: Path
    lock_timeout: float = 120.0
    warnings: list[str] = field(default_factory=list)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the state for one read-decide-write; a second run waits its turn."""
        with exclusive_lock(self.path, self.lock_timeout, StateLockTimeout):
            yield

    def load(self) -> State:
        """The saved state; a fresh one when there is none. A damaged file is set
        aside for a person to look at, and what of it can still be used is kept,
        pending mails above all: they are alerts nobody has received yet."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return State()
        except IsADirectoryError:
            raw = b""
        kept = State()
        try:
            kept, problems = parse_state(json.loads(raw.decode("utf-8")))
        except (
            ValueError,
            RecursionError,
        ) as error:  # not UTF-8, not JSON, not a state of this schema
            problems = [f"{type(error).__name__}: {error}" if raw else "not a file"]
        if not problems:
            return kept
        aside = set_aside(self.path)
        pending = sum(len(items) for items in kept.pending.values())
        salvaged = (
            f"kept {counted(len(kept.monitors), 'monitor')} and {counted(pending, 'pending mail')} from it"
            if kept != State()
            else "alerting starts afresh"
        )
        more = f" and {counted(len(problems) - 1, 'more problem')}" if len(problems) > 1 else ""
        self.warnings.append(
            f"the alert state {self.path} was damaged ({_brief(problems[0])}{more}); "
            f"it was set aside as {aside.name}; {salvaged}"
        )
        return kept

    def save(self, state: State) -> None:
        write_atomically(self.path, _readable_json(state.to_dict()))


def _brief(text: str) -> str:
    """A problem as one short line: it may quote the damaged file."""
    line = " ".join(text.split())
    return line if len(line) <= 160 else line[:159] + "…"


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

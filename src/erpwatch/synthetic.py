"""Synthetic records: tagged so a person can recognise them in the ERP, and
removed at teardown; what could not be removed is reported, never hidden."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .capture import RECORDER
from .erp import ErpCallFailed, ErpClient

if TYPE_CHECKING:
    from .tryton import TrytonClient


@dataclass(frozen=True)
class Leftover:
    """A synthetic record that is still in the ERP, and why."""

    description: str
    error: str


# Business Central keeps references in Code[35] fields ("External Document
# No."), which it stores upper-case and trimmed: a reference must already be
# in that form and that length, or reading it back would differ from what was sent.
REFERENCE_MAX_LENGTH = 35


class SyntheticData:
    def __init__(self, run_id: str) -> None:
        self.tag = f"ERPWATCH-{run_id}".upper()
        self._removals: list[tuple[str, Callable[[], object]]] = []
        self.leftovers: list[Leftover] = []  # what cleanup could not remove, so far

    def reference(self, prefix: str = "") -> str:
        """A unique reference for one record, e.g. a webshop order number: upper-case and
        at most 35 characters with its ``prefix`` (``PO-``), as an ERP's Code field keeps it."""
        unique = secrets.token_hex(3).upper()
        room = REFERENCE_MAX_LENGTH - len(prefix) - len(unique) - 1
        if room < len("ERPWATCH"):
            raise ValueError(f"the prefix {prefix!r} leaves no room for a reference")
        return f"{prefix.upper()}{self.tag[:room]}-{unique}"

    def remember(self, description: str, remove: Callable[[], object]) -> None:
        """Register how to remove a record this monitor created."""
        self._removals.append((description, remove))

    def create(self, erp: ErpClient, entity_set: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record through the ERP API and schedule its removal."""
        created = erp.create(entity_set, body)
        label = created.get("number") or created.get("id")
        self.remember(
            f"{entity_set} {label}", lambda: remove_entity(erp, entity_set, created["id"])
        )
        return created

    def create_in_tryton(self, tryton: TrytonClient, model: str, values: Mapping[str, Any]) -> int:
        """Create a Tryton record (``party.party``…) and schedule its removal; its id."""
        record_id = tryton.create(model, values)
        self.remember(f"{model} {record_id}", lambda: tryton.remove(model, record_id))
        return record_id

    def cleanup(self) -> list[Leftover]:
        """Remove in reverse order (an order before its customer); keep going on errors.

        An interruption (Ctrl+C, SIGTERM, the run deadline) while removing one
        record does not abandon the others: they are still removed, then the
        interruption goes on. A second interruption stops at once; whatever is
        left is listed. ``leftovers`` is complete even when this raises."""
        interrupted: BaseException | None = None
        while self._removals:
            description, remove = self._removals.pop()
            try:
                remove()
            except Exception as error:
                # The ERP's refusal can quote what it was sent: masked like any message.
                why = RECORDER.redactor.text(f"{type(error).__name__}: {error}")
                self.leftovers.append(Leftover(description, why))
            except (KeyboardInterrupt, SystemExit) as error:
                self.leftovers.append(
                    Leftover(description, "the run was interrupted while removing it")
                )
                if interrupted is not None:
                    self.leftovers += [
                        Leftover(d, "not removed: the run was interrupted")
                        for d, _ in reversed(self._removals)
                    ]
                    self._removals.clear()
                    raise
                interrupted = error
        if interrupted is not None:
            raise interrupted
        return list(self.leftovers)


def remove_entity(erp: ErpClient, entity_set: str, entity_id: str) -> None:
    """Delete with a fresh etag; a record that is already gone is fine."""
    try:
        current = erp.read(entity_set, entity_id)
    except ErpCallFailed as error:
        if error.status == 404:
            return
        raise
    erp.delete(entity_set, current)

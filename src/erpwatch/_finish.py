"""The finishing steps of a run, each on its own.

Writing the summary, deciding alerts, mailing, history, dashboard, job summary
and heartbeat are independent duties: one that breaks (a bad history line, a
folder that is a file) must not cost the others, or erpwatch goes quiet exactly
when something is wrong. Each step's fault is caught here, named in one line,
and told to the maintainers; nothing else in the run needs a try/except.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

MAX_ERROR_CHARS = 300


class StepStatus(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # nothing to do, or what it needs did not happen
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # Ctrl+C or SIGTERM arrived while it ran


class StepSkipped(Exception):
    """Raised by a step that has nothing to do; the reason is shown as it is."""


@dataclass(frozen=True)
class Step:
    name: str
    action: Callable[[], object]


@dataclass(frozen=True)
class StepResult:
    name: str
    status: StepStatus
    error: str | None = None  # one line, masked
    detail: str | None = None  # the masked traceback, for the maintainers only

    @property
    def line(self) -> str:
        """What the terminal says about a failed step: one line, no traceback."""
        if self.status is StepStatus.INTERRUPTED:
            return f"erpwatch: {self.name} was cut short: {self.error}; the other steps still ran"
        return (
            f"erpwatch: {self.name} failed: {self.error} — a fault in erpwatch itself; "
            "the other finishing steps still ran"
        )


def one_line(error: BaseException, redact: Callable[[str], str]) -> str:
    text = redact(f"{type(error).__name__}: {error}")
    first = " ".join(text.split())  # a message of many lines is still one line here
    return first if len(first) <= MAX_ERROR_CHARS else first[:MAX_ERROR_CHARS] + "…"


def run_steps(steps: Sequence[Step], redact: Callable[[str], str]) -> list[StepResult]:
    """Run every step whatever the others did; what became of each, in order.

    An interrupt (Ctrl+C, SIGTERM; a scheduler cancelling the job) cuts short the
    step it arrives in, not the ones after it: each of those is bounded and quick,
    and a run that saves nothing is the silence erpwatch exists to prevent."""
    results = []
    for step in steps:
        try:
            step.action()
        except KeyboardInterrupt as interrupt:
            results.append(
                StepResult(step.name, StepStatus.INTERRUPTED, one_line(interrupt, redact))
            )
        except StepSkipped as skipped:
            results.append(StepResult(step.name, StepStatus.SKIPPED, str(skipped) or None))
        except Exception as error:
            detail = redact("".join(traceback.format_exception(error)))
            results.append(
                StepResult(step.name, StepStatus.FAILED, one_line(error, redact), detail)
            )
        else:
            results.append(StepResult(step.name, StepStatus.DONE))
    return results


def failed(results: Sequence[StepResult]) -> list[StepResult]:
    return [r for r in results if r.status is StepStatus.FAILED]


def interrupted(results: Sequence[StepResult]) -> list[StepResult]:
    return [r for r in results if r.status is StepStatus.INTERRUPTED]

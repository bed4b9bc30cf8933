"""Stopping a run early, honestly: SIGTERM and the whole-run deadline become
interruptions that pytest handles like Ctrl+C (fixtures torn down, synthetic
records removed, the run reported as ``interrupted``), each saying why."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM: the scheduler or CI wants the run to stop."""


class DeadlinePassed(KeyboardInterrupt):
    """The whole-run deadline passed while monitors were still running."""


def reason_of(error: BaseException, deadline_minutes: float) -> str:
    if isinstance(error, DeadlinePassed):
        return f"the run deadline of {deadline_minutes:g} min passed"
    if isinstance(error, Terminated):
        return "stopped by SIGTERM"
    if type(error) is not KeyboardInterrupt and str(error):
        return f"interrupted: {error}"  # xdist: a worker was interrupted
    return "interrupted by Ctrl+C (SIGINT)"


def _raise(
    kind: type[KeyboardInterrupt], before: Callable[[int], None] | None = None
) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        if before is not None:
            before(signum)
        raise kind()

    return handler


@dataclass
class Interruptions:
    """SIGTERM and SIGALRM (the deadline) handlers of one run, and its deadline timer.

    The timer runs in a thread but signals the main thread itself
    (``pthread_kill``): a signal wakes a main thread blocked in a socket read,
    where merely setting a flag would wait for the read to end."""

    # Called with the signal number before SIGTERM interrupts this process
    # (the xdist controller passes it on to its workers).
    on_terminate: Callable[[int], None] | None = None
    previous: dict[int, Any] = field(default_factory=dict)
    timer: threading.Timer | None = None

    def install(self, deadline_seconds: float | None) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        self.previous[signal.SIGTERM] = signal.signal(
            signal.SIGTERM, _raise(Terminated, self.on_terminate)
        )
        if deadline_seconds is None:
            return
        self.previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, _raise(DeadlinePassed))
        main = threading.main_thread().ident
        assert main is not None
        self.timer = threading.Timer(
            max(deadline_seconds, 0.0), signal.pthread_kill, (main, signal.SIGALRM)
        )
        self.timer.daemon = True
        self.timer.start()

    def disarm(self) -> None:
        """No deadline once the monitors are done: the finishing steps must all run."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if signal.SIGALRM in self.previous:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)  # one that fired just now

    def uninstall(self) -> None:
        self.disarm()
        while self.previous:
            signum, handler = self.previous.popitem()
            signal.signal(signum, handler)

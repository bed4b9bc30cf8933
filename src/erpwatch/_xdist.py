"""An interrupted run under xdist: the controller's part.

When the controller is interrupted it stops reading its workers' events, and
xdist then ends them: the monitors they were running, torn down meanwhile (their
synthetic records removed), would go unreported. So the controller passes
SIGTERM on to its workers (Ctrl+C reaches them already, as the terminal's whole
process group) and reads their last reports before xdist ends them."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from queue import Empty
from typing import Any

import pytest

# How long an interrupted controller waits for its workers' cleanup: less than
# schedulers wait between SIGTERM and SIGKILL (systemd 90 s, GitHub Actions ~7 s after
# SIGINT then SIGTERM; a worker still cleaning up then is listed as unfinished).
DRAIN_SECONDS = 30.0


@dataclass
class Workers:
    """The controller's live workers: each a node and its process id."""

    nodes: dict[Any, int | None] = field(default_factory=dict)

    def add(self, node: Any) -> None:
        # xdist caches the worker's sys info (its pid among it) before configuring it.
        info = node.gateway._rinfo()
        self.nodes[node] = getattr(info, "pid", None)

    def down(self, node: Any) -> None:
        self.nodes.pop(node, None)

    def forward(self, signum: int) -> None:
        for pid in self.nodes.values():
            if pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signum)

    def drain(
        self,
        config: pytest.Config,
        on_report: Callable[[pytest.TestReport], None],
        timeout: float = DRAIN_SECONDS,
    ) -> None:
        """Fold the reports workers still send, until each has finished or ``timeout``."""
        dsession = config.pluginmanager.getplugin("dsession")
        queue = getattr(dsession, "queue", None)
        if queue is None:
            return
        deadline = time.monotonic() + timeout
        while self.nodes and time.monotonic() < deadline:
            try:
                name, kwargs = queue.get(timeout=0.2)
            except Empty:
                continue
            if name == "testreport":
                on_report(kwargs["rep"])
            elif name in ("workerfinished", "errordown"):
                self.down(kwargs["node"])

"""What the terminal shows of a failed monitor under pytest's default ``--tb=auto``.

A monitor fails through a call: the exception that reaches it is the last of a
chain (``ConnectionRefusedError`` → urllib3's ``NewConnectionError`` →
``MaxRetryError`` → requests' ``ConnectionError`` → erpwatch's ``CallFailed``),
and pytest prints every link of it, with the whole source of the first and last
function of each. An ERP on a closed port made that ~750 lines per monitor,
none of them the monitor author's. By default the terminal shows instead:

- erpwatch's diagnosis of the failure, first;
- the frames in the monitor's own code (the test, its conftest, its helpers),
  each with its source line, and the exception;
- one line saying what was left out, and that ``--tb=long`` shows it.

Any ``--tb`` a user names (long, short, line, native, no) and ``--full-trace``
get pytest's own output. The report keeps pytest's full traceback (pytest-html,
JUnit XML read it as the monitor's phase ends): only the copy the terminal's
failure summary prints is replaced, at the very end of the run.

The view is rendered where the exception lives (the worker, under xdist) and
travels to the controller in the phase payload as plain text.
"""

from __future__ import annotations

import copy
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._payload import DamagedPayload, read

# The view of one failure stays within a screenful: the monitor's frames are a
# few lines each; a long exception message (a big assert) is cut, and -vv or
# --tb=long shows it whole.
MAX_LINES = 30

_LIBRARY_ROOTS = tuple(
    Path(p).resolve()
    for p in {
        *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
        str(Path(__file__).parent),  # erpwatch itself
    }
)


def shortened(config: pytest.Config) -> bool:
    """Whether the terminal shows erpwatch's view: pytest's default style only."""
    option = config.option
    return getattr(option, "tbstyle", "auto") == "auto" and not getattr(option, "fulltrace", False)


def is_library(path: object) -> bool:
    """Code the monitor author did not write: the standard library, installed
    packages (requests, urllib3, pytest), erpwatch itself."""
    if not isinstance(path, Path):
        return True  # <frozen …>, <string>: nothing to open
    resolved = path.resolve()
    return any(resolved.is_relative_to(root) for root in _LIBRARY_ROOTS)


def render(excinfo: pytest.ExceptionInfo[BaseException], config: pytest.Config) -> str | None:
    """The monitor's frames and the exception, with a note on what was left out;
    None where pytest's own output is already short or is asked for."""
    if not shortened(config) or isinstance(excinfo.value, pytest.fail.Exception):
        return None  # pytest.fail(pytrace=False) prints its message alone

    def own_frames(info: pytest.ExceptionInfo[BaseException]) -> Any:
        visible = info.traceback.filter(info)  # honours __tracebackhide__
        own = visible.filter(lambda entry: not is_library(entry.path))
        # No frame of its own (an erpwatch fixture failed): where it was raised.
        return own if len(own) else visible[-1:]

    try:
        abspath = Path.cwd() != config.invocation_params.dir
    except OSError:
        abspath = True
    shown = excinfo.getrepr(
        style="short", tbfilter=own_frames, chain=False, abspath=abspath, funcargs=False
    )
    # str() of pytest's representation: its terminal output without colour.
    lines = str(shown).splitlines()
    if config.get_verbosity() < 2 and len(lines) > MAX_LINES:
        cut = len(lines) - MAX_LINES + 1
        lines = [*lines[: MAX_LINES - 1], f"E   … {cut} more line(s): -vv shows them"]
    note = _left_out(excinfo, len(own_frames(excinfo)))
    if note:
        lines.append(note)
    return "\n".join(lines)


def _left_out(excinfo: pytest.ExceptionInfo[BaseException], shown: int) -> str | None:
    """One line: how many frames, of which packages, and how many chained
    exceptions the view leaves out."""
    packages: dict[str, None] = {}
    frames = 0
    chained = 0
    error: BaseException | None = excinfo.value
    while error is not None:
        tb = error.__traceback__
        while tb is not None:
            frames += 1
            name = str(tb.tb_frame.f_globals.get("__name__", "?")).split(".")[0]
            path = Path(tb.tb_frame.f_code.co_filename)
            if is_library(path) and name not in ("_pytest", "pluggy"):
                packages[name] = None
            tb = tb.tb_next
        cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        if cause is not None:
            chained += 1
        error = cause
    hidden = max(frames - shown - _pytest_frames(excinfo), 0)
    if not hidden and not chained:
        return None
    parts = []
    if hidden:
        where = f" in {', '.join(sorted(packages))}" if packages else ""
        parts.append(f"{hidden} frame(s){where}")
    if chained:
        parts.append(f"{chained} chained exception(s)")
    return f"(left out: {' and '.join(parts)}; --tb=long shows them)"


def _pytest_frames(excinfo: pytest.ExceptionInfo[BaseException]) -> int:
    """Frames of pytest and pluggy running the test: pytest never shows them."""
    count = 0
    tb = excinfo.value.__traceback__
    while tb is not None:
        name = str(tb.tb_frame.f_globals.get("__name__", ""))
        if name.split(".")[0] in ("_pytest", "pluggy"):
            count += 1
        tb = tb.tb_next
    return count


@dataclass(frozen=True)
class Crash:
    """What pytest's short test summary quotes after ``FAILED <test> -``."""

    message: str


class FailureView:
    """erpwatch's view of one failure, as the terminal's failure summary prints it:
    pytest prints any ``longrepr`` that has ``toterminal``."""

    def __init__(self, headline: str | None, pointer: str) -> None:
        self.headline = headline
        self.pointer = pointer
        self.reprcrash = Crash(headline or pointer.splitlines()[-1])

    def __str__(self) -> str:
        return "\n".join(filter(None, (self.headline, self.pointer)))

    def toterminal(self, tw: Any) -> None:  # pytest's TerminalWriter
        if self.headline:
            tw.line(self.headline, red=True, bold=True)
            tw.line("")
        for line in self.pointer.splitlines():
            if line.startswith("E "):
                tw.line(line, red=True, bold=True)
            elif line.startswith(">"):
                tw.line(line, bold=True)
            else:
                tw.line(line)


def headline_of(report: pytest.TestReport, language: str) -> tuple[str | None, str | None]:
    """The diagnosis line and the rendered frames a report's payload carries."""
    from .diagnosis import explain

    try:
        phase = read(report)
    except DamagedPayload:
        return None, None
    if phase is None or phase.pointer is None:
        return None, None
    diagnosis = phase.diagnosis
    if diagnosis is None:
        return None, phase.pointer
    label = explain(diagnosis, language).label
    first = (diagnosis.headline or "").strip().splitlines()
    return f"erpwatch: [{label}] {first[0] if first else 'failed'}", phase.pointer


def shorten_failures(stats: dict[str, list[Any]], config: pytest.Config, language: str) -> None:
    """Put erpwatch's view in place of pytest's traceback in the reports the
    terminal's failure summary is about to print: copies, so the reports every
    other plugin holds keep the full traceback."""
    if not shortened(config):
        return
    for key in ("failed", "error"):
        reports = stats.get(key, [])
        for index, report in enumerate(reports):
            if not isinstance(report, pytest.TestReport):
                continue
            headline, pointer = headline_of(report, language)
            if pointer is None:
                continue
            view = copy.copy(report)
            view.longrepr = FailureView(headline, pointer)  # type: ignore[assignment]
            reports[index] = view

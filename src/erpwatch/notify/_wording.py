"""Words that depend on the language: process headlines and lists of people,
from the language files (``languages/*.toml``) and the processes' own wording."""

from __future__ import annotations

from collections.abc import Sequence

from .._words import words_of
from ..config import ProcessSettings


def process_wording(
    process: str,
    settings: ProcessSettings | None,
    language: str,
    *,
    variant: str = "",
    processes: Sequence[str] = (),
) -> tuple[str, str]:
    """(headline, impact) for a process in a language. ``variant``: "" for the
    process's own wording (config overrides the defaults), or one of
    ``_monitor_error``, ``_slow``, ``_resolved``, ``_root_unreachable``, ``_root_auth``."""
    defaults = words_of(language).processes
    title = settings.title if settings is not None else process
    key = variant or (process if process in defaults else "_default")
    wording = dict(defaults[key])
    if settings is not None and not variant:
        wording.update(settings.wording.get(language, {}))
    values = {"title": title, "processes": join_names(list(processes), language)}
    return wording["headline"].format(**values), wording["impact"].format(**values)


def join_names(names: Sequence[str], language: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {words_of(language).and_} {names[-1]}"

"""Words that depend on the language: process headlines, dates, lists of people."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from functools import cache
from importlib import resources

from ..config import ProcessSettings

_AND = {"en": "and", "nl": "en", "fr": "et"}


@cache
def _defaults() -> dict[str, dict[str, dict[str, str]]]:
    text = resources.files(__package__).joinpath("wording.toml").read_text(encoding="utf-8")
    data: dict[str, dict[str, dict[str, str]]] = tomllib.loads(text)
    return data


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
    title = settings.title if settings is not None else process
    key = variant or (process if process in _defaults() else "_default")
    wording = dict(_defaults()[key][language])
    if settings is not None and not variant:
        wording.update(settings.wording.get(language, {}))
    values = {"title": title, "processes": join_names(list(processes), language)}
    return wording["headline"].format(**values), wording["impact"].format(**values)


def join_names(names: Sequence[str], language: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {_AND[language]} {names[-1]}"

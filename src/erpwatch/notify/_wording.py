"""Words that depend on the language: process titles and headlines, and lists
of people, from the language files (``languages/*.toml``) and the processes'
own wording in erpwatch.toml."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._words import words_of
from ..config import ProcessSettings


@dataclass(frozen=True)
class Wording:
    """How a process in trouble is named in one language."""

    title: str
    headline: str
    impact: str
    resolved: str  # the headline once it is over


def title_of(process: str, settings: ProcessSettings | None, language: str) -> str:
    if settings is not None:
        return settings.title_in(language)
    default = words_of(language).processes.get(process, {}).get("title")
    return default or process


def process_wording(
    process: str,
    settings: ProcessSettings | None,
    language: str,
    *,
    variant: str = "",
    values: Mapping[str, str] | None = None,
    mismatch: bool = False,
) -> Wording:
    """The wording of a process in a language. ``variant``: "" for the process's
    own wording (erpwatch.toml overrides the defaults), or a table starting with
    ``_`` (``_monitor_error``, ``_slow``, ``_not_checked``, ``_root_<cause>``).
    ``values`` fills the variant's own placeholders ({party}, {processes} …).
    ``mismatch``: the records arrived, with other data: the process's own
    ``mismatch`` headline, not the one that says they do not arrive."""
    defaults = words_of(language).processes
    title = title_of(process, settings, language)
    key = variant or (process if process in defaults else "_default")
    wording = dict(defaults[key])
    if settings is not None and not variant:
        wording.update(settings.wording.get(language, {}))
    filled = {**(values or {}), "title": title}
    headline, resolved = wording["headline"], wording["resolved"]
    if mismatch and "mismatch" in wording:
        headline, resolved = wording["mismatch"], wording["mismatch_resolved"]
    return Wording(
        title=title,
        headline=headline.format(**filled),
        impact=wording["impact"].format(**filled),
        resolved=resolved.format(**filled),
    )


def join_names(names: Sequence[str], language: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {words_of(language).and_} {names[-1]}"

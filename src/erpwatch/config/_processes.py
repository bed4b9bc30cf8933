"""[processes.NAME]: the business processes monitors belong to, and how each is worded and alerted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._alerts import Lifecycle, lifecycle_of
from ._schema import LANGUAGES, ConfigError, optional_number, reject_unknown, table, text


@dataclass(frozen=True)
class ProcessSettings:
    """One [processes.NAME] table."""

    name: str
    title: str  # in the report's language
    critical: bool | None = None  # None: the monitor's marker decides
    latency_threshold: float | None = (
        None  # seconds; a slower call makes a pass degraded; None: off
    )
    # Per language: "headline" and "impact" overriding erpwatch's wording for the process.
    wording: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # [processes.NAME.alerts]: what this process sets over the [alerts] lifecycle.
    alerts: Lifecycle = field(default_factory=Lifecycle)
    # The title per language, where erpwatch.toml gives one (title = {nl = "…", …}).
    titles: Mapping[str, str] = field(default_factory=dict)

    def title_in(self, language: str) -> str:
        """The title a reader of this language sees: the configured one for the
        language, else erpwatch's own for a process it knows, else the title."""
        if language in self.titles:
            return self.titles[language]
        return default_title(self.name, language) or self.title


def _wording(values: Mapping[str, Any], prefix: str, where: str) -> dict[str, dict[str, str]]:
    wording = table(values, "wording", where)
    for language, texts in wording.items():
        if language not in LANGUAGES:
            raise ConfigError(
                f"{prefix}wording.{language}",
                f"unknown language; use {', '.join(LANGUAGES)}",
                where,
            )
        if not isinstance(texts, dict):
            raise ConfigError(
                f"{prefix}wording.{language}", "must be a table with headline and impact", where
            )
        reject_unknown(
            texts,
            {"headline", "impact", "resolved", "mismatch", "mismatch_resolved"},
            f"{prefix}wording.{language}.",
            where,
        )
        for key in texts:
            text(texts, key, "", f"{prefix}wording.{language}.", where)
    return {language: dict(texts) for language, texts in wording.items()}


def default_title(process: str, language: str) -> str | None:
    """erpwatch's own title for a process it knows (customers, orders …)."""
    from .._words import words_of  # the language files are read only when needed

    return words_of(language).processes.get(process, {}).get("title")


def _titles(values: Mapping[str, Any], prefix: str, where: str) -> dict[str, str]:
    titles = values.get("title")
    if not isinstance(titles, dict):
        return {}
    for language, title in titles.items():
        if language not in LANGUAGES:
            raise ConfigError(
                f"{prefix}title.{language}", f"unknown language; use {', '.join(LANGUAGES)}", where
            )
        if not isinstance(title, str) or not title.strip():
            raise ConfigError(f"{prefix}title.{language}", "must be a text in quotes", where)
    return {language: title.strip() for language, title in titles.items()}


def processes_of(
    data: Mapping[str, Any], where: str, language: str = "en"
) -> dict[str, ProcessSettings]:
    processes: dict[str, ProcessSettings] = {}
    for name, values in table(data, "processes", where).items():
        prefix = f"processes.{name}."
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ConfigError(
                f"processes.{name}", "process names are lower-case words (a-z, 0-9, _)", where
            )
        if not isinstance(values, dict):
            raise ConfigError(f"processes.{name}", "must be a table", where)
        reject_unknown(
            values, {"title", "critical", "latency_threshold", "wording", "alerts"}, prefix, where
        )
        critical = values.get("critical")
        if critical is not None and not isinstance(critical, bool):
            raise ConfigError(
                f"{prefix}critical", f"must be true or false, not {critical!r}", where
            )
        wording = _wording(values, prefix, where)
        titles = _titles(values, prefix, where)
        fallback = name.replace("_", " ").capitalize()
        if titles:
            title = titles.get(language) or titles.get("en") or next(iter(titles.values()))
        elif "title" in values:
            # One title is the title in the report's language; the processes
            # erpwatch knows keep its own titles in the other languages.
            title = text(values, "title", fallback, prefix, where)
            titles = {language: title}
        else:
            title = default_title(name, language) or fallback
        processes[name] = ProcessSettings(
            alerts=lifecycle_of(table(values, "alerts", where), f"{prefix}alerts.", where),
            wording=wording,
            name=name,
            title=title,
            titles=titles,
            critical=critical,
            latency_threshold=optional_number(values, "latency_threshold", prefix, where),
        )
    return processes

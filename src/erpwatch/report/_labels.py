"""The words and times of the run report, in one of erpwatch's languages.

The words live in the ``[report]`` table of ``languages/<code>.toml``; reading
them through ``words_of`` first means a language file whose ``[report]`` keys
differ from English is refused as any other mismatch is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .._words import words_of, words_table


def report_words(code: str) -> Mapping[str, str]:
    """The ``[report]`` table of a language: every word a report reader sees."""
    return words_table(code, "report")


def local_moment(moment: datetime | str, timezone: str, code: str) -> str:
    """``Tue 1 Dec 2026 19:03:27``: a run's start or end in the configured zone."""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # erpwatch records in UTC
    local = at.astimezone(ZoneInfo(timezone))
    words = words_of(code)
    return (
        f"{words.days[local.weekday()]} {local.day} {words.months[local.month - 1]} "
        f"{local.year} {local:%H:%M:%S}"
    )


def local_clock(moment: str, timezone: str) -> str:
    """``19:03:27.412``: when a call started, in the configured zone (calls are
    recorded in UTC; a shop owner reads their own clock)."""
    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        return moment  # a recorded time erpwatch cannot read is shown as it is
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # erpwatch records in UTC
    return at.astimezone(ZoneInfo(timezone)).strftime("%H:%M:%S.%f")[:-3]


def status_key(status: str, categories: Iterable[str | None]) -> str:
    """The word key of a status: a pass held back only by a TLS certificate near
    its end is not "slow", it is "certificate" (the certificate checks)."""
    seen = set(categories)
    if status == "degraded" and seen == {"certificate"}:
        return "certificate"
    return status

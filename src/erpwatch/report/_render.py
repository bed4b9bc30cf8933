"""HTML fragments for the run reports: pytest-html's report.html and erpwatch's
own report per language. Rendering only: the data comes from the diagnosis and
the recorded exchanges; the words from the ``[report]`` table of the language."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import jinja2

from .._words import seconds_text, words_of
from ..capture import Exchange
from ..diagnosis import Category, Diagnosis, explain
from ._labels import local_clock, report_words

EXCERPT_CHARS = 4000
_COLOURS = {Category.SLOW: "#b7791f", Category.MONITOR_ERROR: "#6b46c1"}
DEFAULT_TIMEZONE = "UTC"  # where a caller names no zone, say so rather than guess


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("erpwatch.report", "templates"),
        autoescape=True,  # ERP-provided text is never trusted as HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
    )


def _excerpt(body: str | None) -> str:
    if not body:
        return ""
    return body if len(body) <= EXCERPT_CHARS else body[:EXCERPT_CHARS] + "…"


def evidence(diagnosis: Diagnosis, language: str = "en") -> list[tuple[str, str]]:
    """The facts behind a diagnosis, labelled in ``language``; empty ones left out."""
    words = report_words(language)
    rows = [
        (words["call"], diagnosis.call),
        (words["status"], str(diagnosis.status) if diagnosis.status is not None else None),
        (words["erp_code"], diagnosis.erp_code),
        (words["erp_message"], diagnosis.erp_message),
        (words["field"], diagnosis.erp_field),
        (words["detail"], diagnosis.erp_detail),
        (words["correlation_id"], diagnosis.correlation_id),
        (
            words["retry_after"],
            f"{diagnosis.retry_after:g} s".replace(".", words_of(language).decimal_separator)
            if diagnosis.retry_after is not None
            else None,
        ),
        (
            words["duration"],
            seconds_text(diagnosis.duration_ms / 1000, language)
            if diagnosis.duration_ms is not None
            else None,
        ),
        (words["error"], diagnosis.error),
        # The classifier's evidence is written in English, for the developer; other
        # languages read the same in the diagnosis's own sentence above it.
        (words["why"], diagnosis.reason if language == "en" else None),
    ]
    return [(name, value) for name, value in rows if value]


def diagnosis_html(
    diagnosis: Diagnosis, exchanges: Sequence[Exchange], process: str, language: str = "en"
) -> str:
    index = diagnosis.exchange_index
    exchange = exchanges[index] if index is not None and index < len(exchanges) else None
    return (
        environment()
        .get_template("diagnosis.html.j2")
        .render(
            explanation=explain(diagnosis, language),
            evidence=evidence(diagnosis, language),
            words=report_words(language),
            colour=_COLOURS.get(diagnosis.category, "#c53030"),
            process=process,
            exchange=exchange,
            request_body=_excerpt(exchange.request_body) if exchange else "",
            response_body=_excerpt(exchange.response_body) if exchange else "",
        )
    )


def exchanges_html(
    exchanges: Sequence[Exchange], timezone: str = DEFAULT_TIMEZONE, language: str = "en"
) -> str:
    """Every call of a monitor: what was called, what came back, how fast, and
    when on the reader's clock (the configured time zone, named in the header)."""
    return (
        environment()
        .get_template("exchanges.html.j2")
        .render(
            exchanges=exchanges,
            words=report_words(language),
            timezone=timezone,
            clock=lambda moment: local_clock(moment, timezone),
        )
    )

"""HTML fragments for the pytest-html report. Rendering only: the data comes
from the diagnosis and the recorded exchanges."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import jinja2

from ..capture import Exchange
from ..diagnosis import Category, Diagnosis, explain

EXCERPT_CHARS = 4000
_COLOURS = {Category.SLOW: "#b7791f", Category.MONITOR_ERROR: "#6b46c1"}


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


def evidence(diagnosis: Diagnosis) -> list[tuple[str, str]]:
    rows = [
        ("Call", diagnosis.call),
        ("Status", str(diagnosis.status) if diagnosis.status is not None else None),
        ("ERP code", diagnosis.erp_code),
        ("ERP message", diagnosis.erp_message),
        ("Field", diagnosis.erp_field),
        ("Detail", diagnosis.erp_detail),
        ("Correlation id", diagnosis.correlation_id),
        (
            "Retry after",
            f"{diagnosis.retry_after:g} s" if diagnosis.retry_after is not None else None,
        ),
        (
            "Duration",
            f"{diagnosis.duration_ms / 1000:.2f} s" if diagnosis.duration_ms is not None else None,
        ),
        ("Error", diagnosis.error),
        ("Why this category", diagnosis.reason),
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
            evidence=evidence(diagnosis),
            colour=_COLOURS.get(diagnosis.category, "#c53030"),
            process=process,
            exchange=exchange,
            request_body=_excerpt(exchange.request_body) if exchange else "",
            response_body=_excerpt(exchange.response_body) if exchange else "",
        )
    )


def exchanges_html(exchanges: Sequence[Exchange]) -> str:
    """Every call of a monitor: what was called, what came back, how fast."""
    return environment().get_template("exchanges.html.j2").render(exchanges=exchanges)

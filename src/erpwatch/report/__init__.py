"""Reporting: HTML fragments for pytest-html, the job summary, the history and
the dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._render import diagnosis_html, evidence, exchanges_html

if TYPE_CHECKING:
    from ._dashboard import render_dashboard, write_dashboard
    from ._history import History, record_of
    from ._job_summary import append_job_summary, job_summary

# Test workers render report fragments only; what the controller writes at the
# end of a run is imported when first used.
_LAZY = {
    "render_dashboard": "_dashboard",
    "write_dashboard": "_dashboard",
    "History": "_history",
    "record_of": "_history",
    "append_job_summary": "_job_summary",
    "job_summary": "_job_summary",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "History",
    "append_job_summary",
    "diagnosis_html",
    "evidence",
    "exchanges_html",
    "job_summary",
    "record_of",
    "render_dashboard",
    "write_dashboard",
]

"""Reporting: HTML fragments for pytest-html; later the dashboard and history."""

from __future__ import annotations

from ._dashboard import render_dashboard, write_dashboard
from ._history import History, record_of
from ._job_summary import append_job_summary, job_summary
from ._render import diagnosis_html, evidence, exchanges_html

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

"""Reporting: HTML fragments for pytest-html, the job summary, the history and
the dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._render import diagnosis_html, evidence, exchanges_html

if TYPE_CHECKING:
    from ._dashboard import render_dashboard, write_dashboard
    from ._history import History, describe_mails, record_of
    from ._job_summary import append_job_summary, job_summary
    from ._run_report import render_run_report, report_name, write_run_reports

# Test workers render report fragments only; what the controller writes at the
# end of a run is imported when first used.
_LAZY = {
    "render_dashboard": "_dashboard",
    "write_dashboard": "_dashboard",
    "History": "_history",
    "describe_mails": "_history",
    "record_of": "_history",
    "append_job_summary": "_job_summary",
    "job_summary": "_job_summary",
    "render_run_report": "_run_report",
    "write_run_reports": "_run_report",
    "report_name": "_run_report",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "History",
    "append_job_summary",
    "describe_mails",
    "diagnosis_html",
    "evidence",
    "exchanges_html",
    "job_summary",
    "record_of",
    "render_dashboard",
    "render_run_report",
    "report_name",
    "write_dashboard",
    "write_run_reports",
]

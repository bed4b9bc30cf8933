"""Reporting: HTML fragments for pytest-html; later the dashboard and history."""

from __future__ import annotations

from ._job_summary import append_job_summary, job_summary
from ._render import diagnosis_html, evidence

__all__ = ["append_job_summary", "diagnosis_html", "evidence", "job_summary"]

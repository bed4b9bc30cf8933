"""Reporting: HTML fragments for pytest-html; later the dashboard and history."""

from __future__ import annotations

from ._render import diagnosis_html, evidence

__all__ = ["diagnosis_html", "evidence"]

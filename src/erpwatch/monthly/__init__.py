"""The monthly service report: availability, outages, time to detect and to
recover, the slowest calls and the mails sent, computed from the run history
and told to each group in its language and time zone."""

from __future__ import annotations

from ._compute import month_bounds, month_report
from ._model import MailSent, MonthReport, Outage, ProcessMonth, SlowCall, UnstableSpell
from ._render import MonthlyMessage, outages_csv, render_month

__all__ = [
    "MailSent",
    "MonthReport",
    "MonthlyMessage",
    "Outage",
    "ProcessMonth",
    "SlowCall",
    "UnstableSpell",
    "month_bounds",
    "month_report",
    "outages_csv",
    "render_month",
]

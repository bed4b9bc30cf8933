"""The month of one client as numbers: typed records, apart from how they are
told (``_render``) and from how they are computed (``_compute``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Outage:
    """A process down from its first failing check to its first passing one."""

    process: str
    start: datetime
    end: datetime | None  # None: still failing when the report was made
    runs: int  # failing checks
    failed_call: str | None
    answer: str | None  # "400 BadRequest"
    erp_words: str | None  # what the ERP (or the wire) said, clipped
    first_mail: datetime | None  # the first alert about it; None: never mailed
    maintenance: bool  # every failing check fell in planned maintenance
    downtime: timedelta  # within the month, outside maintenance

    @property
    def detected_after(self) -> timedelta | None:
        """First failing check → first mail."""
        return None if self.first_mail is None else self.first_mail - self.start

    @property
    def recovered_after(self) -> timedelta | None:
        """First mail → first passing check: how long the fix took once people knew."""
        if self.first_mail is None or self.end is None:
            return None
        return self.end - self.first_mail

    def duration(self, until: datetime) -> timedelta:
        return (self.end or until) - self.start


@dataclass(frozen=True)
class UnstableSpell:
    """A time the process kept changing between failing and passing."""

    process: str
    start: datetime
    end: datetime | None  # None: still unstable
    pattern: str  # its last runs, "FPFP…", oldest first


@dataclass(frozen=True)
class SlowCall:
    """A call at its slowest this month, against the process's agreed threshold."""

    call: str
    ms: float
    at: datetime

    def over(self, threshold_ms: float | None) -> bool:
        return threshold_ms is not None and self.ms > threshold_ms


@dataclass(frozen=True)
class ProcessMonth:
    process: str
    checks: int  # with a result, outside planned maintenance
    passed: int  # of those, passed (a retried-then-passed check included)
    retried: int  # passed only on the second try
    maintenance: int  # checks in planned maintenance: left out
    downtime: timedelta
    outages: tuple[Outage, ...]
    unstable: tuple[UnstableSpell, ...]
    slowest: tuple[SlowCall, ...]  # slowest first, one per call
    slower_than_threshold: int  # checks that passed slower than agreed
    threshold_ms: float | None

    @property
    def availability(self) -> float | None:
        """Passed checks over checks, in %; None without a check."""
        return None if not self.checks else 100 * self.passed / self.checks


@dataclass(frozen=True)
class MailSent:
    at: datetime
    group: str
    subject: str
    status: str  # sent, outbox, failed
    channel: str  # mail, or a chat: slack, teams, json


@dataclass(frozen=True)
class MonthReport:
    """One month (in one time zone) of the processes one group hears about."""

    month: str  # "2026-11"
    timezone: str
    start: datetime
    end: datetime
    made_at: datetime
    runs: int  # scheduled runs recorded in the month
    first_run: datetime | None
    last_run: datetime | None
    processes: tuple[ProcessMonth, ...]
    mails: tuple[MailSent, ...]
    groups: tuple[str, ...] | None = None  # whose mails and people it names; None: all

    @property
    def outages(self) -> tuple[Outage, ...]:
        return tuple(sorted((o for p in self.processes for o in p.outages), key=lambda o: o.start))

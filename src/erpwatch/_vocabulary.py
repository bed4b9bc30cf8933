"""erpwatch's closed sets of words, one enum each, so the type checker catches a wrong one.

Every value is the word summary.json, the alert state and the history have always
held: a ``StrEnum`` member *is* that string, so the files stay as they were and
reading one back is ``Outcome(text)``. (How times and durations read for people is
``_words``; this module is the words the program itself compares.)

Several enums share words ("failed", "skipped"): they are different questions and
are kept apart on purpose, so a run's outcome cannot be passed where a delivery's
status is expected.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Category(StrEnum):
    """A diagnosis: what went wrong, in a category people recognise."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    SLOW = "slow"
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    MAINTENANCE = "maintenance"
    REJECTED = "rejected"
    CONFLICT = "conflict"
    ERP_ERROR = "erp_error"
    UNEXPECTED_RESPONSE = "unexpected_response"
    SILENT_FAILURE = "silent_failure"
    DATA_MISMATCH = "data_mismatch"
    MONITOR_ERROR = "monitor_error"
    # A TLS certificate expiring within the configured days, expired, or not trusted.
    CERTIFICATE = "certificate"

    @property
    def for_maintainers_only(self) -> bool:
        """A bug in the monitor is ours to fix; the client and ERP partner can do nothing."""
        return self is Category.MONITOR_ERROR


class Outcome(StrEnum):
    """What a monitor's phases (setup, call, teardown) made of it."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Stopped by an interruption or the run deadline before it ended.
    UNFINISHED = "unfinished"


class Status(StrEnum):
    """A monitor's or a process's outcome as erpwatch reports it: a pass slower than
    its threshold is degraded."""

    PASSED = "passed"
    DEGRADED = "degraded"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNFINISHED = "unfinished"

    @classmethod
    def of(cls, outcome: Outcome, degraded: bool) -> Status:
        if outcome is Outcome.PASSED and degraded:
            return cls.DEGRADED
        return cls(outcome.value)

    @classmethod
    def worst(cls, statuses: Iterable[Status]) -> Status:
        """The status of a group: failed over unfinished over degraded over passed;
        skipped only when all were (and passed when there were none)."""
        seen = set(statuses)
        for status in (cls.FAILED, cls.UNFINISHED, cls.DEGRADED, cls.PASSED):
            if status in seen:
                return status
        return cls.SKIPPED if seen else cls.PASSED


class RunOutcome(StrEnum):
    """A whole run: the worst of its monitors, or interrupted, which is never a pass."""

    PASSED = "passed"
    DEGRADED = "degraded"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNFINISHED = "unfinished"
    INTERRUPTED = "interrupted"


class Phase(StrEnum):
    """pytest's phases of a test, the words its reports use."""

    SETUP = "setup"
    CALL = "call"
    TEARDOWN = "teardown"


class Aspect(StrEnum):
    """What the alert lifecycle tracks per monitor, each with its own rules."""

    FAILING = "failing"
    SLOW = "slow"
    # Changing between failing and passing: one incident for the whole unstable
    # period instead of an alert and a resolved mail per change.
    UNSTABLE = "unstable"


class IncidentKind(StrEnum):
    """What a notification says about an incident. Declared most urgent first:
    a digest takes the kind of its most urgent incident."""

    ALERT = "alert"
    REMINDER = "reminder"
    RESOLVED = "resolved"

    @property
    def urgency(self) -> int:
        """0 for the most urgent; for sorting."""
        return list(IncidentKind).index(self)


class DeliveryStatus(StrEnum):
    """What became of one composed mail."""

    SENT = "sent"
    OUTBOX = "outbox"  # no SMTP configured: written to the outbox only
    FAILED = "failed"


class FailureKind(StrEnum):
    """What a failed monitor raised, as the classifier tells the cases apart."""

    ERP_CALL = "erp_call"  # a party's client raised after a call
    NO_JSON = "no_json"  # an answer that could not be used
    NOT_PERSISTED = "not_persisted"
    DATA_MISMATCH = "data_mismatch"
    ASSERTION = "assertion"
    HTTP = "http"  # requests raised outside erpwatch's clients
    VERDICT = "verdict"  # a built-in check's own finding (checks.CheckFailed)
    OTHER = "other"


class ErpErrorKind(StrEnum):
    """What the ERP's own error class says happened, when a dialect knows it."""

    ACCESS = "access"
    LOGIN = "login"
    SESSION = "session"
    VALIDATION = "validation"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    UNKNOWN_CALL = "unknown_call"
    MISSING_RECORD = "missing_record"
    SERVER = "server"


class Role(StrEnum):
    """Who a recipient group is, which decides how its mail speaks: the client
    hears what is broken and whether they must act, the ERP partner gets
    engineering instructions, the agency (and its maintainers) the technical detail."""

    CLIENT = "client"
    ERP_PARTNER = "erp_partner"
    AGENCY = "agency"


class Party(StrEnum):
    """Who answered (or did not) the call that failed: blame goes to that party."""

    ERP = "erp"
    PAYMENTS = "payments"  # the payment provider
    WEBSHOP = "webshop"  # a shop's punchout or OCI catalogue
    OTHER = "other"  # an address no party was configured for


class Wire(StrEnum):
    """Why no answer came, in words people are given instead of exception names."""

    REFUSED = "refused"  # nothing listens at the address
    CLOSED = "closed"  # the connection was cut before an answer
    NAME = "name"  # the host name does not resolve
    TLS = "tls"  # the certificate or TLS set-up was not accepted
    TIMEOUT = "timeout"  # no answer within the time-out
    OTHER = "other"

    @classmethod
    def of(cls, error_type: str | None, error: str | None) -> Wire:
        """Read from the exception's type and words, as recorded with the call."""
        text = f"{error_type or ''} {error or ''}".lower()
        if any(t in text for t in ("timeout", "timed out", "no complete answer within")):
            return cls.TIMEOUT
        if any(t in text for t in ("ssl", "certificate", "tls")):
            return cls.TLS
        if any(
            t in text
            for t in (
                "name or service not known",
                "nodename",
                "getaddrinfo",
                "name resolution",
                "no address associated",
            )
        ):
            return cls.NAME
        if "refused" in text:
            return cls.REFUSED
        if any(t in text for t in ("closed", "reset", "aborted", "remotedisconnected")):
            return cls.CLOSED
        return cls.OTHER


class ClientEnd(StrEnum):
    """How one client's run in a fleet ended, from its exit status (pytest's codes)."""

    PASSED = "passed"  # 0, or 5: nothing to run
    FAILED = "failed"  # 1: a monitor failed; its mails went out
    INTERRUPTED = "interrupted"  # 2: stopped (Ctrl+C, SIGTERM, its run deadline)
    BROKEN = "broken"  # 3, a crash or a kill: erpwatch itself broke
    CONFIG_ERROR = "config_error"  # 4, or refused before it started: a setting to fix
    NOT_RUN = "not_run"  # the fleet was stopped before this client's turn
    SKIPPED = "skipped"  # none of its processes was chosen (ERPWATCH_PROCESSES)

    @classmethod
    def of_exit(cls, code: int) -> ClientEnd:
        return {0: cls.PASSED, 5: cls.PASSED, 1: cls.FAILED, 2: cls.INTERRUPTED,
                4: cls.CONFIG_ERROR}.get(code, cls.BROKEN)  # fmt: skip

    @property
    def exit_code(self) -> int:
        """The fleet's exit status when this is its worst client."""
        return {ClientEnd.PASSED: 0, ClientEnd.SKIPPED: 0, ClientEnd.FAILED: 1,
                ClientEnd.INTERRUPTED: 2, ClientEnd.NOT_RUN: 2, ClientEnd.BROKEN: 3,
                ClientEnd.CONFIG_ERROR: 4}[self]  # fmt: skip

    @property
    def severity(self) -> int:
        """How bad, for the worst of a fleet: its exit status, a pass above a skip."""
        return 2 * self.exit_code + (
            self is not ClientEnd.SKIPPED and self is not ClientEnd.NOT_RUN
        )


# A monitor's recent runs as the alert state keeps them ("FPFP…", oldest first).
FAILED_RUN, PASSED_RUN = "F", "P"

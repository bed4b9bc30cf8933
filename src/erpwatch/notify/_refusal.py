"""A mail server's final "no", remembered between runs.

A refused login, a TLS set-up that cannot work or refused recipients fail the
same way on every run until someone changes a setting: trying again every five
minutes only fills the server's log (and may lock the account). The refusal is
kept per group with a fingerprint of what the outcome depends on (the SMTP_*
settings, MAIL_FROM, the group's addresses); a run whose settings give the same
fingerprint does not try that group, and says so. A changed setting, or a day
gone by (the server's side may have been fixed), lets the next run try again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..config import Group, MailSettings

# How long a refusal holds with unchanged settings: the fix may be on the server's side.
RETRY_PERMANENT_AFTER = timedelta(hours=24)
# The fingerprint covers the password: salted, slow and cut short, so the state
# file does not give it away (a 16-bit digest matches thousands of candidates),
# while a changed setting still changes it but for one chance in 65,536 (and
# then the daily try catches it).
_ITERATIONS = 50_000
_DIGITS = 4


@dataclass(frozen=True)
class Refusal:
    """A group's mail the server refused for good: why, since when, with which settings."""

    error: str
    since: str  # the first refusal with these settings (ISO, UTC)
    tried: str  # the last attempt
    salt: str
    fingerprint: str

    def to_dict(self) -> dict[str, str]:
        return {
            "error": self.error,
            "since": self.since,
            "tried": self.tried,
            "salt": self.salt,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Refusal:
        return cls(
            str(data["error"]),
            str(data["since"]),
            str(data["tried"]),
            str(data["salt"]),
            str(data["fingerprint"]),
        )

    def holds(self, mail: MailSettings, group: Group, now: datetime) -> bool:
        """Whether a run with these settings should leave this group's mail untried."""
        if mail.smtp is None:
            return False
        if now - datetime.fromisoformat(self.tried) >= RETRY_PERMANENT_AFTER:
            return False
        return fingerprint(mail, group, self.salt) == self.fingerprint

    def retried_at(self) -> datetime:
        return datetime.fromisoformat(self.tried) + RETRY_PERMANENT_AFTER


def fingerprint(mail: MailSettings, group: Group, salt: str) -> str:
    smtp = mail.smtp
    if smtp is None:
        return ""
    ca = _file_digest(smtp.ca_file) if smtp.ca_file else ""
    parts = (
        smtp.host,
        str(smtp.port),
        smtp.security,
        smtp.username or "",
        smtp.password or "",
        smtp.ca_file or "",
        ca,
        mail.sender,
        ",".join(group.addresses),
    )
    secret = "\0".join(parts).encode("utf-8")
    digest = hashlib.pbkdf2_hmac("sha256", secret, bytes.fromhex(salt), _ITERATIONS)
    return digest.hex()[:_DIGITS]


def _file_digest(path: str) -> str:
    """A renewed CA file at the same path is a changed setting too."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def refusal(
    error: str, mail: MailSettings, group: Group, now: datetime, earlier: Refusal | None
) -> Refusal:
    """The refusal to remember after a permanent failure now; ``since`` carries on
    from an earlier refusal under the same settings."""
    moment = now.isoformat(timespec="seconds")
    same = earlier is not None and fingerprint(mail, group, earlier.salt) == earlier.fingerprint
    salt = secrets.token_hex(8)
    return Refusal(
        error=error,
        since=earlier.since if same and earlier is not None else moment,
        tried=moment,
        salt=salt,
        fingerprint=fingerprint(mail, group, salt),
    )

"""[mail], [groups], [routing] and the SMTP_*/MAIL_* variables: who hears about what, and how."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._vocabulary import Role
from ._processes import ProcessSettings
from ._schema import (
    LANGUAGES,
    WHERE_ENV,
    ConfigError,
    Span,
    check_address,
    check_zone,
    env_error,
    env_number,
    number,
    reject_unknown,
    table,
    text,
)
from ._sources import needs


class WebhookKind(StrEnum):
    """What a group's chat address takes: a Slack incoming webhook, a Teams
    workflow ("When a Teams webhook request is received"), or erpwatch's own JSON."""

    SLACK = "slack"
    TEAMS = "teams"
    JSON = "json"


@dataclass(frozen=True)
class Webhook:
    """A group's chat channel. The address is a key (whoever has it can post to
    the channel), so it comes from the environment only and is masked like a password."""

    kind: WebhookKind
    variable: str  # the environment variable that holds the address, for messages
    url: str = field(repr=False)

    @property
    def host(self) -> str:
        """Where it goes, as a message may name it: the host, never the path or the query."""
        parts = urlsplit(self.url)
        return parts.netloc.rpartition("@")[2]

    @property
    def secrets(self) -> tuple[str, ...]:
        """The address and its path and query on their own: an HTTP library's error
        can quote the path without the host."""
        parts = urlsplit(self.url)
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        return tuple(v for v in (self.url, tail, parts.path, parts.query) if len(v) > 1)


@dataclass(frozen=True)
class Group:
    """People who receive one digest per run, in their language."""

    key: str
    name: str
    language: str
    addresses: tuple[str, ...]
    role: Role = Role.CLIENT  # how its mail speaks to it
    webhook: Webhook | None = None  # a short message per digest beside the mail
    timezone: str | None = None  # its monthly report's zone; None: [erpwatch] timezone

    @property
    def mailed(self) -> bool:
        """Whether it gets mail: a group with a webhook and no addresses hears by chat only."""
        return bool(self.addresses)

    @property
    def reached_at(self) -> str:
        """How other groups' mails and reports name where it hears: its addresses,
        or its chat channel's kind ("slack"), never the webhook's address (a key)."""
        if self.addresses:
            return ", ".join(parseaddr(a)[1] or a for a in self.addresses)
        return self.webhook.kind.value if self.webhook is not None else ""


@dataclass(frozen=True)
class SmtpSettings:
    """The mail server, from the SMTP_* variables."""

    host: str
    port: int
    security: str  # starttls, tls or none
    username: str | None
    password: str | None = field(repr=False)
    timeout: float
    ca_file: str | None


@dataclass(frozen=True)
class MailSettings:
    """Who gets which mail, from whom, and how it is delivered."""

    sender: str
    reply_to: str | None
    smtp: SmtpSettings | None  # None: the outbox is the delivery
    groups: Mapping[str, Group]
    routing: Mapping[str, tuple[str, ...]]
    maintainers: str | None  # the group that gets monitor errors
    attach_report_max_bytes: int
    report_url: str | None

    def processes_of(self, group: str) -> tuple[str, ...]:
        """The processes routed to ``group``, in the order [routing] gives them."""
        return tuple(p for p, groups in self.routing.items() if group in groups)


# The role a group has when its name says it and no ``role`` is given.
_ROLE_BY_NAME = {
    "client": Role.CLIENT,
    "erp_partner": Role.ERP_PARTNER,
    "agency": Role.AGENCY,
    "maintainers": Role.AGENCY,
}
_SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_NAME = r"[a-z][a-z0-9_]*"
_VARIABLE = r"[A-Z_][A-Z0-9_]*"
# Plain http only to this machine (a local relay, the tests): elsewhere the key
# in the address would cross the network readable.
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _webhook(
    values: Mapping[str, Any], env: Mapping[str, str], prefix: str, where: str
) -> Webhook | None:
    """The group's webhook, or None. The address itself is never quoted in an
    error: it is a key."""
    variable, kind = values.get("webhook_env"), values.get("webhook")
    kinds = ", ".join(k.value for k in WebhookKind)
    if variable is None:
        if kind is not None:
            raise ConfigError(
                f"{prefix}webhook",
                "needs webhook_env, the environment variable that holds the address "
                "(it is a secret: never in erpwatch.toml)",
                where,
            )
        return None
    if not isinstance(variable, str) or not re.fullmatch(_VARIABLE, variable):
        raise ConfigError(
            f"{prefix}webhook_env", f"must name an environment variable, not {variable!r}", where
        )
    if not isinstance(kind, str) or kind not in set(WebhookKind):
        raise ConfigError(
            f"{prefix}webhook",
            f"say what the address of {variable} takes: {kinds}"
            + (f", not {kind!r}" if kind is not None else ""),
            where,
        )
    url = env.get(variable, "").strip()
    if not url:
        raise env_error(
            variable,
            f"is not set; it is needed because {prefix}webhook_env names it "
            "(set it in .env or the CI secrets, or remove webhook_env)",
        )
    parts = urlsplit(url)
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        host = ""
    secure = parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK_HOSTS)
    if not host or not secure or parts.username or parts.password:
        # Not quoted: even a malformed address may hold the key.
        raise env_error(
            variable,
            "is not a webhook address: it must start with https:// and name a host "
            "(the value is not shown: it is a secret)",
        )
    return Webhook(WebhookKind(kind), variable, url)


def _group(key: str, values: Any, env: Mapping[str, str], where: str) -> Group:
    prefix = f"groups.{key}."
    if not re.fullmatch(_NAME, key):
        raise ConfigError(f"groups.{key}", "group names are lower-case words (a-z, 0-9, _)", where)
    if not isinstance(values, dict):
        raise ConfigError(f"groups.{key}", "must be a table with addresses and a language", where)
    reject_unknown(
        values,
        {
            "name",
            "language",
            "addresses",
            "addresses_env",
            "role",
            "webhook",
            "webhook_env",
            "timezone",
        },
        prefix,
        where,
    )
    role_name = values.get("role", _ROLE_BY_NAME.get(key))
    roles = ", ".join(r.value for r in Role)
    if role_name is None:
        raise ConfigError(
            f"{prefix}role", f"say who this group is, so its mail speaks to it: {roles}", where
        )
    if not isinstance(role_name, str) or role_name not in set(Role):
        raise ConfigError(f"{prefix}role", f"must be one of {roles}, not {role_name!r}", where)
    language = values.get("language", "nl")
    if language not in LANGUAGES:
        raise ConfigError(
            f"{prefix}language",
            f"{language!r} is not available; choose {', '.join(LANGUAGES)}",
            where,
        )
    literal = values.get("addresses", [])
    if not isinstance(literal, list) or not all(isinstance(a, str) for a in literal):
        raise ConfigError(f"{prefix}addresses", "must be a list of e-mail addresses", where)
    addresses: list[str] = [check_address(a, f"{prefix}addresses", where) for a in literal]
    variable = values.get("addresses_env")
    if variable is not None:
        if not isinstance(variable, str) or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", variable):
            raise ConfigError(
                f"{prefix}addresses_env",
                f"must name an environment variable, not {variable!r}",
                where,
            )
        from_env = [a.strip() for a in env.get(variable, "").split(",") if a.strip()]
        if from_env:
            addresses = [check_address(a, variable, WHERE_ENV) for a in from_env]
    webhook = _webhook(values, env, prefix, where)
    if not addresses and webhook is None:
        # A group with a webhook and no addresses hears by chat only (an on-call
        # channel); with neither, its alerts would reach nobody.
        hint = f" or set {variable}" if variable else ""
        raise ConfigError(
            f"groups.{key}",
            f"has no addresses; add addresses{hint}, or give it a webhook "
            "(webhook and webhook_env) to hear by chat only",
            where,
        )
    return Group(
        key=key,
        name=text(values, "name", key.replace("_", " "), prefix, where),
        language=language,
        addresses=tuple(addresses),
        role=Role(role_name),
        webhook=webhook,
        timezone=_zone(values, prefix, where),
    )


def _zone(values: dict[str, Any], prefix: str, where: str) -> str | None:
    zone = values.get("timezone")
    return None if zone is None else check_zone(zone, f"{prefix}timezone", where, "Europe/Paris")


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    """None when SMTP_HOST is unset: mail then goes to the outbox only."""
    host = env.get("SMTP_HOST", "")
    if not host:
        stray = [
            n
            for n in ("SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_SECURITY")
            if env.get(n)
        ]
        if stray:
            raise env_error(
                "SMTP_HOST", f"is not set but {', '.join(stray)} is; set SMTP_HOST to send mail"
            )
        return None
    security = env.get("SMTP_SECURITY", "starttls").lower()
    if security not in _SECURITY_PORTS:
        raise env_error("SMTP_SECURITY", f"must be starttls, tls or none, not {security!r}")
    port = int(
        env_number(
            env,
            "SMTP_PORT",
            _SECURITY_PORTS[security],
            Span("port", 65535.0, low=1.0, inclusive=True, whole=True, noun="a port number"),
        )
    )
    username, password = env.get("SMTP_USERNAME") or None, env.get("SMTP_PASSWORD") or None
    if username and not password:
        raise needs("SMTP_PASSWORD", "SMTP_USERNAME")
    if password and not username:
        raise needs("SMTP_USERNAME", "SMTP_PASSWORD")
    timeout = env_number(env, "SMTP_TIMEOUT", 30.0, Span("seconds", 600.0))
    ca_file = env.get("SMTP_CA_FILE") or None
    if ca_file is not None and not Path(ca_file).is_file():
        raise env_error("SMTP_CA_FILE", f"no file at {ca_file}")
    return SmtpSettings(host, port, security, username, password, timeout, ca_file)


def _routing(
    data: Mapping[str, Any],
    processes: Mapping[str, ProcessSettings],
    groups: Mapping[str, Group],
    where: str,
) -> dict[str, tuple[str, ...]]:
    routing: dict[str, tuple[str, ...]] = {}
    known_groups = ", ".join(sorted(groups)) or "none defined"
    for process, targets in table(data, "routing", where).items():
        if processes and process not in processes:
            raise ConfigError(
                f"routing.{process}",
                f"unknown process; declared processes: {', '.join(sorted(processes))}",
                where,
            )
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ConfigError(f"routing.{process}", "must be a list of group names", where)
        for target in targets:
            if target not in groups:
                raise ConfigError(
                    f"routing.{process}", f"unknown group {target!r}; groups: {known_groups}", where
                )
        routing[process] = tuple(targets)
    if groups:
        # With mail set up, a process nobody hears about would fail in silence while
        # the state records its alert as due: refuse it rather than lose the alert.
        for process in processes:
            if not routing.get(process):
                raise ConfigError(
                    f"routing.{process}",
                    f"process {process!r} is declared but routed to no group, so its alerts "
                    f'would reach nobody; add {process} = ["<group>", …] under [routing] '
                    f"(groups: {known_groups})",
                    where,
                )
    return routing


def mail_settings(
    data: Mapping[str, Any],
    processes: Mapping[str, ProcessSettings],
    env: Mapping[str, str],
    where: str,
    dry_run: bool = False,
) -> MailSettings:
    """Always settings: without groups or SMTP the outbox still receives every digest.
    A dry run checks the SMTP variables but keeps no server: nothing is sent."""
    mail = table(data, "mail", where)
    reject_unknown(
        mail,
        {"from", "reply_to", "maintainers", "attach_report_max_kb", "report_url"},
        "mail.",
        where,
    )
    groups = {
        key: _group(key, values, env, where) for key, values in table(data, "groups", where).items()
    }
    routing = _routing(data, processes, groups, where)
    maintainers = mail.get("maintainers", "maintainers")
    if "maintainers" in mail and maintainers not in groups:
        known_groups = ", ".join(sorted(groups)) or "none defined"
        raise ConfigError(
            "mail.maintainers", f"unknown group {maintainers!r}; groups: {known_groups}", where
        )
    smtp = _smtp(env)
    if env.get("MAIL_FROM"):
        sender = check_address(env["MAIL_FROM"], "MAIL_FROM", WHERE_ENV)
    elif "from" in mail:
        sender = check_address(text(mail, "from", "", "mail.", where), "mail.from", where)
    elif smtp is not None:
        raise needs("MAIL_FROM", "SMTP_HOST")
    else:
        sender = "erpwatch <erpwatch@localhost.localdomain>"  # the outbox only
    reply_to_raw = env.get("MAIL_REPLY_TO") or mail.get("reply_to")
    reply_to = None
    if reply_to_raw:
        from_env = bool(env.get("MAIL_REPLY_TO"))
        reply_to = check_address(
            str(reply_to_raw),
            "MAIL_REPLY_TO" if from_env else "mail.reply_to",
            WHERE_ENV if from_env else where,
        )
    max_kb = number(mail, "attach_report_max_kb", 5120, "mail.", where, unit="kilobytes")
    report_url = mail.get("report_url") or None
    return MailSettings(
        sender=sender,
        reply_to=reply_to,
        smtp=None if dry_run else smtp,
        groups=groups,
        routing=routing,
        maintainers=maintainers if maintainers in groups else None,
        attach_report_max_bytes=int(max_kb * 1024),
        report_url=str(report_url) if report_url else None,
    )

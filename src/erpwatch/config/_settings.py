"""[erpwatch] and the run's own variables, and `Settings`: every room's settings,
validated together and built once."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._vocabulary import Party
from ._alerts import AlertSettings, Lifecycle, alert_settings, check_flapping
from ._checks import UrlCheck, url_checks_of
from ._erp import ErpSettings, Timeouts, erp_settings, timeouts_of
from ._mail import MailSettings, mail_settings
from ._payments import PaymentSettings, payment_settings
from ._processes import ProcessSettings, processes_of
from ._punchout import OciSettings, PunchoutSettings, punchout_settings
from ._schema import (
    LANGUAGES,
    WHERE_ENV,
    ConfigError,
    Span,
    check_zone,
    env_number,
    layered_text,
    number,
    reject_unknown,
    table,
    text,
)
from ._sources import load_config_file
from ._tryton import TrytonSettings, tryton_settings

ENVIRONMENTS = ("sandbox", "test", "live")
# Every environment variable erpwatch reads whose value is a secret: these
# values are masked wherever they appear.
SECRET_VARIABLES = (
    "ERP_CLIENT_SECRET",
    "PSP_API_KEY",
    "PUNCHOUT_SHARED_SECRET",
    "OCI_PASSWORD",
    "SMTP_PASSWORD",
    "TRYTON_PASSWORD",
)
RUN_DEADLINE = Span("minutes", 24 * 60.0)
_TABLES = {"erpwatch", "processes", "erp", "mail", "groups", "routing", "alerts", "payments",
           "punchout", "checks"}  # fmt: skip
_GENERAL = {"environment", "timezone", "monitors", "reports", "report_language",
            "run_deadline_minutes", "monthly_report"}  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, validated together and built once."""

    config_path: Path
    root: Path
    environment: str
    timezone: str
    # The monitors this config runs: folders or files (a client in a fleet
    # names the shared ones it uses, and may add its own).
    monitors: tuple[Path, ...]
    reports_dir: Path
    processes: Mapping[str, ProcessSettings]
    erp_timeout: float
    erp_connect_timeout: float
    env: Mapping[str, str] = field(repr=False)
    report_language: str
    mail: MailSettings  # always: without SMTP the outbox is the delivery
    alerts: AlertSettings
    lifecycle: Lifecycle  # [alerts]: what every process's lifecycle starts from
    # After this long the running monitors are stopped and the run reports what it has.
    run_deadline: float  # seconds
    dry_run: bool  # compose mail into the outbox, send nothing, keep the state as it was
    only_processes: tuple[str, ...]  # run only these processes' monitors
    # The parties: None when not configured (and no sandbox stands in).
    erp: ErpSettings | None
    payments: PaymentSettings | None
    punchout: PunchoutSettings | None
    oci: OciSettings | None
    tryton: TrytonSettings | None
    # [[checks.urls]]: addresses watched for answer, speed and TLS certificate.
    url_checks: tuple[UrlCheck, ...] = ()
    # The groups that get the monthly service report (`erpwatch report --mail`).
    monthly_groups: tuple[str, ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        named = tuple(self.env[name] for name in SECRET_VARIABLES if self.env.get(name))
        # A group's webhook address is a key, whatever its variable is called.
        hooks = tuple(
            secret
            for group in self.mail.groups.values()
            if group.webhook is not None
            for secret in group.webhook.secrets
        )
        return named + hooks

    def process(self, name: str) -> ProcessSettings | None:
        return self.processes.get(name)

    def party_of(self, url: str | None) -> Party | None:
        """Who answers at this address: the configured base address it falls under
        (the longest, as the sandbox serves every party from one host), else the
        shop, whose catalogue may send the buyer anywhere on its own site."""
        if not url:
            return None
        bases: list[tuple[str, Party]] = []
        if self.erp is not None:
            # The ERP's login (Entra ID for Business Central) is the ERP's door too.
            bases += [(self.erp.base_url, Party.ERP), (self.erp.token_url, Party.ERP)]
        if self.tryton is not None:
            bases.append((self.tryton.url, Party.ERP))
        if self.payments is not None:
            bases.append((f"{self.payments.base_url}/v2", Party.PAYMENTS))
        under = [(len(base), party) for base, party in bases if _under(url, base)]
        if under:
            return max(under)[1]
        shops = [self.punchout.setup_url, self.punchout.order_url] if self.punchout else []
        shops += [self.oci.url] if self.oci else []
        if any(_origin(url) == _origin(shop) for shop in shops):
            return Party.WEBSHOP
        return Party.OTHER


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _under(url: str, base: str) -> bool:
    """``url`` is ``base`` or below it, path segment by segment."""
    base = base.rstrip("/")
    if _origin(url) != _origin(base):
        return False
    path, base_path = urlsplit(url).path, urlsplit(base).path
    return path == base_path or path.startswith(base_path + "/") or path.startswith(base_path + "(")


def load_settings(
    config_path: Path,
    env: Mapping[str, str],
    sandbox: Mapping[str, str] | None = None,
) -> Settings:
    """Validate everything a run needs, and build it once.

    ``sandbox`` holds the ERP_* values of a built-in sandbox when erpwatch
    started one because ERP_BASE_URL is unset.
    """
    where = str(config_path)
    data = load_config_file(config_path)
    reject_unknown(data, _TABLES, "", where)
    general = table(data, "erpwatch", where)
    reject_unknown(general, _GENERAL, "erpwatch.", where)
    timeouts = timeouts_of(data, where)
    root = config_path.parent
    environment = layered_text(
        env, "ERPWATCH_ENVIRONMENT", general, "environment", "sandbox", "erpwatch.", where
    )
    if environment.value not in ENVIRONMENTS:
        raise environment.error(
            f"must be one of {', '.join(ENVIRONMENTS)}, not {environment.value!r}"
        )
    report_language = text(general, "report_language", "en", "erpwatch.", where)
    if report_language not in LANGUAGES:
        raise ConfigError(
            "erpwatch.report_language",
            f"must be one of {', '.join(LANGUAGES)}, not {report_language!r}",
            where,
        )
    timezone = text(general, "timezone", "Europe/Brussels", "erpwatch.", where)
    check_zone(timezone, "erpwatch.timezone", where)
    reports_dir = Path(
        layered_text(
            env, "ERPWATCH_REPORTS", general, "reports", "reports", "erpwatch.", where
        ).value
    )
    reports_dir = reports_dir if reports_dir.is_absolute() else root / reports_dir
    monitors = monitors_of(general, root, where)
    processes = processes_of(data, where, report_language)
    run_deadline = run_deadline_of(general, env, where)
    dry_run = env.get("ERPWATCH_DRY_RUN", "").lower() in ("1", "true", "yes")
    mail = mail_settings(data, processes, env, where, dry_run=dry_run)
    only = _only_processes(env, processes)
    alerts, lifecycle = alert_settings(data, root, reports_dir, timezone, env, where)
    check_flapping(lifecycle, {name: p.alerts for name, p in processes.items()}, where)
    return Settings(
        config_path=config_path,
        root=root,
        environment=environment.value,
        timezone=timezone,
        monitors=monitors,
        reports_dir=reports_dir,
        processes=processes,
        erp_timeout=timeouts.timeout,
        erp_connect_timeout=timeouts.connect_timeout,
        env=dict(env),
        report_language=report_language,
        mail=mail,
        alerts=alerts,
        lifecycle=lifecycle,
        run_deadline=run_deadline,
        dry_run=dry_run,
        only_processes=only,
        tryton=tryton_settings(env, timeouts),
        url_checks=url_checks_of(data, processes, where),
        monthly_groups=_monthly_groups(general, mail, where),
        **_parties(data, env, sandbox, where, timeouts),
    )


def monitors_of(general: Mapping[str, Any], root: Path, where: str) -> tuple[Path, ...]:
    """``[erpwatch] monitors``: one path or a list, folders or files, relative to the
    config file. (pytest, and ``erpwatch fleet`` before it starts, say when one is missing.)"""
    value = general.get("monitors", "monitors")
    given = [value] if isinstance(value, str) else value
    if (
        not isinstance(given, list)
        or not given
        or not all(isinstance(item, str) and item.strip() for item in given)
    ):
        raise ConfigError(
            "erpwatch.monitors",
            f"must be a path or a list of paths (folders or files), not {value!r}",
            where,
        )
    return tuple((root / item).resolve() for item in given)


def with_sandbox(settings: Settings, sandbox: Mapping[str, str]) -> Settings:
    """``settings`` with the built-in sandbox standing in for the parties that are
    not configured. The rest was built and checked once, before the sandbox was
    started: a configuration error must not cost a sandbox start."""
    where = str(settings.config_path)
    timeouts = Timeouts(settings.erp_timeout, settings.erp_connect_timeout)
    data = load_config_file(settings.config_path)
    return replace(settings, **_parties(data, settings.env, sandbox, where, timeouts))


def _parties(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    sandbox: Mapping[str, str] | None,
    where: str,
    timeouts: Timeouts,
) -> dict[str, Any]:
    """The parties the sandbox can stand in for: the ERP, the payment provider, the shop."""
    punchout, oci = punchout_settings(data, env, sandbox, where, timeouts)
    return {
        "erp": erp_settings(env, sandbox, timeouts),
        "payments": payment_settings(data, env, sandbox, where, timeouts),
        "punchout": punchout,
        "oci": oci,
    }


def _monthly_groups(general: Mapping[str, Any], mail: MailSettings, where: str) -> tuple[str, ...]:
    """``[erpwatch] monthly_report = ["client", ...]``; by default every group
    that hears about a process (the maintainers hear about erpwatch)."""
    chosen = general.get("monthly_report")
    if chosen is None:
        routed = {group for groups in mail.routing.values() for group in groups}
        # A chat-only group has no address to mail a report to.
        return tuple(key for key, g in mail.groups.items() if key in routed and g.addresses)
    if not isinstance(chosen, list) or not all(isinstance(g, str) for g in chosen):
        raise ConfigError(
            "erpwatch.monthly_report", 'must be a list of group names, e.g. ["client"]', where
        )
    unknown = [g for g in chosen if g not in mail.groups]
    if unknown:
        raise ConfigError(
            "erpwatch.monthly_report",
            f"no group {unknown[0]!r}; groups: {', '.join(mail.groups)}",
            where,
        )
    chat_only = [g for g in chosen if not mail.groups[g].addresses]
    if chat_only:
        raise ConfigError(
            "erpwatch.monthly_report",
            f"group {chat_only[0]!r} has no mail address (chat only): the report is a mail; "
            "give it addresses or leave it out",
            where,
        )
    return tuple(dict.fromkeys(chosen))


def _only_processes(
    env: Mapping[str, str], processes: Mapping[str, ProcessSettings]
) -> tuple[str, ...]:
    only = tuple(p.strip() for p in env.get("ERPWATCH_PROCESSES", "").split(",") if p.strip())
    unknown = [p for p in only if processes and p not in processes]
    if unknown:
        known = ", ".join(sorted(processes))
        raise ConfigError(
            "ERPWATCH_PROCESSES",
            f"unknown process {unknown[0]!r}; declared: {known}",
            "environment, .env or --erpwatch-processes",
        )
    return only


def run_deadline_of(general: Mapping[str, Any], env: Mapping[str, str], where: str) -> float:
    """The whole-run deadline in seconds: ERPWATCH_RUN_DEADLINE_MINUTES over
    ``[erpwatch] run_deadline_minutes``, default 20; finite, at most a day."""
    minutes = number(general, "run_deadline_minutes", 20.0, "erpwatch.", where, span=RUN_DEADLINE)
    return env_number(env, "ERPWATCH_RUN_DEADLINE_MINUTES", minutes, RUN_DEADLINE) * 60


# -- the folders a run writes ---------------------------------------------------


def prepare_folders(settings: Settings, summary_path: Path | None = None) -> None:
    """Create the folders a run writes to and prove they take a file, before any
    monitor runs: a run whose results cannot be written must not run at all, and
    a path that is a file or read-only is a setting to fix, not a crash at the end."""
    folders = [
        (settings.reports_dir, *_source(settings, "ERPWATCH_REPORTS", "erpwatch.reports")),
        (
            settings.alerts.state_file.parent,
            *_source(settings, "ERPWATCH_STATE", "alerts.state_file"),
        ),
    ]
    if summary_path is not None:
        folders.append((summary_path.parent, "--erpwatch-summary", "command line"))
    for folder, key, where in folders:
        check_writable_folder(folder, key, where)


def _source(settings: Settings, name: str, key: str) -> tuple[str, str]:
    """The setting that gave a path, and where: the variable when set, else the file's key."""
    return (name, WHERE_ENV) if settings.env.get(name) else (key, str(settings.config_path))


def check_writable_folder(folder: Path, key: str, where: str) -> None:
    """``folder`` exists (created if need be) and a file can be made in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocking = next(
            (p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder
        )
        raise ConfigError(
            key, f"{blocking} is a file, not a folder; remove it or choose another folder", where
        ) from None
    except OSError as error:
        raise ConfigError(
            key, f"the folder {folder} cannot be created: {error.strerror}", where
        ) from None
    try:
        # A real file, not os.access: root passes os.access on a read-only mount.
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=".erpwatch-probe-")
    except OSError as error:
        raise ConfigError(
            key, f"the folder {folder} cannot be written: {error.strerror}", where
        ) from None
    os.close(descriptor)
    os.unlink(probe)

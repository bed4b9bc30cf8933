"""Settings: secrets and endpoints from the environment and `.env`, the rest
from the committed `erpwatch.toml`. Validated once, at start-up, into frozen
objects; anything wrong becomes a `ConfigError` naming the key to fix."""

from __future__ import annotations

import codecs
import dataclasses
import io
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._words import LANGUAGES  # the language files erpwatch ships

CONFIG_FILE_NAME = "erpwatch.toml"
ENVIRONMENTS = ("sandbox", "test", "live")
DEFAULT_TEST_ITEM = "1896-S"
DEFAULT_SCOPE = "https://api.businesscentral.dynamics.com/.default"

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
ERP_VARIABLES = (
    "ERP_BASE_URL",
    "ERP_COMPANY_ID",
    "ERP_TOKEN_URL",
    "ERP_CLIENT_ID",
    "ERP_CLIENT_SECRET",
    "ERP_SCOPE",
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ConfigError(Exception):
    """A setting the user must fix. ``str()`` is the one line to show them."""

    def __init__(self, key: str, problem: str, where: str = "") -> None:
        self.key = key
        self.problem = problem
        self.where = where
        location = f" ({where})" if where else ""
        super().__init__(f"{key}{location}: {problem}")


@dataclass(frozen=True)
class AlertRules:
    """When to mail about one aspect (failing, or slow) of a process's monitors."""

    after: int  # consecutive bad runs before the first alert
    remind_every_hours: float  # while still bad; 0: never remind
    resolve_after: int  # consecutive good runs before it counts as resolved
    resolved_mail: bool


@dataclass(frozen=True)
class MaintenanceWindow:
    """A recurring slot (local time) in which failures are recorded but not mailed."""

    start: str  # "HH:MM"
    end: str  # "HH:MM"; before start: the window runs past midnight
    days: tuple[int, ...]  # 0 = Monday; all days when empty


@dataclass(frozen=True)
class AlertSettings:
    state_file: Path
    retry_delay: float  # seconds before re-running a monitor that failed transiently
    retry_after_cap: float  # the most a Retry-After may make erpwatch wait
    maintenance: tuple[MaintenanceWindow, ...]
    silence_until: datetime | None
    heartbeat_url: str | None
    heartbeat_fail_url: str | None
    fixed_now: datetime | None = None  # ERPWATCH_NOW: replay a schedule with a controlled clock


@dataclass(frozen=True)
class ProcessSettings:
    name: str
    title: str
    critical: bool | None = None  # None: the monitor's marker decides
    latency_threshold: float | None = None  # seconds; a slower call makes a pass degraded
    # Per language: "headline" and "impact" overriding erpwatch's wording for the process.
    wording: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # [processes.NAME.alerts]: overrides of the [alerts] lifecycle settings.
    alerts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    """People who receive one digest per run, in their language."""

    key: str
    name: str
    language: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls, tls or none
    username: str | None
    password: str | None = field(repr=False)
    timeout: float
    ca_file: str | None


@dataclass(frozen=True)
class MailSettings:
    sender: str
    reply_to: str | None
    smtp: SmtpSettings | None  # None: the outbox is the delivery
    groups: Mapping[str, Group]
    routing: Mapping[str, tuple[str, ...]]
    maintainers: str | None  # the group that gets monitor errors
    attach_report_max_bytes: int
    report_url: str | None


@dataclass(frozen=True)
class ErpSettings:
    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    scope: str
    company_id: str | None
    test_item: str
    timeout: float
    connect_timeout: float
    sandbox: bool  # the built-in sandbox, started by erpwatch


# What the big shop plugins put in a Mollie payment's metadata: WooCommerce's
# sends order_id (and order_number with the Orders API); the Mollie docs' own
# example uses order_id. The customer-facing number wins when both are there.
DEFAULT_METADATA_KEYS = ("order_number", "order_id")


@dataclass(frozen=True)
class PaymentSettings:
    """The payment provider (Mollie API v2) and how payment sync is checked."""

    base_url: str  # without /v2
    api_key: str = field(repr=False)
    webhook_url: str | None  # the shop's webhook endpoint; needed by the active check
    sync_timeout: float  # how long a paid payment may take to reach the ERP
    grace_minutes: float  # reconciliation leaves younger payments alone
    lookback: int  # how many recent payments reconciliation checks
    sandbox: bool
    # Where a payment's metadata names the shop's order: the first of these keys
    # present in a metadata object (or in metadata that is JSON text of an object).
    metadata_keys: tuple[str, ...] = DEFAULT_METADATA_KEYS
    # Metadata that is plain text (not JSON): the order reference itself, or not read.
    metadata_text_is_order: bool = False
    # Extra calls reconciliation may make per run: Orders API order numbers, chargebacks.
    lookup_calls: int = 50
    # What the shop's webhook may answer to a payment it did not create: Mollie
    # counts 2xx as delivered, but some plugins refuse a stranger's payment
    # (WooCommerce's answers 400 or 404), which still proves the shop is up.
    webhook_ok_statuses: frozenset[int] = frozenset()
    # Per call, as [erp] timeout and connect_timeout: the whole answer within `timeout`.
    timeout: float = 30.0
    connect_timeout: float = 5.0


@dataclass(frozen=True)
class PostalAddress:
    """A ShipTo or BillTo address, as every public OrderRequest carries one."""

    name: str  # the company
    street: str
    city: str
    postal_code: str
    country_code: str  # ISO 3166-1 alpha-2
    country: str  # the country's name: cXML's Country element holds it
    deliver_to: str = ""  # a person or department at that address
    state: str = ""
    email: str = ""
    address_id: str = ""  # the buyer's code for this address, when the shop keys on it


# Where the synthetic orders go unless [punchout.cxml.ship_to] says otherwise: the
# demo buyer of the sandbox. A live shop ships real orders, so set your own.
DEFAULT_SHIP_TO = PostalAddress(
    name="Brasserie De Gouden Leeuw BV",
    deliver_to="Goods receipt",
    street="Korenmarkt 1",
    city="Gent",
    postal_code="9000",
    country_code="BE",
    country="Belgium",
)


@dataclass(frozen=True)
class PunchoutSettings:
    """The shop's cXML punchout endpoints, the parties' credentials and the document shape."""

    setup_url: str
    order_url: str
    from_domain: str  # the buyer
    from_identity: str
    to_domain: str  # the shop
    to_identity: str
    sender_domain: str  # who sends and authenticates: the buyer, or its network
    sender_identity: str
    shared_secret: str = field(repr=False)
    order_timeout: float  # how long an accepted OrderRequest may take to reach the ERP
    deployment_mode: str = "production"  # "test" only where the shop documents test orders
    user_agent: str = "erpwatch punchout monitor"
    currency: str = "EUR"
    ship_to: PostalAddress = DEFAULT_SHIP_TO
    bill_to: PostalAddress = DEFAULT_SHIP_TO
    user_email: str = ""  # sent as the endUser contact (and UserEmail) when set
    auxiliary_id: str = ""  # the shop's SupplierPartAuxiliaryID for the test item, if it needs one
    timeout: float = 30.0  # per call, as [erp] timeout
    connect_timeout: float = 5.0


@dataclass(frozen=True)
class OciSettings:
    """A shop's OCI catalogue, and the way a buyer reaches its transfer to SAP."""

    url: str
    username: str
    password: str = field(repr=False)
    method: str = "GET"  # how SAP calls the catalogue: GET, or POST where so customised
    username_field: str = "USERNAME"
    password_field: str = "PASSWORD"
    hook_field: str = "HOOK_URL"
    parameters: Mapping[str, str] = field(default_factory=dict)  # fixed catalogue parameters
    item: str = DEFAULT_TEST_ITEM  # what goes into the basket
    quantity: int = 1
    add_to_basket: str = ""  # "[GET|POST] URL" with {item} and {quantity}; "": the item's form
    transfer_url: str = ""  # "[GET|POST] URL" answering the transfer page; "": a transfer form
    transfer_form: str = ""  # XPath of the form that starts the transfer; "": a default
    units: frozenset[str] = frozenset()  # unit codes the buyer's SAP accepts beyond Rec 20
    timeout: float = 30.0  # per call, as [erp] timeout
    connect_timeout: float = 5.0


@dataclass(frozen=True)
class TrytonSettings:
    """A Tryton ERP, reached over JSON-RPC at ``<url><database>/rpc/``."""

    url: str  # ends in "/"
    database: str
    user: str
    password: str = field(repr=False)
    timeout: float
    connect_timeout: float

    @property
    def rpc_url(self) -> str:
        return f"{self.url}{quote(self.database)}/rpc/"


@dataclass(frozen=True)
class Settings:
    config_path: Path
    root: Path
    environment: str
    timezone: str
    monitors_dir: Path
    reports_dir: Path
    processes: Mapping[str, ProcessSettings]
    erp_timeout: float
    erp_connect_timeout: float
    env: Mapping[str, str] = field(repr=False)
    report_language: str = "en"
    mail: MailSettings | None = None
    alerts: AlertSettings | None = None
    lifecycle: Mapping[str, Any] = field(default_factory=dict)  # [alerts] lifecycle defaults
    payments: PaymentSettings | None = None
    punchout: PunchoutSettings | None = None
    oci: OciSettings | None = None
    # After this long the running monitors are stopped and the run reports what it has.
    run_deadline: float = 20 * 60.0  # seconds
    dry_run: bool = False  # compose mail into the outbox, send nothing, keep the state as it was
    only_processes: tuple[str, ...] = ()  # run only these processes' monitors
    erp: ErpSettings | None = None
    tryton: TrytonSettings | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self.env[name] for name in SECRET_VARIABLES if self.env.get(name))

    def process(self, name: str) -> ProcessSettings | None:
        return self.processes.get(name)


# -- the environment ------------------------------------------------------------


def read_environment(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment over `.env`: a real variable wins.

    Nothing is written to ``os.environ``; settings are passed explicitly.
    """
    environ = os.environ if environ is None else environ
    dotenv_path = Path(environ.get("ERPWATCH_DOTENV", root / ".env"))
    values: dict[str, str] = {}
    if dotenv_path.is_file():
        from dotenv import dotenv_values  # only when there is a .env: it imports a lot

        text = dotenv_text(dotenv_path)
        values.update(
            {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}
        )
    values.update(environ)
    return {key: value.strip() for key, value in values.items()}


# Text that says what it is: a byte-order mark leaves no doubt about the encoding.
# PowerShell 5's `>` and Notepad's "Unicode" write UTF-16 with one; decoding it is
# exact, not a guess. Without a mark only UTF-8 is read: guessing another
# encoding could silently change a password's characters.
_MARKS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
          (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip


def dotenv_text(path: Path) -> str:
    """A `.env` file's text: UTF-8, or UTF-8/UTF-16 that starts with a byte-order mark."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(path.name, f"cannot be read: {error.strerror}", str(path)) from None
    encoding = next((name for mark, name in _MARKS if raw.startswith(mark)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise ConfigError(
            path.name,
            f"is not {'UTF-16' if encoding == 'utf-16' else 'UTF-8'} text (byte {raw[error.start]:#04x} at offset "
            f"{error.start}); save it as UTF-8",
            str(path),
        ) from None


# -- the config file ------------------------------------------------------------


def find_config(root: Path, explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """The config file the run uses: ``--erpwatch-config``, then ``ERPWATCH_CONFIG``,
    then `erpwatch.toml` in the pytest rootdir; None when there is none."""
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.is_file():
            raise ConfigError("--erpwatch-config", f"no file at {path}")
        return path
    from_env = environ.get("ERPWATCH_CONFIG")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError("ERPWATCH_CONFIG", f"no file at {path}")
        return path
    default = root / CONFIG_FILE_NAME
    return default if default.is_file() else None


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table, e.g. [" + key + "]", where)
    return value


def _reject_unknown(table: Mapping[str, Any], known: set[str], prefix: str, where: str) -> None:
    for key in table:
        if key not in known:
            hint = ", ".join(sorted(known))
            raise ConfigError(f"{prefix}{key}", f"unknown setting; known: {hint}", where)


# What a number may be, per unit, unless a setting says otherwise: finite, and
# within what a monitoring schedule can sensibly use. An hour-long time-out or
# a 100 MB attachment is a typo, not a choice; inf and nan are never a choice
# (time-outs of inf overflow deep inside the HTTP and SMTP clients).
@dataclass(frozen=True)
class Span:
    """The numbers a setting accepts: ``low`` < x (or ≤ x when ``inclusive``) ≤ ``high``."""

    unit: str
    high: float
    low: float = 0.0
    inclusive: bool = False  # whether ``low`` itself is allowed
    whole: bool = False

    def describe(self) -> str:
        kind = f"a whole number of {self.unit}" if self.whole else f"a number of {self.unit}"
        low = f"{self.low:g}" if self.inclusive else f"more than {self.low:g}"
        return f"{kind} from {low} to {self.high:g}"

    def accepts(self, value: float) -> bool:
        above = value >= self.low if self.inclusive else value > self.low
        return math.isfinite(value) and above and value <= self.high


SPANS = {
    "seconds": Span("seconds", 3600.0),
    "minutes": Span("minutes", 7 * 24 * 60.0),
    "hours": Span("hours", 24 * 365.0, inclusive=True),
    "kilobytes": Span("kilobytes", 100 * 1024.0),
}
WHERE_ENV = "environment or .env"


def checked_number(value: object, key: str, where: str, span: Span) -> float:
    """The one check every configured number goes through, from the TOML file or
    the environment: a number (not a boolean), finite, within ``span``."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if (
        number is None
        or (span.whole and not isinstance(number, int))
        or not span.accepts(float(number))
    ):
        raise ConfigError(key, f"must be {span.describe()}, not {value!r}", where)
    return float(number)


def env_number(env: Mapping[str, str], name: str, default: float, span: Span) -> float:
    """A number from an environment variable (or .env), checked like a TOML one.
    Only plain decimal text is a number here: Python's float() would also take
    'inf', 'nan', '1e999' and '1_000', none of which a person means as a setting."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    plain = re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", raw)
    value: float = math.nan
    if plain:
        value = int(raw) if span.whole and raw.lstrip("+-").isdigit() else float(raw)
    if (span.whole and not isinstance(value, int)) or not span.accepts(value):
        # The text as written: that is what the person finds in .env.
        raise ConfigError(name, f"must be {span.describe()}, not {raw!r}", WHERE_ENV)
    return float(value)


def _number(
    table: Mapping[str, Any],
    key: str,
    default: float | None,
    prefix: str,
    where: str,
    unit: str = "seconds",
    span: Span | None = None,
) -> float | None:
    """A number from a TOML table, or ``default`` when the key is absent."""
    if key not in table:
        return None if default is None else float(default)
    return checked_number(table[key], f"{prefix}{key}", where, span or SPANS[unit])


def _whole(
    table: Mapping[str, Any], key: str, default: int, prefix: str, where: str, span: Span
) -> int:
    """A whole number from a TOML table (a count, a port), or ``default``."""
    if key not in table:
        return default
    return int(checked_number(table[key], f"{prefix}{key}", where, span))


def _text(table: Mapping[str, Any], key: str, default: str, prefix: str, where: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{prefix}{key}", f"must be a non-empty text, not {value!r}", where)
    return value.strip()


def load_config_file(path: Path) -> dict[str, Any]:
    where = str(path)
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path.name, f"is not valid TOML: {error}", where) from None
    except OSError as error:
        raise ConfigError(path.name, f"cannot be read: {error.strerror}", where) from None


_RUNS = Span("runs in a row", 1000.0, low=1.0, inclusive=True, whole=True)
_LIFECYCLE_KEYS: dict[str, type | Span] = {
    "after": _RUNS,
    "remind_every_hours": SPANS["hours"],
    "resolve_after": _RUNS,
    "resolved_mail": bool,
    "slow_after": _RUNS,
    "slow_remind_every_hours": SPANS["hours"],
}


def _lifecycle(
    table: Mapping[str, Any], prefix: str, where: str, also_known: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The alert lifecycle settings of a table ([alerts] or [processes.X.alerts]), checked."""
    _reject_unknown(table, set(_LIFECYCLE_KEYS) | set(also_known), prefix, where)
    values: dict[str, Any] = {}
    for key, kind in _LIFECYCLE_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        if isinstance(kind, Span):
            checked_number(value, f"{prefix}{key}", where, kind)
        elif not isinstance(value, bool):
            raise ConfigError(f"{prefix}{key}", f"must be true or false, not {value!r}", where)
        values[key] = value
    return values


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _maintenance(entries: Any, where: str) -> tuple[MaintenanceWindow, ...]:
    if not isinstance(entries, list):
        raise ConfigError(
            "alerts.maintenance", "must be a list of [[alerts.maintenance]] tables", where
        )
    windows = []
    for index, entry in enumerate(entries):
        key = f"alerts.maintenance[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(key, "must be a table with start, end and optional days", where)
        _reject_unknown(entry, {"start", "end", "days"}, f"{key}.", where)
        for bound in ("start", "end"):
            if not isinstance(entry.get(bound), str) or not _CLOCK.match(entry[bound]):
                raise ConfigError(
                    f"{key}.{bound}",
                    f'must be a time like "04:00", not {entry.get(bound)!r}',
                    where,
                )
        days = entry.get("days", [])
        if not isinstance(days, list) or any(d not in _DAY_NAMES for d in days):
            raise ConfigError(
                f"{key}.days", f"must be a list of {', '.join(_DAY_NAMES)}, not {days!r}", where
            )
        windows.append(
            MaintenanceWindow(
                entry["start"], entry["end"], tuple(_DAY_NAMES.index(d) for d in days)
            )
        )
    return tuple(windows)


def _moment(env: Mapping[str, str], name: str, example: str, zone: tzinfo) -> datetime | None:
    """A date and time from the environment; without an offset, in ``zone``."""
    raw = env.get(name, "")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(
            name, f"must be a date and time like {example}, not {raw!r}", "environment or .env"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _heartbeat(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    urls = []
    for name in ("ERPWATCH_HEARTBEAT_URL", "ERPWATCH_HEARTBEAT_FAIL_URL"):
        value = env.get(name) or None
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    name, f"must be an http(s) URL, not {value!r}", "environment or .env"
                )
        urls.append(value)
    url, fail_url = urls
    if fail_url and not url:
        raise ConfigError(
            "ERPWATCH_HEARTBEAT_URL",
            "is not set but ERPWATCH_HEARTBEAT_FAIL_URL is",
            "environment or .env",
        )
    # healthchecks.io and compatible services take a failure at <url>/fail.
    return url, fail_url or (url.rstrip("/") + "/fail" if url else None)


def alert_settings(
    data: Mapping[str, Any],
    root: Path,
    reports_dir: Path,
    timezone: str,
    env: Mapping[str, str],
    where: str,
) -> tuple[AlertSettings, dict[str, Any]]:
    table = _table(data, "alerts", where)
    defaults = _lifecycle(
        table,
        "alerts.",
        where,
        also_known=("state_file", "retry_delay", "retry_after_cap", "maintenance"),
    )
    state = env.get("ERPWATCH_STATE") or table.get("state_file")
    if state is not None and (not isinstance(state, str) or not state.strip()):
        raise ConfigError("alerts.state_file", f"must be a path, not {state!r}", where)
    state_path = Path(state) if state else reports_dir / "state.json"
    if not state_path.is_absolute():
        state_path = root / state_path
    retry_delay = _number(table, "retry_delay", 5.0, "alerts.", where, span=Span("seconds", 600.0))
    cap = _number(table, "retry_after_cap", 30.0, "alerts.", where)
    heartbeat_url, heartbeat_fail_url = _heartbeat(env)
    settings = AlertSettings(
        state_file=state_path,
        retry_delay=float(retry_delay or 0),
        retry_after_cap=float(cap or 0),
        maintenance=_maintenance(table.get("maintenance", []), where),
        # A silence is planned in local time; a replayed clock is given in full.
        silence_until=_moment(
            env, "ERPWATCH_SILENCE_UNTIL", "2026-11-28T06:00", ZoneInfo(timezone)
        ),
        fixed_now=_moment(env, "ERPWATCH_NOW", "2026-11-27T21:04:00+01:00", UTC),
        heartbeat_url=heartbeat_url,
        heartbeat_fail_url=heartbeat_fail_url,
    )
    return settings, defaults


def _processes(data: Mapping[str, Any], where: str) -> dict[str, ProcessSettings]:
    processes: dict[str, ProcessSettings] = {}
    for name, table in _table(data, "processes", where).items():
        prefix = f"processes.{name}."
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ConfigError(
                f"processes.{name}", "process names are lower-case words (a-z, 0-9, _)", where
            )
        if not isinstance(table, dict):
            raise ConfigError(f"processes.{name}", "must be a table", where)
        _reject_unknown(
            table, {"title", "critical", "latency_threshold", "wording", "alerts"}, prefix, where
        )
        critical = table.get("critical")
        if critical is not None and not isinstance(critical, bool):
            raise ConfigError(
                f"{prefix}critical", f"must be true or false, not {critical!r}", where
            )
        wording = _table(table, "wording", where)
        for language, texts in wording.items():
            if language not in LANGUAGES:
                raise ConfigError(
                    f"{prefix}wording.{language}",
                    f"unknown language; use {', '.join(LANGUAGES)}",
                    where,
                )
            if not isinstance(texts, dict):
                raise ConfigError(
                    f"{prefix}wording.{language}", "must be a table with headline and impact", where
                )
            _reject_unknown(texts, {"headline", "impact"}, f"{prefix}wording.{language}.", where)
            for key in texts:
                _text(texts, key, "", f"{prefix}wording.{language}.", where)
        processes[name] = ProcessSettings(
            alerts=_lifecycle(_table(table, "alerts", where), f"{prefix}alerts.", where),
            wording={language: dict(texts) for language, texts in wording.items()},
            name=name,
            title=_text(table, "title", name.replace("_", " ").capitalize(), prefix, where),
            critical=critical,
            latency_threshold=_number(table, "latency_threshold", None, prefix, where),
        )
    return processes


# -- all settings -----------------------------------------------------------------


def load_settings(
    config_path: Path,
    env: Mapping[str, str],
    sandbox: Mapping[str, str] | None = None,
) -> Settings:
    """Validate everything a run needs.

    ``sandbox`` holds the ERP_* values of a built-in sandbox when erpwatch
    started one because ERP_BASE_URL is unset.
    """
    where = str(config_path)
    data = load_config_file(config_path)
    _reject_unknown(
        data,
        {
            "erpwatch",
            "processes",
            "erp",
            "mail",
            "groups",
            "routing",
            "alerts",
            "payments",
            "punchout",
        },
        "",
        where,
    )
    general = _table(data, "erpwatch", where)
    _reject_unknown(
        general,
        {
            "environment",
            "timezone",
            "monitors",
            "reports",
            "report_language",
            "run_deadline_minutes",
        },
        "erpwatch.",
        where,
    )
    erp_table = _table(data, "erp", where)
    _reject_unknown(erp_table, {"timeout", "connect_timeout"}, "erp.", where)

    root = config_path.parent
    environment = env.get("ERPWATCH_ENVIRONMENT") or _text(
        general, "environment", "sandbox", "erpwatch.", where
    )
    if environment not in ENVIRONMENTS:
        from_env = bool(env.get("ERPWATCH_ENVIRONMENT"))
        raise ConfigError(
            "ERPWATCH_ENVIRONMENT" if from_env else "erpwatch.environment",
            f"must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}",
            WHERE_ENV if from_env else where,
        )
    report_language = _text(general, "report_language", "en", "erpwatch.", where)
    if report_language not in LANGUAGES:
        raise ConfigError(
            "erpwatch.report_language",
            f"must be one of {', '.join(LANGUAGES)}, not {report_language!r}",
            where,
        )
    timezone = _text(general, "timezone", "Europe/Brussels", "erpwatch.", where)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "erpwatch.timezone", f"unknown time zone {timezone!r}, e.g. 'Europe/Brussels'", where
        ) from None

    timeout = _number(erp_table, "timeout", 30.0, "erp.", where)
    connect_timeout = _number(erp_table, "connect_timeout", 5.0, "erp.", where)
    assert timeout is not None
    assert connect_timeout is not None
    reports_dir = Path(
        env.get("ERPWATCH_REPORTS") or _text(general, "reports", "reports", "erpwatch.", where)
    )
    settings = Settings(
        config_path=config_path,
        root=root,
        environment=environment,
        timezone=timezone,
        monitors_dir=(root / _text(general, "monitors", "monitors", "erpwatch.", where)).resolve(),
        reports_dir=reports_dir if reports_dir.is_absolute() else root / reports_dir,
        processes=_processes(data, where),
        report_language=report_language,
        erp_timeout=timeout,
        erp_connect_timeout=connect_timeout,
        run_deadline=run_deadline_of(general, env, where),
        env=dict(env),
    )
    mail = mail_settings(data, settings.processes, env, where)
    dry_run = env.get("ERPWATCH_DRY_RUN", "").lower() in ("1", "true", "yes")
    if dry_run:
        mail = dataclasses.replace(mail, smtp=None)
    only = tuple(p.strip() for p in env.get("ERPWATCH_PROCESSES", "").split(",") if p.strip())
    unknown = [p for p in only if settings.processes and p not in settings.processes]
    if unknown:
        known = ", ".join(sorted(settings.processes))
        raise ConfigError(
            "ERPWATCH_PROCESSES",
            f"unknown process {unknown[0]!r}; declared: {known}",
            "environment, .env or --erpwatch-processes",
        )
    alerts, lifecycle_defaults = alert_settings(
        data, root, settings.reports_dir, timezone, env, where
    )
    erp = erp_settings(settings, sandbox)
    payments = payment_settings(data, env, sandbox, where)
    punchout, oci = punchout_settings(data, env, sandbox, where)
    # The payment provider and the shop are called with the ERP's time-outs.
    if payments is not None:
        payments = dataclasses.replace(payments, timeout=timeout, connect_timeout=connect_timeout)
    if punchout is not None:
        punchout = dataclasses.replace(punchout, timeout=timeout, connect_timeout=connect_timeout)
    if oci is not None:
        oci = dataclasses.replace(oci, timeout=timeout, connect_timeout=connect_timeout)
    tryton = tryton_settings(env, timeout, connect_timeout)
    return Settings(
        **{
            **settings.__dict__,
            "payments": payments,
            "dry_run": dry_run,
            "only_processes": only,
            "punchout": punchout,
            "oci": oci,
            "erp": erp,
            "tryton": tryton,
            "mail": mail,
            "alerts": alerts,
            "lifecycle": lifecycle_defaults,
        }
    )


# -- the folders a run writes ---------------------------------------------------


def prepare_folders(settings: Settings, summary_path: Path | None = None) -> None:
    """Create the folders a run writes to and prove they take a file, before any
    monitor runs: a run whose results cannot be written must not run at all, and
    a path that is a file or read-only is a setting to fix, not a crash at the end."""
    from_env = bool(settings.env.get("ERPWATCH_REPORTS"))
    folders = [
        (
            settings.reports_dir,
            "ERPWATCH_REPORTS" if from_env else "erpwatch.reports",
            WHERE_ENV if from_env else str(settings.config_path),
        )
    ]
    if settings.alerts is not None:
        from_env = bool(settings.env.get("ERPWATCH_STATE"))
        folders.append(
            (
                settings.alerts.state_file.parent,
                "ERPWATCH_STATE" if from_env else "alerts.state_file",
                WHERE_ENV if from_env else str(settings.config_path),
            )
        )
    if summary_path is not None:
        folders.append((summary_path.parent, "--erpwatch-summary", "command line"))
    for folder, key, where in folders:
        check_writable_folder(folder, key, where)


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


RUN_DEADLINE = Span("minutes", 24 * 60.0)


def run_deadline_of(general: Mapping[str, Any], env: Mapping[str, str], where: str) -> float:
    """The whole-run deadline in seconds: ERPWATCH_RUN_DEADLINE_MINUTES over
    ``[erpwatch] run_deadline_minutes``, default 20; finite, at most a day."""
    minutes = _number(general, "run_deadline_minutes", 20.0, "erpwatch.", where, span=RUN_DEADLINE)
    assert minutes is not None  # a default was given
    return env_number(env, "ERPWATCH_RUN_DEADLINE_MINUTES", minutes, RUN_DEADLINE) * 60


# -- mail: groups, routing, SMTP -------------------------------------------------

_ADDRESS = re.compile(r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\"]+$")
_SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def check_address(value: str, key: str, where: str) -> str:
    """An address as people write it (``Name <a@b.example>`` or ``a@b.example``), checked."""
    _, address = parseaddr(value)
    if not address or not _ADDRESS.match(address) or "@" in value.replace(address, "", 1):
        raise ConfigError(key, f"{value!r} is not a valid e-mail address", where)
    return value.strip()


def _group(key: str, table: Any, env: Mapping[str, str], where: str) -> Group:
    prefix = f"groups.{key}."
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        raise ConfigError(f"groups.{key}", "group names are lower-case words (a-z, 0-9, _)", where)
    if not isinstance(table, dict):
        raise ConfigError(f"groups.{key}", "must be a table with addresses and a language", where)
    _reject_unknown(table, {"name", "language", "addresses", "addresses_env"}, prefix, where)
    language = table.get("language", "nl")
    if language not in LANGUAGES:
        raise ConfigError(
            f"{prefix}language",
            f"{language!r} is not available; choose {', '.join(LANGUAGES)}",
            where,
        )
    literal = table.get("addresses", [])
    if not isinstance(literal, list) or not all(isinstance(a, str) for a in literal):
        raise ConfigError(f"{prefix}addresses", "must be a list of e-mail addresses", where)
    addresses: list[str] = [check_address(a, f"{prefix}addresses", where) for a in literal]
    variable = table.get("addresses_env")
    if variable is not None:
        if not isinstance(variable, str) or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", variable):
            raise ConfigError(
                f"{prefix}addresses_env",
                f"must name an environment variable, not {variable!r}",
                where,
            )
        from_env = [a.strip() for a in env.get(variable, "").split(",") if a.strip()]
        if from_env:
            addresses = [check_address(a, variable, "environment or .env") for a in from_env]
    if not addresses:
        hint = f" or set {variable}" if variable else ""
        raise ConfigError(f"groups.{key}", f"has no addresses; add addresses{hint}", where)
    return Group(
        key=key,
        name=_text(table, "name", key.replace("_", " "), prefix, where),
        language=language,
        addresses=tuple(addresses),
    )


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    where = "environment or .env"
    host = env.get("SMTP_HOST", "")
    if not host:
        stray = [
            n
            for n in ("SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_SECURITY")
            if env.get(n)
        ]
        if stray:
            raise ConfigError(
                "SMTP_HOST",
                f"is not set but {', '.join(stray)} is; set SMTP_HOST to send mail",
                where,
            )
        return None
    security = env.get("SMTP_SECURITY", "starttls").lower()
    if security not in _SECURITY_PORTS:
        raise ConfigError(
            "SMTP_SECURITY", f"must be starttls, tls or none, not {security!r}", where
        )
    port = int(
        env_number(env, "SMTP_PORT", _SECURITY_PORTS[security], Span("port", 65535.0, whole=True))
    )
    username, password = env.get("SMTP_USERNAME") or None, env.get("SMTP_PASSWORD") or None
    if username and not password:
        raise ConfigError(
            "SMTP_PASSWORD", "is not set; it is needed because SMTP_USERNAME is set", where
        )
    if password and not username:
        raise ConfigError(
            "SMTP_USERNAME", "is not set; it is needed because SMTP_PASSWORD is set", where
        )
    timeout = env_number(env, "SMTP_TIMEOUT", 30.0, Span("seconds", 600.0))
    ca_file = env.get("SMTP_CA_FILE") or None
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigError("SMTP_CA_FILE", f"no file at {ca_file}", where)
    return SmtpSettings(host, port, security, username, password, timeout, ca_file)


def mail_settings(
    data: Mapping[str, Any],
    processes: Mapping[str, ProcessSettings],
    env: Mapping[str, str],
    where: str,
) -> MailSettings:
    mail = _table(data, "mail", where)
    _reject_unknown(
        mail,
        {"from", "reply_to", "maintainers", "attach_report_max_kb", "report_url"},
        "mail.",
        where,
    )
    groups = {
        key: _group(key, table, env, where) for key, table in _table(data, "groups", where).items()
    }
    routing: dict[str, tuple[str, ...]] = {}
    known_groups = ", ".join(sorted(groups)) or "none defined"
    for process, targets in _table(data, "routing", where).items():
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
    maintainers = mail.get("maintainers", "maintainers")
    if "maintainers" in mail and maintainers not in groups:
        raise ConfigError(
            "mail.maintainers", f"unknown group {maintainers!r}; groups: {known_groups}", where
        )
    smtp = _smtp(env)
    if env.get("MAIL_FROM"):
        sender = check_address(env["MAIL_FROM"], "MAIL_FROM", "environment or .env")
    elif "from" in mail:
        sender = check_address(_text(mail, "from", "", "mail.", where), "mail.from", where)
    elif smtp is not None:
        raise ConfigError(
            "MAIL_FROM", "is not set; it is needed because SMTP_HOST is set", WHERE_ENV
        )
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
    max_kb = _number(mail, "attach_report_max_kb", 5120, "mail.", where, unit="kilobytes")
    report_url = mail.get("report_url") or None
    return MailSettings(
        sender=sender,
        reply_to=reply_to,
        smtp=smtp,
        groups=groups,
        routing=routing,
        maintainers=maintainers if maintainers in groups else None,
        attach_report_max_bytes=int((max_kb or 0) * 1024),
        report_url=str(report_url) if report_url else None,
    )


_MOLLIE_KEY = re.compile(r"^(test|live)_\w+$")


def payment_settings(
    data: Mapping[str, Any], env: Mapping[str, str], sandbox: Mapping[str, str] | None, where: str
) -> PaymentSettings | None:
    """None when no payment provider is configured and no sandbox stands in."""
    table = _table(data, "payments", where)
    _reject_unknown(
        table,
        {"sync_timeout", "grace_period_minutes", "lookback"}
        | {"metadata_keys", "metadata_text_is_order", "lookup_calls", "webhook_ok_statuses"},
        "payments.",
        where,
    )
    sync_timeout = _number(table, "sync_timeout", 60.0, "payments.", where) or 60.0
    grace = _number(table, "grace_period_minutes", 15.0, "payments.", where, unit="minutes") or 15.0
    lookback = _whole(
        table, "lookback", 250, "payments.", where, Span("payments", 10_000.0, 1.0, True, True)
    )
    keys = table.get("metadata_keys", list(DEFAULT_METADATA_KEYS))
    if not isinstance(keys, list) or not all(isinstance(k, str) and k.strip() for k in keys):
        raise ConfigError(
            "payments.metadata_keys",
            f'must be a list of metadata keys, e.g. ["order_id"], not {keys!r}',
            where,
        )
    text_is_order = table.get("metadata_text_is_order", False)
    if not isinstance(text_is_order, bool):
        raise ConfigError(
            "payments.metadata_text_is_order",
            f"must be true or false, not {text_is_order!r}",
            where,
        )
    lookup_calls = _whole(
        table, "lookup_calls", 50, "payments.", where, Span("calls", 10_000.0, 0.0, True, True)
    )
    ok_statuses = table.get("webhook_ok_statuses", [])
    if not isinstance(ok_statuses, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and 200 <= s < 500 for s in ok_statuses
    ):
        raise ConfigError(
            "payments.webhook_ok_statuses",
            f"must be a list of HTTP statuses below 500, e.g. [400, 404], not {ok_statuses!r}",
            where,
        )
    from_sandbox = not env.get("PSP_BASE_URL") and sandbox is not None and "PSP_BASE_URL" in sandbox
    source = sandbox if from_sandbox and sandbox is not None else env
    base_url = source.get("PSP_BASE_URL", "")
    where_env = "environment or .env"
    if not base_url:
        if env.get("PSP_API_KEY") and sandbox is None:
            raise ConfigError(
                "PSP_BASE_URL",
                "is not set but PSP_API_KEY is; set it to https://api.mollie.com",
                where_env,
            )
        return None
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("PSP_BASE_URL", f"must be an http(s) URL, not {base_url!r}", where_env)
    if parts.path.rstrip("/").endswith("/v2"):
        raise ConfigError(
            "PSP_BASE_URL",
            "must not end in /v2: erpwatch adds the version, as Mollie's client does",
            where_env,
        )
    api_key = source.get("PSP_API_KEY", "")
    if not api_key:
        raise ConfigError(
            "PSP_API_KEY", "is not set; it is needed because PSP_BASE_URL is set", where_env
        )
    if not _MOLLIE_KEY.match(api_key):
        raise ConfigError(
            "PSP_API_KEY", "must look like test_… or live_… (a Mollie API key)", where_env
        )
    webhook = source.get("PAYMENT_WEBHOOK_URL") or None
    if webhook and urlsplit(webhook).scheme not in ("http", "https"):
        raise ConfigError(
            "PAYMENT_WEBHOOK_URL", f"must be an http(s) URL, not {webhook!r}", where_env
        )
    return PaymentSettings(
        base_url=base_url.rstrip("/"),
        api_key=api_key,
        webhook_url=webhook,
        sync_timeout=sync_timeout,
        grace_minutes=grace,
        lookback=lookback,
        sandbox=from_sandbox,
        metadata_keys=tuple(k.strip() for k in keys),
        metadata_text_is_order=text_is_order,
        lookup_calls=lookup_calls,
        webhook_ok_statuses=frozenset(ok_statuses),
    )


def _party(
    env: Mapping[str, str],
    sandbox: Mapping[str, str] | None,
    names: tuple[str, ...],
    urls: tuple[str, ...],
) -> dict[str, str] | None:
    """A party's variables: all from the environment, or all from the sandbox when its
    first variable is unset; None when neither. A half-configured party is an error."""
    where = "environment or .env"
    given = [name for name in names if env.get(name)]
    if not given:
        return {name: sandbox[name] for name in names} if sandbox and names[0] in sandbox else None
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise ConfigError(missing[0], f"is not set; it is needed because {given[0]} is set", where)
    for name in urls:
        if urlsplit(env[name]).scheme not in ("http", "https") or not urlsplit(env[name]).hostname:
            raise ConfigError(name, f"must be an http(s) URL, not {env[name]!r}", where)
    return {name: env[name] for name in names}


_COUNTRY = re.compile(r"^[A-Z]{2}$")
_UNIT = re.compile(r"^[0-9A-Za-z]{1,3}$")
_ADDRESS_KEYS = {f.name for f in dataclasses.fields(PostalAddress)}


def _address(
    table: Mapping[str, Any], key: str, default: PostalAddress, where: str
) -> PostalAddress:
    prefix = f"punchout.cxml.{key}."
    given = table.get(key)
    if given is None:
        return default
    if not isinstance(given, dict):
        raise ConfigError(f"punchout.cxml.{key}", "must be a table of address fields", where)
    _reject_unknown(given, _ADDRESS_KEYS, prefix, where)
    values: dict[str, str] = {}
    for name in _ADDRESS_KEYS:
        value = given.get(name, "")
        if not isinstance(value, str):
            raise ConfigError(f"{prefix}{name}", f"must be a text, not {value!r}", where)
        values[name] = value.strip()
    for name in ("name", "street", "city", "postal_code", "country_code", "country"):
        if not values[name]:
            raise ConfigError(f"{prefix}{name}", "is not set; a supplier needs it to ship", where)
    if not _COUNTRY.match(values["country_code"]):
        raise ConfigError(
            f"{prefix}country_code",
            f"must be an ISO 3166 country code such as BE, not {values['country_code']!r}",
            where,
        )
    if values["email"]:
        check_address(values["email"], f"{prefix}email", where)
    return PostalAddress(**values)


def _request_spec(table: Mapping[str, Any], key: str, where: str) -> str:
    """'[GET|POST] URL', as [punchout.oci] writes a step the buyer's browser takes."""
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"punchout.oci.{key}", f"must be a text, not {value!r}", where)
    method, _, url = value.strip().rpartition(" ")
    if value.strip() and (method.strip().upper() not in ("", "GET", "POST") or not url):
        raise ConfigError(
            f"punchout.oci.{key}",
            f"must be 'GET URL', 'POST URL' or a URL, e.g. 'POST /cart/add?sku={{item}}', not {value!r}",
            where,
        )
    return value.strip()


def _cxml_document(table: Mapping[str, Any], env: Mapping[str, str], where: str) -> dict[str, Any]:
    """[punchout.cxml]: what the documents carry besides credentials."""
    prefix = "punchout.cxml."
    _reject_unknown(
        table,
        {"deployment_mode", "user_agent", "currency", "user_email", "auxiliary_id", "ship_to",
         "bill_to"},
        prefix,
        where,
    )  # fmt: skip
    mode_key = "PUNCHOUT_DEPLOYMENT_MODE" if env.get("PUNCHOUT_DEPLOYMENT_MODE") else None
    mode = env.get("PUNCHOUT_DEPLOYMENT_MODE") or _text(
        table, "deployment_mode", "production", prefix, where
    )
    if mode not in ("production", "test"):
        raise ConfigError(
            mode_key or f"{prefix}deployment_mode",
            f"must be production or test (as the shop documents it), not {mode!r}",
            "environment or .env" if mode_key else where,
        )
    currency = _text(table, "currency", "EUR", prefix, where)
    if not re.match(r"^[A-Z]{3}$", currency):
        raise ConfigError(f"{prefix}currency", "must be an ISO 4217 code such as EUR", where)
    user_email = table.get("user_email", "")
    if not isinstance(user_email, str):
        raise ConfigError(f"{prefix}user_email", f"must be a text, not {user_email!r}", where)
    if user_email.strip():
        check_address(user_email.strip(), f"{prefix}user_email", where)
    auxiliary_id = table.get("auxiliary_id", "")
    if not isinstance(auxiliary_id, str):
        raise ConfigError(f"{prefix}auxiliary_id", f"must be a text, not {auxiliary_id!r}", where)
    ship_to = _address(table, "ship_to", DEFAULT_SHIP_TO, where)
    return {
        "deployment_mode": mode,
        "user_agent": _text(table, "user_agent", "erpwatch punchout monitor", prefix, where),
        "currency": currency,
        "user_email": user_email.strip(),
        "auxiliary_id": auxiliary_id.strip(),
        "ship_to": ship_to,
        "bill_to": _address(table, "bill_to", ship_to, where),
    }


def _oci_browsing(table: Mapping[str, Any], env: Mapping[str, str], where: str) -> dict[str, Any]:
    """[punchout.oci]: how erpwatch calls the catalogue and reaches its transfer."""
    prefix = "punchout.oci."
    _reject_unknown(
        table,
        {"method", "username_field", "password_field", "hook_field", "parameters", "item",
         "quantity", "add_to_basket", "transfer_url", "transfer_form", "units"},
        prefix,
        where,
    )  # fmt: skip
    method = _text(table, "method", "GET", prefix, where).upper()
    if method not in ("GET", "POST"):
        raise ConfigError(f"{prefix}method", f"must be GET or POST, not {method!r}", where)
    parameters = table.get("parameters", {})
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        raise ConfigError(
            f"{prefix}parameters", 'must be a table of texts, e.g. SERVICE = "SAP"', where
        )
    quantity = _whole(table, "quantity", 1, prefix, where, Span("items", 1000.0, 1.0, True, True))
    transfer_form = table.get("transfer_form", "")
    if not isinstance(transfer_form, str):
        raise ConfigError(
            f"{prefix}transfer_form", f"must be an XPath text, not {transfer_form!r}", where
        )
    if transfer_form.strip():
        from lxml import etree  # only when set: lxml is heavy for a run without OCI

        try:
            etree.XPath(transfer_form)
        except etree.XPathSyntaxError:
            raise ConfigError(
                f"{prefix}transfer_form",
                f"is not a valid XPath, e.g. //form[@id='oci-transfer'], not {transfer_form!r}",
                where,
            ) from None
    units = table.get("units", [])
    if not isinstance(units, list) or not all(isinstance(u, str) and _UNIT.match(u) for u in units):
        raise ConfigError(
            f"{prefix}units", "must be a list of unit codes of 1 to 3 letters or digits", where
        )
    return {
        "method": method,
        "username_field": _text(table, "username_field", "USERNAME", prefix, where),
        "password_field": _text(table, "password_field", "PASSWORD", prefix, where),
        "hook_field": _text(table, "hook_field", "HOOK_URL", prefix, where),
        "parameters": dict(parameters),
        "item": _text(table, "item", env.get("ERP_TEST_ITEM") or DEFAULT_TEST_ITEM, prefix, where),
        "quantity": quantity,
        "add_to_basket": _request_spec(table, "add_to_basket", where),
        "transfer_url": _request_spec(table, "transfer_url", where),
        "transfer_form": transfer_form.strip(),
        "units": frozenset(u.upper() for u in units),
    }


def punchout_settings(
    data: Mapping[str, Any], env: Mapping[str, str], sandbox: Mapping[str, str] | None, where: str
) -> tuple[PunchoutSettings | None, OciSettings | None]:
    table = _table(data, "punchout", where)
    _reject_unknown(table, {"order_timeout", "cxml", "oci"}, "punchout.", where)
    timeout = _number(table, "order_timeout", 60.0, "punchout.", where) or 60.0
    document = _cxml_document(_table(table, "cxml", where), env, where)
    browsing = _oci_browsing(_table(table, "oci", where), env, where)
    names = ("PUNCHOUT_SETUP_URL", "PUNCHOUT_ORDER_URL", "PUNCHOUT_FROM_DOMAIN", "PUNCHOUT_FROM_IDENTITY",
             "PUNCHOUT_TO_IDENTITY", "PUNCHOUT_SHARED_SECRET")  # fmt: skip
    values = _party(env, sandbox, names, urls=names[:2])
    punchout = None
    if values:
        source = env if env.get(names[0]) else (sandbox or {})
        sender = (
            source.get("PUNCHOUT_SENDER_DOMAIN", ""),
            source.get("PUNCHOUT_SENDER_IDENTITY", ""),
        )
        if any(sender) and not all(sender):
            given, missing = (
                ("PUNCHOUT_SENDER_DOMAIN", "PUNCHOUT_SENDER_IDENTITY")
                if sender[0]
                else ("PUNCHOUT_SENDER_IDENTITY", "PUNCHOUT_SENDER_DOMAIN")
            )
            raise ConfigError(
                missing, f"is not set; it is needed because {given} is set", "environment or .env"
            )
        punchout = PunchoutSettings(
            setup_url=values["PUNCHOUT_SETUP_URL"],
            order_url=values["PUNCHOUT_ORDER_URL"],
            from_domain=values["PUNCHOUT_FROM_DOMAIN"],
            from_identity=values["PUNCHOUT_FROM_IDENTITY"],
            # Most buyers name both parties in one domain (NetworkID, DUNS).
            to_domain=source.get("PUNCHOUT_TO_DOMAIN") or values["PUNCHOUT_FROM_DOMAIN"],
            to_identity=values["PUNCHOUT_TO_IDENTITY"],
            # A buyer that sends for itself is its own Sender; a network is not.
            sender_domain=sender[0] or values["PUNCHOUT_FROM_DOMAIN"],
            sender_identity=sender[1] or values["PUNCHOUT_FROM_IDENTITY"],
            shared_secret=values["PUNCHOUT_SHARED_SECRET"],
            order_timeout=timeout,
            **document,
        )
    oci_names = ("OCI_URL", "OCI_USERNAME", "OCI_PASSWORD")
    oci_values = _party(env, sandbox, oci_names, urls=oci_names[:1])
    oci = (
        OciSettings(
            oci_values["OCI_URL"],
            oci_values["OCI_USERNAME"],
            oci_values["OCI_PASSWORD"],
            **browsing,
        )
        if oci_values
        else None
    )
    return punchout, oci


def tryton_settings(
    env: Mapping[str, str], timeout: float, connect_timeout: float
) -> TrytonSettings | None:
    """None when no Tryton is configured (TRYTON_URL unset)."""
    names = ("TRYTON_URL", "TRYTON_DATABASE", "TRYTON_USER", "TRYTON_PASSWORD")
    values = _party(env, None, names, urls=names[:1])
    if values is None:
        return None
    url = values["TRYTON_URL"]
    if urlsplit(url).path.rstrip("/").endswith("/rpc"):
        raise ConfigError(
            "TRYTON_URL",
            f"must be the server's address without /<database>/rpc/ (e.g. http://erp.example:8000/), not {url!r}",
            "environment or .env",
        )
    return TrytonSettings(
        url=url.rstrip("/") + "/",
        database=values["TRYTON_DATABASE"],
        user=values["TRYTON_USER"],
        password=values["TRYTON_PASSWORD"],
        timeout=timeout,
        connect_timeout=connect_timeout,
    )


def wants_sandbox(env: Mapping[str, str]) -> bool:
    """True when no ERP is configured, so the built-in sandbox stands in."""
    return not env.get("ERP_BASE_URL")


def erp_settings(settings: Settings, sandbox: Mapping[str, str] | None) -> ErpSettings | None:
    env = settings.env
    where = "environment or .env"
    if wants_sandbox(env):
        stray = [name for name in ERP_VARIABLES if env.get(name)]
        if stray:
            raise ConfigError(
                "ERP_BASE_URL",
                f"is not set but {', '.join(stray)} is; set ERP_BASE_URL to use your ERP, "
                "or remove the others to use the built-in sandbox",
                where,
            )
        if sandbox is None:
            return None
        env = {**env, **sandbox}
    values = {}
    for name in ("ERP_BASE_URL", "ERP_TOKEN_URL", "ERP_CLIENT_ID", "ERP_CLIENT_SECRET"):
        value = env.get(name, "")
        if not value:
            raise ConfigError(name, "is not set; it is needed because ERP_BASE_URL is set", where)
        values[name] = value
    for name in ("ERP_BASE_URL", "ERP_TOKEN_URL"):
        parts = urlsplit(values[name])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(name, f"must be an http(s) URL, not {values[name]!r}", where)
    company_id = env.get("ERP_COMPANY_ID") or None
    if company_id is not None and not _GUID.match(company_id):
        raise ConfigError(
            "ERP_COMPANY_ID",
            f"must be a company GUID like 5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21, not {company_id!r}",
            where,
        )
    return ErpSettings(
        base_url=values["ERP_BASE_URL"].rstrip("/"),
        token_url=values["ERP_TOKEN_URL"],
        client_id=values["ERP_CLIENT_ID"],
        client_secret=values["ERP_CLIENT_SECRET"],
        scope=env.get("ERP_SCOPE") or DEFAULT_SCOPE,
        company_id=company_id,
        test_item=env.get("ERP_TEST_ITEM") or DEFAULT_TEST_ITEM,
        timeout=settings.erp_timeout,
        connect_timeout=settings.erp_connect_timeout,
        sandbox=sandbox is not None and wants_sandbox(settings.env),
    )

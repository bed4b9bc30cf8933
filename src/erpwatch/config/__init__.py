"""Settings: secrets and endpoints from the environment and `.env`, the rest
from the committed `erpwatch.toml`. Validated once, at start-up, into frozen
objects; anything wrong becomes a `ConfigError` naming the key to fix and
where it was read (the file, or the environment).

One room per concern:

- ``_sources``: discovery of the config file, reading it, the environment and `.env`;
- ``_schema``: the checks every value goes through (tables, texts, numbers) and the error;
- one builder per subsystem: ``_erp``, ``_tryton``, ``_payments``, ``_punchout``
  (cXML and OCI), ``_mail`` (mail, groups, routing, SMTP), ``_alerts``, ``_processes``;
- ``_settings``: [erpwatch], the run's own variables, and `Settings`, built once.
"""

from __future__ import annotations

from ._alerts import AlertRules, AlertSettings, Lifecycle, MaintenanceWindow, alert_settings
from ._checks import UrlCheck
from ._erp import (
    DEFAULT_SCOPE,
    DEFAULT_TEST_ITEM,
    ERP_VARIABLES,
    ErpSettings,
    Timeouts,
    erp_settings,
    wants_sandbox,
)
from ._mail import Group, MailSettings, SmtpSettings, Webhook, WebhookKind, mail_settings
from ._payments import DEFAULT_METADATA_KEYS, PaymentSettings, payment_settings
from ._processes import ProcessSettings
from ._punchout import (
    DEFAULT_SHIP_TO,
    OciSettings,
    PostalAddress,
    PunchoutSettings,
    punchout_settings,
)
from ._schema import (
    LANGUAGES,
    SPANS,
    WHERE_ENV,
    ConfigError,
    Span,
    check_address,
    checked_number,
    env_number,
)
from ._settings import (
    ENVIRONMENTS,
    RUN_DEADLINE,
    SECRET_VARIABLES,
    Settings,
    check_writable_folder,
    load_settings,
    prepare_folders,
    run_deadline_of,
    with_sandbox,
)
from ._sources import (
    CONFIG_FILE_NAME,
    SETTING_NAMES,
    dotenv_text,
    find_config,
    load_config_file,
    parse_dotenv,
    read_environment,
)
from ._tryton import TrytonSettings, tryton_settings

__all__ = [
    "CONFIG_FILE_NAME",
    "DEFAULT_METADATA_KEYS",
    "DEFAULT_SCOPE",
    "DEFAULT_SHIP_TO",
    "DEFAULT_TEST_ITEM",
    "ENVIRONMENTS",
    "ERP_VARIABLES",
    "LANGUAGES",
    "RUN_DEADLINE",
    "SECRET_VARIABLES",
    "SETTING_NAMES",
    "SPANS",
    "WHERE_ENV",
    "AlertRules",
    "AlertSettings",
    "ConfigError",
    "ErpSettings",
    "Group",
    "Lifecycle",
    "MailSettings",
    "MaintenanceWindow",
    "OciSettings",
    "PaymentSettings",
    "PostalAddress",
    "ProcessSettings",
    "PunchoutSettings",
    "Settings",
    "SmtpSettings",
    "Span",
    "Timeouts",
    "TrytonSettings",
    "UrlCheck",
    "Webhook",
    "WebhookKind",
    "alert_settings",
    "check_address",
    "check_writable_folder",
    "checked_number",
    "dotenv_text",
    "env_number",
    "erp_settings",
    "find_config",
    "load_config_file",
    "load_settings",
    "mail_settings",
    "parse_dotenv",
    "payment_settings",
    "prepare_folders",
    "punchout_settings",
    "read_environment",
    "run_deadline_of",
    "tryton_settings",
    "wants_sandbox",
    "with_sandbox",
]

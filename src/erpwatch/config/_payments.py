"""[payments] and the PSP_* variables: the payment provider (Mollie API v2)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._erp import DEFAULT_TIMEOUTS, Timeouts
from ._schema import ConfigError, Span, env_error, flag, number, reject_unknown, table, whole
from ._sources import needs

# What the big shop plugins put in a Mollie payment's metadata: WooCommerce's
# sends order_id (and order_number with the Orders API); the Mollie docs' own
# example uses order_id. The customer-facing number wins when both are there.
DEFAULT_METADATA_KEYS = ("order_number", "order_id")
_MOLLIE_KEY = r"^(test|live)_\w+$"


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


def payment_settings(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    sandbox: Mapping[str, str] | None,
    where: str,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> PaymentSettings | None:
    """None when no payment provider is configured and no sandbox stands in."""
    values = table(data, "payments", where)
    prefix = "payments."
    reject_unknown(
        values,
        {"sync_timeout", "grace_period_minutes", "lookback"}
        | {"metadata_keys", "metadata_text_is_order", "lookup_calls", "webhook_ok_statuses"},
        prefix,
        where,
    )
    sync_timeout = number(values, "sync_timeout", 60.0, prefix, where)
    grace = number(values, "grace_period_minutes", 15.0, prefix, where, unit="minutes")
    lookback = whole(
        values, "lookback", 250, prefix, where, Span("payments", 10_000.0, 1.0, True, True)
    )
    keys = values.get("metadata_keys", list(DEFAULT_METADATA_KEYS))
    if not isinstance(keys, list) or not all(isinstance(k, str) and k.strip() for k in keys):
        raise ConfigError(
            "payments.metadata_keys",
            f'must be a list of metadata keys, e.g. ["order_id"], not {keys!r}',
            where,
        )
    text_is_order = flag(values, "metadata_text_is_order", False, prefix, where)
    lookup_calls = whole(
        values, "lookup_calls", 50, prefix, where, Span("calls", 10_000.0, 0.0, True, True)
    )
    ok_statuses = values.get("webhook_ok_statuses", [])
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
    if not base_url:
        if env.get("PSP_API_KEY") and sandbox is None:
            raise env_error(
                "PSP_BASE_URL", "is not set but PSP_API_KEY is; set it to https://api.mollie.com"
            )
        return None
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise env_error("PSP_BASE_URL", f"must be an http(s) URL, not {base_url!r}")
    if parts.path.rstrip("/").endswith("/v2"):
        raise env_error(
            "PSP_BASE_URL",
            "must not end in /v2: erpwatch adds the version, as Mollie's client does",
        )
    api_key = source.get("PSP_API_KEY", "")
    if not api_key:
        raise needs("PSP_API_KEY", "PSP_BASE_URL")
    if not re.match(_MOLLIE_KEY, api_key):
        raise env_error("PSP_API_KEY", "must look like test_… or live_… (a Mollie API key)")
    webhook = source.get("PAYMENT_WEBHOOK_URL") or None
    if webhook and urlsplit(webhook).scheme not in ("http", "https"):
        raise env_error("PAYMENT_WEBHOOK_URL", f"must be an http(s) URL, not {webhook!r}")
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
        timeout=timeouts.timeout,
        connect_timeout=timeouts.connect_timeout,
    )

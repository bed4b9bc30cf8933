"""Ways in for a partner's package: an ERP dialect, a notification channel and a
party client, each from another installed package, without editing erpwatch.

- ``erpwatch.dialects`` entry points name a decoder, ``(Answer) -> ErpError | None``:
  it reads a party's error from an answer, for the diagnosis and for the
  clients' failures alike. Installed dialects are tried after erpwatch's own
  and before the generic JSON, HTML and text readings.
- ``erpwatch.channels`` entry points name a factory, ``(Settings) -> Channel | None``
  (None: the channel is installed but not configured). A channel gets every
  digest the mail gets, as a `Notice`, after the mail went to the outbox.
- A party client is a pytest fixture: a package that registers a ``pytest11``
  entry point (as any pytest plugin does) gives monitors its fixtures. Built on
  `send`, `bounded_session` and a `CallFailed` subclass of its own, its calls are
  bounded, recorded, diagnosed and fail as erpwatch's own clients' do.

A package declares them in its pyproject.toml::

    [project.entry-points."erpwatch.dialects"]
    acme = "acme_erpwatch:decode"
    [project.entry-points."erpwatch.channels"]
    acme-json = "acme_erpwatch:channel"

An entry point that cannot be loaded stops a monitoring run at its start with
one line naming the package and the reason (`ExtensionError`), rather than a
diagnosis or an alert failing later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Protocol

from ._calls import CallFailed, answer_failed, bounded_session, send
from ._http import Limits
from ._vocabulary import ErpErrorKind
from .diagnosis.dialects import Answer, Decoder, ErpError

if TYPE_CHECKING:
    from .config import Settings

DIALECTS = "erpwatch.dialects"
CHANNELS = "erpwatch.channels"


class ExtensionError(Exception):
    """An installed extension that erpwatch cannot use; the message says which and why."""


@dataclass(frozen=True)
class Notice:
    """One digest, as a channel gets it: what the mail says, for one recipient group."""

    channel: str
    group: str
    recipients: tuple[str, ...]
    kind: str  # alert, reminder or resolved: the most urgent incident's
    subject: str
    text: str  # the mail's plain-text body
    incidents: tuple[Mapping[str, Any], ...]  # Incident.to_dict() of each incident
    run_id: str
    run_url: str | None


class Channel(Protocol):
    """A way to tell people besides mail. ``send`` raises `ChannelFailed` (or any
    error) when the notice did not get through; the run reports it and goes on."""

    def send(self, notice: Notice) -> None: ...


class ChannelFailed(Exception):
    """A channel could not deliver a notice; the message says why."""


def _load(entry: EntryPoint, group: str) -> Any:
    package = f"package {entry.dist.name} {entry.dist.version}" if entry.dist else "a package"
    try:
        loaded = entry.load()
    except Exception as error:  # a partner's import error must not become a traceback
        raise ExtensionError(
            f"the {group} entry point {entry.name!r} of {package} ({entry.value}) cannot be "
            f"loaded: {type(error).__name__}: {error}; fix or uninstall that package"
        ) from None
    if not callable(loaded):
        raise ExtensionError(
            f"the {group} entry point {entry.name!r} of {package} ({entry.value}) is "
            f"{type(loaded).__name__}, not a function; see erpwatch.extensions"
        )
    return loaded


def _entries(group: str) -> list[EntryPoint]:
    # Sorted by name: the order in which dialects are tried must not depend on
    # the order in which packages were installed.
    return sorted(entry_points(group=group), key=lambda entry: entry.name)


@cache
def installed_dialects() -> tuple[Decoder, ...]:
    """The decoders other packages install, loaded once per process."""
    return tuple(_load(entry, DIALECTS) for entry in _entries(DIALECTS))


@cache
def _channel_factories() -> tuple[tuple[str, Callable[[Settings], Channel | None]], ...]:
    return tuple((entry.name, _load(entry, CHANNELS)) for entry in _entries(CHANNELS))


def installed_channels(settings: Settings) -> list[tuple[str, Channel]]:
    """The channels other packages install that are configured, by name. One that
    fails to set up is kept as a channel that fails every notice, saying why: the
    run reports it beside the mail instead of losing its alerting to it."""
    found: list[tuple[str, Channel]] = []
    for name, factory in _channel_factories():
        try:
            channel = factory(settings)
        except Exception as error:  # a partner's bug, reported per notice
            channel = _Unavailable(f"it could not be set up: {type(error).__name__}: {error}")
        if channel is not None:
            found.append((name, channel))
    return found


class _Unavailable:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def send(self, notice: Notice) -> None:
        raise ChannelFailed(self.reason)


def check_installed() -> None:
    """Load every installed extension now, so a broken one stops the run at its
    start (`ExtensionError`) instead of failing a diagnosis or an alert later."""
    installed_dialects()
    _channel_factories()


__all__ = [
    "CHANNELS",
    "DIALECTS",
    "Answer",
    "CallFailed",
    "Channel",
    "ChannelFailed",
    "Decoder",
    "ErpError",
    "ErpErrorKind",
    "ExtensionError",
    "Limits",
    "Notice",
    "answer_failed",
    "bounded_session",
    "check_installed",
    "installed_channels",
    "installed_dialects",
    "send",
]

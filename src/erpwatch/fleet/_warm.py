"""Imported last by the fleet's fork server, before any client's process is forked
from it: the work every client's run would otherwise repeat for itself (pytest's
own plugins, the mail and report templates compiled, the words of every language
read) is done once, and what it made is frozen so that no client's garbage
collection walks it again (which would also copy its pages into every client)."""

from __future__ import annotations

import contextlib
import gc
import importlib

from ..config import LANGUAGES

# pytest's own plugins, as every session loads them: imported by name, softly (a
# later pytest may split or rename them; then a client imports what it needs).
_PYTEST = ("mark", "main", "runner", "fixtures", "helpconfig", "python", "terminal", "debugging",
           "unittest", "capture", "skipping", "legacypath", "tmpdir", "monkeypatch", "recwarn",
           "pastebin", "assertion", "junitxml", "doctest", "setuponly", "setupplan", "stepwise",
           "unraisableexception", "threadexception", "warnings", "logging", "reports",
           "faulthandler", "subtests")  # fmt: skip
# Plugins an installed package registers in every session.
_ALSO = ("execnet", "dotenv", "pdb", "unittest", "pytest_metadata.plugin",
         "pytest_rerunfailures", "xdist.looponfail", "xdist.remote")  # fmt: skip


def warm() -> None:
    for name in (*(f"_pytest.{plugin}" for plugin in _PYTEST), *_ALSO):
        with contextlib.suppress(ImportError):  # one the installation lacks is not needed
            importlib.import_module(name)
    from .._words import words_of
    from ..notify._compose import _environment
    from ..report._render import environment

    for language in LANGUAGES:
        words_of(language)
    for autoescape in (False, True):
        for template in _environment(autoescape).list_templates():
            _environment(autoescape).get_template(template)
    for template in environment().list_templates():
        environment().get_template(template)
    gc.freeze()


# Warming only saves time: whatever fails here, each client does for itself (and
# reports), rather than the server every client is forked from failing to start.
with contextlib.suppress(Exception):
    warm()

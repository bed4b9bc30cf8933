"""Opt-in status pages: each client's dashboard, and the agency overview, copied
into a folder for GitHub Pages (or any static host) at a path nobody can guess.

A page's path is HMAC-SHA256(ERPWATCH_PAGES_KEY, client folder name), 32 hex
characters: stable from run to run (a link handed out keeps working), and
without the key one client's link says nothing about another's. The paths are
never printed by a run (CI logs are read by more people than the pages'
readers); ``erpwatch fleet --pages-links`` prints them for the agency, locally.

What is published is rewritten, not copied: every link and source that does
not lead to another published page is removed, every element the template marks
``data-private`` (what a client's own mail does not show) is dropped, and every
page says ``noindex``. The site's front page names nobody."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from .._files import write_atomically
from ._clients import Client, FleetError, discover, secrets_of, select
from ._model import ClientEntry, read_entries

KEY = "ERPWATCH_PAGES_KEY"
# 'true' (or empty) publishes every client; a comma-separated list only those.
CHOICE = "ERPWATCH_PAGES"
# Short keys can be found from one published path and its client's name by trying
# keys offline, and with the key every other client's path: 32 characters of a
# random hex or base64 text are far beyond that.
MIN_KEY_LENGTH = 32
# Not a possible folder name (those are [a-z0-9][a-z0-9_-]*), so it never
# collides with a client's path; "" is the one client of a project without clients/.
OVERVIEW = "/agency-overview"
PATH_LENGTH = 32
_PATH = re.compile(f"[0-9a-f]{{{PATH_LENGTH}}}")
ROBOTS = "User-agent: *\nDisallow: /\n"
OFF = ("false", "0", "no", "off")  # ERPWATCH_PAGES values that mean: publish nothing
MAX_PAGE_BYTES = 5_000_000  # a dashboard larger than this is not a dashboard erpwatch drew
FRONT_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Status</title>
</head>
<body>
<p>Nothing to see here. If you were given a link to a status page, use that link.</p>
</body>
</html>
"""
UNAVAILABLE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Status not available</title>
</head>
<body>
<p>This status page is not available at the moment; it comes back with the next run.</p>
</body>
</html>
"""
_KEY_HINT = (
    f"set the secret {KEY} to a random text of at least {MIN_KEY_LENGTH} characters "
    '(python3 -c "import secrets; print(secrets.token_hex(32))")'
)


class PagesError(FleetError):
    """Status pages that cannot be written: ``str()`` is the one line saying what to fix."""


@dataclass(frozen=True)
class Published:
    """What a ``--pages`` run wrote: counts only, never the paths."""

    clients: int
    overview: bool


def add_arguments(
    parser: argparse.ArgumentParser, actions: argparse._MutuallyExclusiveGroup
) -> None:
    parser.add_argument(
        "--pages", metavar="DIR",
        help=f"also write the status pages to DIR for GitHub Pages (needs {KEY}; "
        f"{CHOICE}=a,b publishes only those clients)",
    )  # fmt: skip
    actions.add_argument(
        "--pages-links", action="store_true",
        help=f"print each client's status page path (needs {KEY}), run nothing",
    )  # fmt: skip


def page_path(key: bytes, name: str) -> str:
    """The unguessable, stable folder of ``name``'s page."""
    return hmac.new(key, name.encode("utf-8"), hashlib.sha256).hexdigest()[:PATH_LENGTH]


def key_of(environ: Mapping[str, str]) -> bytes:
    """The key from the environment, or from the CI secrets handed over at once."""
    key = environ.get(KEY) or secrets_of(environ).get(KEY, "")
    if not key.strip():
        raise PagesError(f"--pages: no {KEY}; {_KEY_HINT}")
    if len(key.strip()) < MIN_KEY_LENGTH:
        raise PagesError(f"--pages: {KEY} is too short to keep the pages unguessable; {_KEY_HINT}")
    return key.strip().encode("utf-8")


def chosen(environ: Mapping[str, str], names: list[str]) -> list[str]:
    """The clients whose pages are published: all, or those ERPWATCH_PAGES names."""
    choice = environ.get(CHOICE, "").strip()
    if choice.lower() in OFF:
        return []
    if choice.lower() in ("", "true", "all", "1", "yes"):
        return names
    wanted = [name.strip() for name in choice.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise PagesError(
            f"{CHOICE}: no client {unknown[0]!r}; say 'true' for every client, or name "
            f"some of: {', '.join(n for n in names if n) or '(this project)'}"
        )
    return [name for name in names if name in wanted]


def after_run(
    code: int, reports: Path, site: str | None, environ: Mapping[str, str],
    clients: list[str] | None = None,
) -> int:  # fmt: skip
    """``--pages DIR`` once the overview is written: the run's exit status, or 4 when
    the pages could not be written (the monitors ran and mailed all the same).
    ``clients``: every current client (a page each, "not available" without a result)."""
    if site is None:
        return code
    if environ.get(CHOICE, "").strip().lower() in OFF:
        print(
            f"status pages: off ({CHOICE}={environ[CHOICE].strip()}); nothing published", flush=True
        )
        return code
    try:
        done = publish(reports, Path(site).resolve(), environ, clients)
    except PagesError as error:
        print(f"erpwatch fleet: {error}", file=sys.stderr, flush=True)
        return max(code, 4)
    pages = f"{done.clients} client page{'s' if done.clients != 1 else ''}"
    print(
        f"status pages: {pages}{' and the overview' if done.overview else ''} in {site}",
        flush=True,
    )
    return code


def print_links(root: Path, wanted: str | None, environ: Mapping[str, str]) -> int:
    """``--pages-links``: each published client's path, for the agency to hand out."""
    try:
        key = key_of(environ)
        clients: list[Client] = select(discover(root), wanted)
        names = chosen(environ, [client.name for client in clients])
    except FleetError as error:
        print(f"erpwatch fleet: {error}", file=sys.stderr)
        return 4
    width = max([len("overview"), *(len(c.label) for c in clients)])
    if any(names):
        print(f"{'overview':<{width}}  {page_path(key, OVERVIEW)}/")
    for client in clients:
        if client.name in names:
            print(f"{client.label:<{width}}  {page_path(key, client.name)}/")
    print("(each under the Pages address, e.g. https://<owner>.github.io/<repository>/<path>/)")
    return 0


def publish(
    reports: Path, site: Path, environ: Mapping[str, str], clients: list[str] | None = None
) -> Published:
    """Write the site: a page per chosen client, the overview, a front page naming
    nobody and a robots.txt; nothing else (no report, log, state, mail or fleet.json).
    Every current client (``clients``) gets its page, a run without its result too:
    a link handed out must not break because one run left the client out."""
    key = key_of(environ)
    entries, _ = read_entries(reports, clients)
    names = [entry.client for entry in entries] if clients is None else list(clients)
    if not names:
        raise PagesError(f"--pages: no client results in {reports} to publish")
    names = chosen(environ, names)
    _fresh(site, reports)
    found = {entry.client: entry for entry in entries}
    links = {
        f"{name}/index.html" if name else "index.html": f"../{page_path(key, name)}/"
        for name in names
    }
    for name in names:
        entry = found.get(name)
        page = _client_page(reports, entry) if entry is not None else UNAVAILABLE
        _write(site / page_path(key, name) / "index.html", page)
    overview = reports / "index.html"
    # The overview names every client: published only when every client is, and
    # each of them had a result to show.
    every = set(names) == set(found)
    with_overview = every and any(names) and overview.is_file()
    if with_overview:
        text = _bounded_read(overview)
        _write(site / page_path(key, OVERVIEW) / "index.html", public_copy(text, links))
    _write(site / "index.html", FRONT_PAGE)
    _write(site / "robots.txt", ROBOTS)
    return Published(len(names), with_overview)


def _bounded_read(path: Path) -> str:
    with path.open("rb") as stream:
        data = stream.read(MAX_PAGE_BYTES + 1)
    if len(data) > MAX_PAGE_BYTES:
        raise PagesError(f"--pages: {path} is larger than {MAX_PAGE_BYTES // 1_000_000} MB")
    return data.decode("utf-8", "replace")


def _client_page(reports: Path, entry: ClientEntry) -> str:
    # By the client's folder name (checked when the entry was read), never a path
    # the entry file gives: it may come from another machine.
    source = (reports / entry.client if entry.client else reports) / "index.html"
    if entry.dashboard is None or not source.is_file():
        # A client whose config broke this run has no dashboard: its link still
        # answers, without saying why (that is the agency's business).
        return UNAVAILABLE
    return public_copy(_bounded_read(source), {})


def _fresh(site: Path, reports: Path) -> None:
    """An empty folder for the site. A folder shaped like one this module wrote is
    replaced; any other folder with something in it is refused (``--pages .``
    must not wipe a project). No marker file: nothing but the pages is published."""
    if site == reports or site in reports.parents or reports in site.parents:
        raise PagesError(f"--pages: {site} overlaps the reports folder; give a folder of its own")
    if site.exists():
        if not site.is_dir():
            raise PagesError(f"--pages: {site} is a file; give a folder")
        if not _is_site(site):
            raise PagesError(f"--pages: {site} holds other files; give an empty or new folder")
        shutil.rmtree(site)
    site.mkdir(parents=True)


def _is_site(folder: Path) -> bool:
    for item in folder.iterdir():
        if item.name in ("index.html", "robots.txt") and item.is_file():
            continue
        if not (item.is_dir() and _PATH.fullmatch(item.name)):
            return False
        if {child.name for child in item.iterdir()} - {"index.html"}:
            return False
    return True


def _write(path: Path, text: str) -> None:
    write_atomically(path, text)


# -- the public copy of a page ----------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}  # fmt: skip
# Elements that fetch, run or embed something: never published, whatever they hold.
_DROPPED = {"script", "iframe", "object", "embed", "link", "base", "img", "form", "noscript"}
# Attributes that point somewhere; only an <a href> to another published page stays.
_POINTING = {"href", "src", "srcset", "action", "formaction", "poster", "data", "xlink:href",
             "background", "ping", "manifest"}  # fmt: skip
# html.parser lower-cases attribute names; SVG's own keep their case (browsers
# would put it back, but the published page should read like the original).
_SVG_CASE = {name.lower(): name for name in ("viewBox", "preserveAspectRatio", "gradientUnits",
             "patternUnits", "textLength", "lengthAdjust", "markerWidth", "markerHeight")}  # fmt: skip
_NOINDEX = '<meta name="robots" content="noindex, nofollow">'


def _points_elsewhere(name: str, value: str | None) -> bool:
    """A link, a source, an event handler, or a style that fetches something."""
    if name in _POINTING or name.startswith("on"):
        return True
    return name == "style" and _fetches(value or "")


def _fetches(css: str) -> bool:
    """CSS that could fetch something: url( or @import, or an escape that could spell
    them (erpwatch's own CSS has neither)."""
    text = css.replace(" ", "").lower()
    return "url(" in text or "@import" in text or "\\" in text


def public_copy(page: str, links: Mapping[str, str]) -> str:
    """``page`` as published: links to ``links``' keys become their values, every
    other link becomes plain text, ``data-private`` elements, scripts and embeds are
    gone, comments too, and the head says noindex."""
    parser = _Public(links)
    parser.feed(page)
    parser.close()
    return "".join(parser.out)


class _Public(HTMLParser):
    def __init__(self, links: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.links = links
        self.out: list[str] = []
        self.skipping = 0  # depth inside a dropped element
        self.renamed: list[bool] = []  # per open <a>: written as <span>
        self.raw = False  # inside <style>: its text is CSS, not to be escaped

    def handle_decl(self, decl: str) -> None:
        if not self.skipping:
            self.out.append(f"<!{decl}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        opens = not closed and tag not in _VOID
        if self.skipping:
            self.skipping += opens
            return
        names = {name for name, _ in attrs}
        # A meta robots is replaced by ours; an http-equiv (a refresh) is never published.
        robots = tag == "meta" and (
            dict(attrs).get("name", "") == "robots" or "http-equiv" in names
        )
        if tag in _DROPPED or "data-private" in names or robots:
            self.skipping = int(opens)
            return
        kept = []
        target = None
        for name, value in attrs:
            if tag == "a" and name == "href" and value is not None and value in self.links:
                target = self.links[value]
            elif not _points_elsewhere(name, value):
                kept.append((name, value))
        if tag == "a":
            if target is not None:
                kept.insert(0, ("href", target))
            else:
                tag = "span"
            self.renamed.append(target is None)
        text = "".join(
            f" {_SVG_CASE.get(name, name)}"
            if value is None
            else f' {_SVG_CASE.get(name, name)}="{html.escape(value, quote=True)}"'
            for name, value in kept
        )
        self.out.append(f"<{tag}{text}{' /' if closed else ''}>")
        if tag == "head":
            self.out.append(_NOINDEX)
        self.raw = tag == "style" and not closed

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag not in _VOID:
                self.skipping -= 1
            return
        if tag == "a":
            tag = "span" if (self.renamed.pop() if self.renamed else True) else "a"
        self.raw = False
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.raw:
            # The CSS of erpwatch's own pages fetches nothing; a style that would is dropped.
            if not _fetches(data):
                self.out.append(data)
            return
        self.out.append(html.escape(data, quote=False))

    # Comments, processing instructions and the like say nothing a reader needs.
    def handle_comment(self, data: str) -> None:
        return

    def handle_pi(self, data: str) -> None:
        return

    def unknown_decl(self, data: str) -> None:
        return

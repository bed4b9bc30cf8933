"""Status pages (erpwatch fleet --pages): each client's dashboard and the agency
overview, from a real fleet run against the sandbox, at HMAC paths, with nothing
on them a client's mail would not show and nothing else published."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from erpwatch.fleet._pages import public_copy
from erpwatch.sandbox import parse_fault

from .support import REPO, clean_environment

KEY = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7"
CLIENTS = ("acme", "beta")
ERPWATCH = str(Path(sys.executable).parent / "erpwatch")
SECRET_SETTINGS = ("ERP_CLIENT_SECRET", "PSP_API_KEY", "PUNCHOUT_SHARED_SECRET", "OCI_PASSWORD")


def path_of(name: str) -> str:
    return hmac.new(KEY.encode(), name.encode(), hashlib.sha256).hexdigest()[:32]


def fleet_project(root: Path) -> Path:
    """Two clients (the Dutch example client's config, twice) sharing the monitors."""
    shutil.copytree(REPO / "monitors", root / "monitors", ignore=shutil.ignore_patterns("__py*"))
    shutil.copy(REPO / "conftest.py", root / "conftest.py")
    config = (REPO / "clients" / "brasserie-de-gouden-leeuw" / "erpwatch.toml").read_text()
    for name in CLIENTS:
        (root / "clients" / name).mkdir(parents=True)
        (root / "clients" / name / "erpwatch.toml").write_text(config)
    return root


def fleet(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ERPWATCH, "fleet", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_environment(**env),
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    """A fleet run in CI's manner (secrets as one JSON, a run URL) with a failing
    process at acme (so its dashboard has an incident and mails), then --pages."""
    from erpwatch.sandbox import SandboxApp, start

    root = fleet_project(tmp_path_factory.mktemp("pages"))
    with start(SandboxApp()) as sandbox:
        sandbox.app.add_fault(parse_fault("vat_required:salesOrders"), sandbox.root_url)
        settings = sandbox.settings()
        dotenv = "".join(f"{k}={v}\n" for k, v in settings.items())
        secrets = {"ERPWATCH_PAGES_KEY": KEY, "ERPWATCH_ENV": dotenv}
        done = fleet(
            root, "--state", "state", "--pages", "site",
            ERPWATCH_SECRETS=json.dumps(secrets),
            GITHUB_SERVER_URL="https://github.com", GITHUB_REPOSITORY="agency/monitors",
            GITHUB_RUN_ID="4242", GITHUB_RUN_ATTEMPT="1", GITHUB_ACTIONS="true",
        )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    return root, done.stdout + done.stderr, settings


def test_the_pages_are_at_hmac_paths_and_nothing_else_is_published(
    published: tuple[Path, str, dict[str, str]],
) -> None:
    root, output, _ = published
    site = root / "site"
    files = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    expected = ["index.html", "robots.txt"] + [
        f"{path_of(name)}/index.html" for name in (*CLIENTS, "/agency-overview")
    ]
    assert files == sorted(expected)
    assert (site / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"
    for page in site.rglob("*.html"):
        assert '<meta name="robots" content="noindex, nofollow">' in page.read_text(), page
    front = (site / "index.html").read_text()
    assert not any(word in front.lower() for word in (*CLIENTS, "brasserie", "leeuw"))
    # The paths never reach the log (CI logs have more readers than the pages).
    assert not any(path_of(name) in output for name in (*CLIENTS, "/agency-overview"))
    assert "status pages: 2 client pages and the overview in site" in output


def test_a_published_page_links_only_to_published_pages_and_shows_no_secret(
    published: tuple[Path, str, dict[str, str]],
) -> None:
    root, _, settings = published
    site = root / "site"
    secrets = [settings[name] for name in SECRET_SETTINGS]
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert not [s for s in secrets if s in text], page
        assert "://" not in text, page  # no run URL, no ERP address, no credentials
        assert "127.0.0.1" not in text
        for link in re.findall(r'(?:href|src)="([^"]*)"', text):
            assert (page.parent / link / "index.html").resolve().is_file(), (page, link)
    overview = (site / path_of("/agency-overview") / "index.html").read_text()
    assert sorted(re.findall(r'href="([^"]*)"', overview)) == sorted(
        f"../{path_of(name)}/" for name in CLIENTS
    )


def test_the_client_page_shows_the_incident_but_not_the_mails_or_the_run(
    published: tuple[Path, str, dict[str, str]],
) -> None:
    root, _, _ = published
    source = (root / "reports" / "acme" / "index.html").read_text()
    page = (root / "site" / path_of("acme") / "index.html").read_text()
    # The agency's own dashboard links the run and lists each mail and its delivery.
    assert "https://github.com/agency/monitors/actions/runs/4242" in source
    assert "<details data-private>" in source
    # The public copy: the failing process and its incident, as the client's mail says it.
    assert "Bestellingen doorsturen" in page
    assert "salesOrders" in page
    assert "<details data-private>" not in page
    assert "outbox" not in page
    assert "actions/runs" not in page


def test_pages_links_prints_each_clients_path_for_the_agency(tmp_path: Path) -> None:
    root = fleet_project(tmp_path)
    done = fleet(root, "--pages-links", ERPWATCH_PAGES_KEY=KEY)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["overview", f"{path_of('/agency-overview')}/"]
    assert lines[1].split() == ["acme", f"{path_of('acme')}/"]
    assert lines[2].split() == ["beta", f"{path_of('beta')}/"]
    only = fleet(root, "--pages-links", ERPWATCH_PAGES_KEY=KEY, ERPWATCH_PAGES="beta")
    assert path_of("acme") not in only.stdout
    assert path_of("beta") in only.stdout


def test_without_the_key_pages_is_one_line_and_the_monitors_still_ran(tmp_path: Path) -> None:
    root = fleet_project(tmp_path)
    done = fleet(root, "--clients", "beta", "--pages", "site")
    assert done.returncode == 4
    assert done.stderr.splitlines() == [
        "erpwatch fleet: --pages: no ERPWATCH_PAGES_KEY; set the secret ERPWATCH_PAGES_KEY "
        "to a random text of at least 32 characters "
        '(python3 -c "import secrets; print(secrets.token_hex(32))")'
    ]
    assert (root / "reports" / "beta" / "fleet-entry.json").is_file()
    assert not (root / "site").exists()
    short = fleet(root, "--overview-only", "--pages", "site", ERPWATCH_PAGES_KEY="short")
    assert short.returncode == 4
    assert len(short.stderr.splitlines()) == 1
    assert "too short" in short.stderr


def test_a_folder_holding_other_files_is_never_replaced(tmp_path: Path) -> None:
    root = fleet_project(tmp_path)
    assert fleet(root, "--clients", "beta").returncode == 0
    keep = root / "docs" / "notes.txt"
    keep.parent.mkdir()
    keep.write_text("mine")
    done = fleet(root, "--overview-only", "--pages", "docs", ERPWATCH_PAGES_KEY=KEY)
    assert done.returncode == 4
    assert "holds other files" in done.stderr
    assert keep.read_text() == "mine"
    # A site folder written before is replaced as a whole: a client left out is gone.
    assert fleet(root, "--overview-only", "--pages", "site", ERPWATCH_PAGES_KEY=KEY).returncode == 0
    again = fleet(
        root, "--overview-only", "--pages", "site", ERPWATCH_PAGES_KEY=KEY, ERPWATCH_PAGES="nobody"
    )
    assert again.returncode == 4
    assert "ERPWATCH_PAGES: no client 'nobody'" in again.stderr


def test_the_public_copy_keeps_no_script_handler_or_outside_reference() -> None:
    page = (
        '<!DOCTYPE html><html><head><meta name="robots" content="all"><link rel="stylesheet" '
        'href="https://cdn.example/x.css"><style>p{color:red} .a > b{}</style></head><body>'
        '<p onclick="steal()" style="background:url(https://t.example/p.png)">Hi &amp; bye</p>'
        '<a href="https://erp.example/?token=s3cret">call</a><a href="c/index.html">c</a>'
        "<script>alert(1)</script><img src=https://t.example/i.png><!-- note -->"
        "<div data-private><p>mail to x</p><br></div><svg viewBox='0 0 1 1'><path d='M0 0'/></svg>"
        "</body></html>"
    )
    out = public_copy(page, {"c/index.html": "../abc/"})
    assert "://" not in out
    for gone in (
        "onclick",
        "script",
        "alert",
        "<img",
        "<link",
        "note",
        "mail to x",
        'content="all"',
    ):
        assert gone not in out
    assert '<span>call</span><a href="../abc/">c</a>' in out
    assert "<style>p{color:red} .a > b{}</style>" in out
    assert "Hi &amp; bye" in out
    assert 'viewBox="0 0 1 1"' in out
    assert out.count('<meta name="robots" content="noindex, nofollow">') == 1


def test_the_public_copy_drops_a_refresh_and_css_that_could_spell_an_address() -> None:
    page = (
        '<html><head><meta http-equiv="refresh" content="0;url=https://e.example/">'
        "<style>b{background:u\\72l(https://e.example/s)}</style></head><body>"
        '<div style="background:u\\72l(https://e.example/a)">z</div></body></html>'
    )
    out = public_copy(page, {})
    assert "refresh" not in out
    assert "e.example" not in out
    assert "<div>z</div>" in out


def test_every_current_client_has_a_page_and_a_removed_one_has_none(tmp_path: Path) -> None:
    root = fleet_project(tmp_path)
    (root / "clients" / "gone").mkdir()
    (root / "clients" / "gone" / "erpwatch.toml").write_text(
        (root / "clients" / "acme" / "erpwatch.toml").read_text()
    )
    assert fleet(root, "--clients", "gone").returncode == 0
    shutil.rmtree(root / "clients" / "gone")

    # A run of one client: the other's link must keep answering.
    done = fleet(root, "--clients", "beta", "--pages", "site", ERPWATCH_PAGES_KEY=KEY)

    assert done.returncode == 0, done.stderr
    site = root / "site"
    assert (site / path_of("beta") / "index.html").read_text().count("Bestellingen doorsturen")
    assert "not available" in (site / path_of("acme") / "index.html").read_text()
    assert not (site / path_of("gone")).exists()
    # Not every client had a result: the overview, which names them all, waits.
    assert not (site / path_of("/agency-overview")).exists()


@pytest.mark.parametrize("off", ["false", "0", "no", "off"])
def test_pages_said_off_publish_nothing_and_are_no_error(tmp_path: Path, off: str) -> None:
    root = fleet_project(tmp_path)

    done = fleet(
        root, "--clients", "beta", "--pages", "site", ERPWATCH_PAGES_KEY=KEY, ERPWATCH_PAGES=off
    )

    assert done.returncode == 0, done.stderr
    assert f"status pages: off (ERPWATCH_PAGES={off}); nothing published" in done.stdout
    assert not (root / "site").exists()

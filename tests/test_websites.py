"""Website, API and certificate checks, through real runs of the shipped monitor
against loopback HTTPS servers with certificates made here, and mail parsed back
from a real SMTP server."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from erpwatch.config import ConfigError, load_settings

from .smtp_server import RunningSmtp, start_smtp, text_of
from .support import REPO, clean_environment, read_summary, run_pytest
from .tls_sites import Site, leaf, self_signed, server_context, serving

MONITOR = REPO / "monitors" / "test_websites.py"

HEAD = """
[erpwatch]
monitors = "{monitors}"
reports = "{reports}"

[mail]
from = "erpwatch <monitoring@agency.example>"

[processes.website]
critical = true

[alerts]
slow_after = 1

[groups.client]
name = "Brasserie Zoë"
language = "nl"
addresses = ["owner@webshop.example"]

[groups.maintainers]
language = "en"
addresses = ["dev@agency.example"]

[routing]
website = ["client"]
"""


def entry(name: str, url: str, **extra: Any) -> str:
    lines = [f'name = "{name}"', f'url = "{url}"']
    for key, value in extra.items():
        lines.append(f"{key} = {value!r}".replace("'", '"').replace("True", "true"))
    return "\n[[checks.urls]]\n" + "\n".join(lines) + "\n"


def write_config(tmp_path: Path, entries: str, monitors: Path = MONITOR) -> Path:
    config = tmp_path / "erpwatch.toml"
    head = HEAD.format(monitors=monitors, reports=tmp_path / "reports")
    config.write_text(head + entries, encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def sites(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Site]]:
    """One HTTPS site per certificate, plus HTTP sites that do and do not redirect."""
    folder = tmp_path_factory.mktemp("self-signed")
    with ExitStack() as stack:
        up = {
            name: stack.enter_context(serving(context=server_context(leaf(ca, days))))
            for name, days in (("year", 365), ("days15", 15.5), ("days5", 5.5), ("expired", -2))
        }
        up["self_signed"] = stack.enter_context(
            serving(context=server_context(files=self_signed(folder)))
        )
        up["slow"] = stack.enter_context(serving(context=server_context(leaf(ca, 365)), delay=0.4))
        up["down"] = stack.enter_context(serving(context=server_context(leaf(ca, 365)), status=503))
        up["redirects"] = stack.enter_context(serving(status=301, location=up["year"].url))
        up["stays"] = stack.enter_context(serving(status=200))
        yield up


def run(config: Path, bundle: Path, **env: str) -> tuple[int, str, dict[str, Any]]:
    completed = run_pytest(
        str(MONITOR),
        f"--erpwatch-config={config}",
        env=clean_environment(REQUESTS_CA_BUNDLE=str(bundle), **env),
    )
    summary = read_summary(config.parent / "reports" / "summary.json")
    return completed.returncode, completed.stdout + completed.stderr, summary


def by_name(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["nodeid"].rpartition("[")[2].rstrip("]"): m for m in summary["monitors"]}


def test_each_address_is_judged_on_its_certificate_its_answer_and_its_redirect(
    tmp_path: Path, sites: dict[str, Site], bundle: Path
) -> None:
    entries = (
        entry(
            "year", sites["year"].url, require_https_redirect=True, http_url=sites["redirects"].url
        )
        + entry("days15", sites["days15"].url)
        + entry("days5", sites["days5"].url)
        + entry("expired", sites["expired"].url)
        + entry("selfsigned", sites["self_signed"].url)
        + entry("slow", sites["slow"].url, latency_threshold=0.1)
        + entry("down", sites["down"].url)
        + entry(
            "no-redirect",
            sites["year"].url,
            require_https_redirect=True,
            http_url=sites["stays"].url,
        )
        + entry("lenient", sites["days5"].url, cert_warn_days=3, cert_fail_days=2)
    )
    code, output, summary = run(write_config(tmp_path, entries), bundle)
    assert code == 1, output
    monitors = by_name(summary)

    def verdict(name: str) -> tuple[str, str | None]:
        monitor = monitors[name]
        diagnosis = monitor.get("diagnosis") or {}
        return monitor["status"], diagnosis.get("category")

    assert verdict("year") == ("passed", None)
    assert verdict("lenient") == ("passed", None)  # 5 days left, 3 allowed
    assert verdict("days15") == ("degraded", "certificate")
    assert "15 days left, fewer than the 21" in monitors["days15"]["diagnosis"]["reason"]
    assert verdict("days5") == ("failed", "certificate")
    assert "5 days left, fewer than the 7 allowed" in monitors["days5"]["diagnosis"]["reason"]
    assert verdict("expired") == ("failed", "certificate")
    assert "certificate has expired" in monitors["expired"]["diagnosis"]["reason"]
    assert verdict("selfsigned") == ("failed", "certificate")
    assert "self-signed certificate" in monitors["selfsigned"]["diagnosis"]["reason"]
    assert verdict("slow") == ("degraded", "slow")
    assert verdict("down") == ("failed", "maintenance")  # a 503, as for any other call
    assert monitors["down"]["diagnosis"]["status"] == 503
    assert verdict("no-redirect") == ("failed", "unexpected_response")
    assert "instead of redirecting to https://" in monitors["no-redirect"]["diagnosis"]["reason"]
    assert monitors["no-redirect"]["diagnosis"]["url"] == sites["stays"].url
    # Every check is a monitor of the website process, on the dashboard like any other.
    [process] = [p for p in summary["processes"] if p["name"] == "website"]
    assert process["outcome"] == "failed"
    dashboard = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "Website and API" in dashboard


def test_a_certificate_about_to_expire_is_mailed_to_the_routed_group_in_its_language(
    tmp_path: Path, sites: dict[str, Site], bundle: Path
) -> None:
    smtp: RunningSmtp = start_smtp(tmp_path)
    try:
        config = write_config(tmp_path, entry("shop", sites["days5"].url))
        code, output, _ = run(config, bundle, **smtp.env)
    finally:
        smtp.stop()
    assert code == 1, output
    [mail] = smtp.inbox.for_address("owner@webshop.example")
    text = text_of(mail)
    assert "Website en API" in str(mail["Subject"])
    assert "Beveiligde verbinding" in text
    assert "in 5 days" in text  # the evidence: the date and the days left
    assert smtp.inbox.for_address("dev@agency.example") == []  # not a monitor bug


def test_a_certificate_in_its_warning_days_is_mailed_as_expiring_soon_not_as_slow(
    tmp_path: Path, sites: dict[str, Site], bundle: Path
) -> None:
    smtp: RunningSmtp = start_smtp(tmp_path)
    try:
        config = write_config(tmp_path, entry("shop", sites["days15"].url))
        code, output, _ = run(config, bundle, **smtp.env)
    finally:
        smtp.stop()
    assert code == 0, output  # degraded is not a failure
    [mail] = smtp.inbox.for_address("owner@webshop.example")
    assert "de beveiligde verbinding (TLS) verloopt" in str(mail["Subject"])
    assert "traag" not in str(mail["Subject"])
    # Nor is it "slow" on the dashboard or in the run reports: a certificate ends soon.
    reports = tmp_path / "reports"
    dashboard = (reports / "index.html").read_text(encoding="utf-8")
    assert '<span class="badge degraded">certificate ends soon</span>' in dashboard
    assert "Working, but a certificate ends soon" in dashboard
    assert ">slow<" not in dashboard
    dutch = next(reports.glob("*nl*.html")).read_text(encoding="utf-8")
    assert "certificaat verloopt binnenkort" in dutch
    assert ">traag<" not in dutch


def test_configured_addresses_without_the_monitor_stop_the_run_with_one_line(
    tmp_path: Path, sites: dict[str, Site], bundle: Path
) -> None:
    monitors = tmp_path / "monitors"
    monitors.mkdir()
    (monitors / "test_other.py").write_text(
        "import pytest\n\n@pytest.mark.process('website')\ndef test_nothing():\n    pass\n"
    )
    config = write_config(tmp_path, entry("shop", sites["year"].url), monitors=monitors)
    completed = run_pytest(str(monitors), f"--erpwatch-config={config}", env=clean_environment())
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "has [[checks.urls]] but no monitor checks them" in completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr


@pytest.mark.parametrize(
    ("entries", "key", "words"),
    [
        (entry("a", "https://shop.example/", cert_warn_days=5, cert_fail_days=9),
         "checks.urls[1].cert_fail_days", "must not be more than cert_warn_days"),
        (entry("a", "https://shop.example:8443/", require_https_redirect=True),
         "checks.urls[1].http_url", "cannot be guessed"),
        (entry("a", "https://shop.example/", process="orders"),
         "checks.urls[1].process", "add [processes.orders]"),
        (entry("a", "ftp://shop.example/"), "checks.urls[1].url", "http:// or https://"),
        (entry("a", "https://a.example/") + entry("a", "https://b.example/"),
         "checks.urls", "give each its own name"),
        (entry("a", "https://shop.example/", cert_days=3), "checks.urls[1].cert_days",
         "unknown setting"),
        (entry("a", "https://shop.example:99999/", require_https_redirect=True),
         "checks.urls[1].url", "not a number from 1 to 65535"),
        (entry("a", "https://shop.example:abc/"), "checks.urls[1].url",
         "not a number from 1 to 65535"),
        (entry("a", "https://owner:pw@shop.example/", require_https_redirect=True),
         "checks.urls[1].url", "must not carry a user or password"),
    ],
)  # fmt: skip
def test_a_wrong_address_entry_is_one_line_naming_the_setting(
    tmp_path: Path, entries: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(write_config(tmp_path, entries), {})
    assert key in str(raised.value)
    assert words in str(raised.value)


def test_the_http_address_to_redirect_is_the_https_one_without_its_scheme(tmp_path: Path) -> None:
    settings = load_settings(
        write_config(tmp_path, entry("a", "https://shop.example/nl/", require_https_redirect=True)),
        {},
    )
    [check] = settings.url_checks
    assert check.http_url == "http://shop.example/nl/"
    assert (check.cert_warn_days, check.cert_fail_days, check.process) == (21, 7, "website")


def test_the_readme_example_is_a_configuration_erpwatch_accepts(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Website, API and certificate checks", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "erpwatch.toml"
    config.write_text("[processes.payments]\n" + example, encoding="utf-8")
    shop, webhook = load_settings(config, {}).url_checks
    assert (shop.name, shop.http_url, shop.latency_threshold) == (
        "shop",
        "http://shop.example/",
        2.0,
    )
    assert (webhook.process, webhook.expect_status) == ("payments", 405)


@contextmanager
def connect_proxy(to_port: int) -> Iterator[str]:
    """An HTTP CONNECT proxy on loopback that tunnels every CONNECT to ``to_port``:
    the network of an office that lets HTTPS out through its proxy only."""
    listener = socket.create_server(("127.0.0.1", 0))

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def tunnel(client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        upstream = socket.create_connection(("127.0.0.1", to_port))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                threading.Thread(target=tunnel, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_a_certificate_that_could_not_be_read_is_said_not_passed_over(
    tmp_path: Path, ca: trustme.CA, bundle: Path
) -> None:
    # The address answers through the proxy; erpwatch's own handshake, made
    # directly, cannot reach it: the end date is unknown, and the run says so.
    cert = ca.issue_cert("shop.invalid", not_after=datetime.now(UTC) + timedelta(days=365))
    with (
        serving(context=server_context(cert)) as site,
        connect_proxy(site.port) as proxy,
    ):
        config = write_config(tmp_path, entry("shop", f"https://shop.invalid:{site.port}/"))
        code, output, summary = run(config, bundle, HTTPS_PROXY=proxy, NO_PROXY="")
    assert code == 0, output  # degraded, not failed
    [monitor] = summary["monitors"]
    assert monitor["status"] == "degraded", output
    assert monitor["diagnosis"]["category"] == "certificate"
    assert "end date could not be read" in monitor["diagnosis"]["reason"]

"""The chat channel, against real HTTP receivers on loopback: a group's Slack,
Teams or JSON webhook gets a short message for each digest its mail carries, the
maintainers' webhook hears when a mail was not delivered, and the address (a
key) is masked in everything a run writes and is never sent to another host."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from werkzeug.wrappers import Request, Response

from erpwatch.config import ConfigError, load_settings
from erpwatch.notify import RunContext, deliver, incidents_of, outbox_of, plan_digests
from erpwatch.sandbox import RunningSandbox, parse_fault

from . import test_finishing as finishing
from .loopback import Loopback, redirect_to, serve
from .smtp_server import free_port, start_smtp
from .support import REPO, clean_environment, read_summary, run_pytest
from .test_mail import failing_run

# The keys in the addresses: what must never show up in anything a run writes.
SLACK_KEY = "T0AGENCY/B0ONCALL/xoxSlackKey7Qz"
TEAMS_KEY = "sig=TeamsSignatureKey9Wq"
JSON_KEY = "json-hook-key-4Lm"

CONFIG = """
[erpwatch]
monitors = "{monitors}"
reports = "{reports}"

[mail]
from = "erpwatch <monitoring@agency.example>"

[groups.client]
name = "Brasserie Zoë"
language = "nl"
addresses = ["owner@webshop.example"]
webhook = "slack"
webhook_env = "CLIENT_SLACK_WEBHOOK"

[groups.erp_partner]
name = "Partenaire ERP Liège"
language = "fr"
addresses = ["erp-support@acme.example"]
webhook = "teams"
webhook_env = "PARTNER_TEAMS_WEBHOOK"

[groups.maintainers]
language = "en"
addresses = ["dev@agency.example"]
webhook = "json"
webhook_env = "AGENCY_WEBHOOK"

[routing]
customers = ["client", "erp_partner"]
orders = ["client", "erp_partner"]
punchout = ["client", "erp_partner"]
payments = ["client", "erp_partner"]
"""


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "erpwatch.toml"
    config.write_text(CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports"))
    return config


def ok(request: Request) -> Response:
    return Response("ok", status=200)


def webhook_schema() -> dict[str, Any]:
    text = resources.files("erpwatch").joinpath("schemas/webhook.v1.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def body_of(server: Loopback) -> dict[str, Any]:
    [received] = server.received
    assert received.method == "POST"
    assert received.headers["Content-Type"] == "application/json; charset=utf-8"
    parsed: dict[str, Any] = json.loads(received.body.decode("utf-8"))
    return parsed


def hooks(slack: Loopback, teams: Loopback, agency: Loopback) -> dict[str, str]:
    return {
        "CLIENT_SLACK_WEBHOOK": f"{slack.url}/services/{SLACK_KEY}",
        "PARTNER_TEAMS_WEBHOOK": f"{teams.url}/workflows/7f3a/triggers/manual/paths/invoke"
        f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&{TEAMS_KEY}",
        "AGENCY_WEBHOOK": f"{agency.url}/erpwatch/{JSON_KEY}",
    }


def everything_written(tmp_path: Path, output: str) -> str:
    """The terminal and every file the run left in its reports folder."""
    texts = [output]
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


def assert_no_key(written: str) -> None:
    for key in (SLACK_KEY, TEAMS_KEY, JSON_KEY, "xoxSlackKey7Qz", "TeamsSignatureKey9Wq"):
        assert key not in written


@contextmanager
def receivers(*handlers: Any) -> Iterator[list[Loopback]]:
    with ExitStack() as stack:
        yield [stack.enter_context(serve(handler)) for handler in handlers]


# -- through a real monitoring run --------------------------------------------


def test_each_group_gets_its_digest_on_its_webhook_in_its_language_beside_the_mail(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    smtp = start_smtp(tmp_path)
    sandbox.app.faults.add(parse_fault("vat_required:salesOrders"))
    try:
        with receivers(ok, lambda r: Response("", status=202), ok) as (slack, teams, agency):
            env = clean_environment(**sandbox.settings(), **smtp.env, **hooks(slack, teams, agency))
            completed = run_pytest(
                "monitors", f"--erpwatch-config={write_config(tmp_path)}", env=env
            )
    finally:
        smtp.stop()
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "Traceback" not in output
    assert len(smtp.inbox.messages) == 2  # the mail is not replaced by the chat
    subjects = {str(m["To"]): str(m["Subject"]) for m in smtp.inbox.messages}

    # Slack: the subject as a header, one plain-text line per incident, no links.
    message = body_of(slack)
    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": subjects["owner@webshop.example"], "emoji": False},
    }
    section = message["blocks"][1]["text"]
    assert section["type"] == "plain_text"
    assert section["text"].startswith("• Bestellingen bereiken het ERP niet (sinds ")
    assert message["text"].startswith(subjects["owner@webshop.example"])
    assert "http" not in json.dumps(message)
    assert message["unfurl_links"] is False

    # Teams: one Adaptive Card in a message, in French.
    card = body_of(teams)
    assert card["type"] == "message"
    [attachment] = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert (content["type"], content["version"]) == ("AdaptiveCard", "1.4")
    texts = [block["text"] for block in content["body"]]
    assert texts[0] == subjects["erp-support@acme.example"]
    assert texts[1].startswith("Les commandes n'arrivent pas dans l'ERP (depuis ")
    assert "http" not in json.dumps(content["body"])

    # The maintainers' mail was delivered: their webhook has nothing to say.
    assert agency.received == []
    assert "webhook-slack: sent 1 digest to client" in output
    assert "webhook-teams: sent 1 digest to erp_partner" in output
    summary = read_summary(tmp_path / "reports" / "summary.json")
    assert {(m["channel"], m["group"], m["status"]) for m in summary["mails"]} == {
        ("mail", "client", "sent"),
        ("mail", "erp_partner", "sent"),
        ("webhook-slack", "client", "sent"),
        ("webhook-teams", "erp_partner", "sent"),
    }
    assert_no_key(everything_written(tmp_path, output))


def test_when_mail_cannot_be_delivered_the_maintainers_webhook_says_so_and_a_failing_webhook_stops_nothing(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    sandbox.app.faults.add(parse_fault("vat_required:salesOrders"))

    def refuses(request: Request) -> Response:
        # A receiver that quotes the address it was called at, key and all.
        return Response(f"invalid_token for {request.full_path}", status=500)

    with (
        receivers(ok) as (elsewhere,),
        receivers(refuses, redirect_to(elsewhere.url.replace("127.0.0.1", "localhost")), ok) as (
            slack,
            teams,
            agency,
        ),
    ):
        env = clean_environment(
            **sandbox.settings(),
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(free_port()),  # nothing listens: the mail server is down
            SMTP_SECURITY="none",
            **hooks(slack, teams, agency),
        )
        completed = run_pytest("monitors", f"--erpwatch-config={write_config(tmp_path)}", env=env)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "Traceback" not in output

    # The maintainers hear of it in their own channel, with the reason, in a
    # payload that keeps to its published schema.
    notice = body_of(agency)
    jsonschema.validate(notice, webhook_schema())
    assert (notice["event"], notice["group"], notice["kind"]) == (
        "mail_failed",
        "maintainers",
        "mail_failed",
    )
    assert [f["group"] for f in notice["failures"]] == ["Brasserie Zoë", "Partenaire ERP Liège"]
    assert all("cannot reach the mail server 127.0.0.1:" in f["error"] for f in notice["failures"])
    assert notice["text"].startswith("[erpwatch] Mail was not delivered\n")

    # The Slack receiver refused, the Teams one sent the key elsewhere: one line each.
    slack_port = slack.url.rsplit(":", 1)[1]
    lines = [line for line in output.splitlines() if "webhook-" in line]
    assert (
        f"webhook-slack: NOT SENT to client: the slack webhook at 127.0.0.1:{slack_port} "
        f"(CLIENT_SLACK_WEBHOOK) answered 500: invalid_token for [redacted]" in output
    )
    assert len(teams.received) == 1
    assert elsewhere.received == []
    assert (
        "webhook-teams: NOT SENT to erp_partner: the teams webhook at "
        f"{teams.url.removeprefix('http://')} (PARTNER_TEAMS_WEBHOOK) answered 302, a redirect "
        "elsewhere; erpwatch sends the address's key to its own host only: check "
        "PARTNER_TEAMS_WEBHOOK" in output
    )
    assert "webhook-json: sent 1 digest to maintainers" in output
    assert len(lines) == 3, lines
    assert "mail: NOT SENT to client: cannot reach the mail server" in output

    summary = read_summary(tmp_path / "reports" / "summary.json")
    statuses = {(m["channel"], m["group"], m["status"]) for m in summary["mails"]}
    assert statuses == {
        ("mail", "client", "failed"),
        ("mail", "erp_partner", "failed"),
        ("webhook-slack", "client", "failed"),
        ("webhook-teams", "erp_partner", "failed"),
        ("webhook-json", "maintainers", "sent"),
    }
    # The failed mails are still kept for the next run: a webhook is no delivery.
    assert len(list((tmp_path / "reports" / "outbox").glob("*.eml"))) == 2
    assert_no_key(everything_written(tmp_path, output))


# -- bounds, directly ---------------------------------------------------------


def test_a_webhook_that_never_answers_is_given_up_within_its_time_out(tmp_path: Path) -> None:
    release = threading.Event()

    def hangs(request: Request) -> Response:
        release.wait(60)
        return Response("ok")

    with receivers(hangs) as (slack,):
        config = tmp_path / "erpwatch.toml"
        config.write_text(
            CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports")
            .replace('webhook = "teams"\nwebhook_env = "PARTNER_TEAMS_WEBHOOK"\n', "")
            .replace('webhook = "json"\nwebhook_env = "AGENCY_WEBHOOK"\n', "")
        )
        settings = load_settings(
            config, clean_environment(CLIENT_SLACK_WEBHOOK=f"{slack.url}/services/{SLACK_KEY}")
        )
        run = failing_run(erp_message="Klant geblokkeerd", response_body="{}")
        now = datetime(2026, 11, 27, 20, 4, tzinfo=UTC)
        started = time.monotonic()
        try:
            deliveries = deliver(
                plan_digests(incidents_of(run, now), settings.mail),
                settings,
                RunContext(run.run_id, run.run_url, None, now),
                outbox_of(settings),
            )
        finally:
            release.set()
    took = time.monotonic() - started
    assert took < 15, took
    [chat] = [d for d in deliveries if d.channel == "webhook-slack"]
    assert chat.status == "failed"
    assert chat.error is not None
    assert "(CLIENT_SLACK_WEBHOOK): no complete answer within 10 s" in chat.error
    assert [d.status for d in deliveries if d.channel == "mail"] == ["outbox", "outbox"]


# -- settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "env", "expected"),
    [
        (
            ("", ""),
            {},
            "CLIENT_SLACK_WEBHOOK: is not set; it is needed because groups.client.webhook_env "
            "names it",
        ),
        (
            ("", ""),
            {"CLIENT_SLACK_WEBHOOK": "http://hooks.example/services/" + SLACK_KEY},
            "CLIENT_SLACK_WEBHOOK: is not a webhook address: it must start with https:// and "
            "name a host (the value is not shown: it is a secret)",
        ),
        (
            ('webhook = "slack"', 'webhook = "discord"'),
            {"CLIENT_SLACK_WEBHOOK": "https://hooks.example/x"},
            "groups.client.webhook: say what the address of CLIENT_SLACK_WEBHOOK takes: "
            "slack, teams, json, not 'discord'",
        ),
        (
            ('webhook_env = "CLIENT_SLACK_WEBHOOK"\n', ""),
            {},
            "groups.client.webhook: needs webhook_env, the environment variable that holds "
            "the address (it is a secret: never in erpwatch.toml)",
        ),
    ],
)
def test_a_webhook_setting_that_cannot_work_is_one_line_naming_it_without_the_address(
    tmp_path: Path, change: tuple[str, str], env: dict[str, str], expected: str
) -> None:
    config = tmp_path / "erpwatch.toml"
    text = CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports")
    text = text.replace('webhook = "teams"\nwebhook_env = "PARTNER_TEAMS_WEBHOOK"\n', "").replace(
        'webhook = "json"\nwebhook_env = "AGENCY_WEBHOOK"\n', ""
    )
    config.write_text(text.replace(*change) if change[0] else text)
    with pytest.raises(ConfigError) as raised:
        load_settings(config, clean_environment(**env))
    shown = str(raised.value)
    assert expected in f"{raised.value.key}: {raised.value.problem}", shown
    assert SLACK_KEY not in shown
    assert "\n" not in shown


def test_the_address_is_masked_like_a_password(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    urls = {
        "CLIENT_SLACK_WEBHOOK": f"https://hooks.example/services/{SLACK_KEY}",
        "PARTNER_TEAMS_WEBHOOK": f"https://teams.example/workflows/1/invoke?{TEAMS_KEY}",
        "AGENCY_WEBHOOK": f"http://127.0.0.1:9/{JSON_KEY}",
    }
    settings = load_settings(config, clean_environment(**urls))
    for url in urls.values():
        assert url in settings.secrets
    assert f"/services/{SLACK_KEY}" in settings.secrets  # as an HTTP error quotes it
    assert SLACK_KEY not in repr(settings.mail.groups["client"])


def test_when_erpwatch_itself_breaks_the_maintainers_webhook_hears_it_even_without_mail(
    tmp_path: Path,
) -> None:
    root = finishing.project(tmp_path)
    config = root / "erpwatch.toml"
    config.write_text(
        config.read_text().replace(
            '[groups.maintainers]\nlanguage = "en"\n',
            '[groups.maintainers]\nlanguage = "en"\nwebhook = "json"\n'
            'webhook_env = "AGENCY_WEBHOOK"\n',
        )
    )
    finishing.BREAKERS["mail"](root)  # the outbox is a file: no mail at all, not even theirs
    with receivers(ok) as (agency,):
        result = finishing.run(root, AGENCY_WEBHOOK=f"{agency.url}/erpwatch/{JSON_KEY}")
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert "Traceback" not in out
    notice = body_of(agency)
    jsonschema.validate(notice, webhook_schema())
    assert (notice["event"], notice["group"]) == ("erpwatch_failed", "maintainers")
    assert notice["subject"].startswith("[erpwatch] erpwatch itself failed in run ")
    [problem] = notice["problems"]
    assert problem.startswith("erpwatch: mail failed: ")
    assert_no_key(everything_written(root, out))

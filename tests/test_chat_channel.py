"""The chat channel as a channel of its own, through real scheduled runs (the
sandbox, a real SMTP server, loopback webhook receivers, a controlled clock): a
chat-only group hears every step of an outage by chat alone; a post the webhook
did not take is posted by the next run, once; mail and chat keep their own
delivery state; the maintainers' channel is not stormed; test-mail tests every
channel. The webhook address is a key: never in anything a run writes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from erpwatch.config import ConfigError, load_settings
from erpwatch.monthly import month_report, render_month
from erpwatch.sandbox import RunningSandbox

from .loopback import Loopback, serve
from .smtp_server import RunningSmtp, free_port, start_smtp, text_of
from .support import REPO, clean_environment
from .test_alert_sequences import CLIENT, T0, VAT, Schedule, subjects

ONCALL_KEY = "oncall-hook-key-8Vd"
CLIENT_KEY = "T0AGENCY/B0SHOP/xoxClientKey3Rt"
AGENCY_KEY = "agency-hook-key-5Hs"
KEYS = (ONCALL_KEY, CLIENT_KEY, AGENCY_KEY, "xoxClientKey3Rt")

CONFIG = """
[erpwatch]
monitors = "{monitors}"
reports = "{reports}"

[alerts]
retry_delay = 0.1
retry_after_cap = 1

[processes.customers]
title = "Customer creation"
critical = true

[processes.orders]
title = "Order submission"
critical = true

[processes.punchout]
title = "B2B punchout"
critical = true

[processes.payments]
title = "Payment status sync"
critical = true

[mail]
from = "erpwatch <monitoring@agency.example>"

[groups.client]
language = "nl"
addresses = ["owner@webshop.example"]
webhook = "slack"
webhook_env = "CLIENT_SLACK_WEBHOOK"

[groups.oncall]
name = "Agency on-call"
language = "en"
role = "agency"
webhook = "json"
webhook_env = "ONCALL_WEBHOOK"

[groups.maintainers]
language = "en"
addresses = ["dev@agency.example"]
webhook = "json"
webhook_env = "AGENCY_WEBHOOK"

[routing]
customers = ["client", "oncall"]
orders = ["client", "oncall"]
punchout = ["client", "oncall"]
payments = ["client", "oncall"]
"""


@dataclass
class Receiver:
    """A webhook receiver whose answer the test switches between runs."""

    server: Loopback
    status: int = 200
    seen: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def new(self) -> list[dict[str, Any]]:
        """The posts it took since the last call (a refused post is not taken)."""
        fresh = self.bodies[self.seen :]
        self.seen = len(self.bodies)
        return fresh


@pytest.fixture
def hooks() -> Iterator[dict[str, Receiver]]:
    receivers: dict[str, Receiver] = {}

    def handler(name: str) -> Any:
        def answer(request: Request) -> Response:
            receiver = receivers[name]
            if receiver.status != 200:
                # A receiver that quotes the address it was called at, key and all.
                return Response(f"unavailable: {request.path}", status=receiver.status)
            receiver.bodies.append(json.loads(request.get_data()))
            return Response("ok")

        return answer

    with (
        serve(handler("oncall")) as oncall,
        serve(handler("client")) as client,
        serve(handler("agency")) as agency,
    ):
        receivers.update(oncall=Receiver(oncall), client=Receiver(client), agency=Receiver(agency))
        yield receivers


def env_of(hooks: dict[str, Receiver]) -> dict[str, str]:
    return {
        "ONCALL_WEBHOOK": f"{hooks['oncall'].server.url}/erpwatch/{ONCALL_KEY}",
        "CLIENT_SLACK_WEBHOOK": f"{hooks['client'].server.url}/services/{CLIENT_KEY}",
        "AGENCY_WEBHOOK": f"{hooks['agency'].server.url}/erpwatch/{AGENCY_KEY}",
    }


@pytest.fixture
def schedule(
    tmp_path: Path, sandbox: RunningSandbox, smtp: RunningSmtp, hooks: dict[str, Receiver]
) -> Schedule:
    # The order monitor alone, in one process: the channel is the subject, not the ERP.
    planned = Schedule(tmp_path, sandbox, smtp, processes="orders")
    planned.config.write_text(
        CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports")
    )
    return planned


def run(
    schedule: Schedule, hooks: dict[str, Receiver], at: Any, fault: str | None, **env: str
) -> str:
    completed = schedule.run(at, fault, **env_of(hooks), **env)
    output = completed.stdout + completed.stderr
    assert completed.returncode in (0, 1), output[-3000:]
    assert "Traceback" not in output
    return output


def assert_nothing_holds_a_key(tmp_path: Path, *outputs: str) -> None:
    texts = list(outputs)
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    written = "\n".join(texts)
    for key in KEYS:
        assert key not in written


def state_of(schedule: Schedule) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(schedule.state_file.read_text("utf-8"))
    return state


# -- a chat-only group ----------------------------------------------------------


def test_a_chat_only_group_hears_an_outage_by_chat_alone_from_alert_to_resolved(
    schedule: Schedule, hooks: dict[str, Receiver], tmp_path: Path
) -> None:
    oncall = hooks["oncall"]
    first = run(schedule, hooks, T0, VAT)
    [alert] = oncall.new()
    assert (alert["event"], alert["group"], alert["kind"]) == ("digest", "oncall", "alert")
    assert alert["incidents"][0]["process"] == "orders"
    mails = schedule.new_mail()
    # No mail for the chat-only group; the client's mail names it by its channel.
    assert [str(m["To"]) for m in mails] == [CLIENT]
    assert "Agency on-call (json)" in text_of(mails[0])
    assert "webhook-json: sent 1 digest to oncall" in first
    summary = schedule.summary()
    assert ("mail", "oncall") not in {(m["channel"], m["group"]) for m in summary["mails"]}
    assert ("webhook-json", "oncall", "sent") in {
        (m["channel"], m["group"], m["status"]) for m in summary["mails"]
    }
    assert "oncall" not in state_of(schedule)["pending"]

    # Alerted once: the next failing run posts nothing; the resolved notice comes
    # after two passing runs, as the group's mail would.
    run(schedule, hooks, T0 + timedelta(minutes=15), VAT)
    assert oncall.new() == []
    run(schedule, hooks, T0 + timedelta(minutes=30), None)
    last = run(schedule, hooks, T0 + timedelta(minutes=45), None)
    [resolved] = oncall.new()
    assert (resolved["kind"], resolved["incidents"][0]["kind"]) == ("resolved", "resolved")
    assert subjects(schedule.new_mail(), CLIENT) == [
        "[erpwatch] Opgelost: Bestellingen bereiken het ERP weer"
    ]
    assert_nothing_holds_a_key(tmp_path, first, last)


def test_a_group_with_neither_addresses_nor_a_webhook_is_refused_in_one_line_naming_both_fixes(
    tmp_path: Path,
) -> None:
    config = tmp_path / "erpwatch.toml"
    config.write_text(
        CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports").replace(
            'webhook = "json"\nwebhook_env = "ONCALL_WEBHOOK"\n', ""
        )
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(config, clean_environment(**{k: "https://h.example/k" for k in KEYS_ENV}))
    shown = str(raised.value)
    assert (
        "groups.oncall: has no addresses; add addresses, or give it a webhook "
        "(webhook and webhook_env) to hear by chat only"
        in f"{raised.value.key}: {raised.value.problem}"
    ), shown
    assert "\n" not in shown


KEYS_ENV = ("ONCALL_WEBHOOK", "CLIENT_SLACK_WEBHOOK", "AGENCY_WEBHOOK")


def test_the_monthly_report_names_a_chat_only_group_by_its_channel_never_its_address(
    tmp_path: Path,
) -> None:
    config = tmp_path / "erpwatch.toml"
    config.write_text(CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports"))
    urls = {
        "ONCALL_WEBHOOK": f"https://hooks.example/erpwatch/{ONCALL_KEY}",
        "CLIENT_SLACK_WEBHOOK": f"https://hooks.slack.example/services/{CLIENT_KEY}",
        "AGENCY_WEBHOOK": f"https://hooks.example/erpwatch/{AGENCY_KEY}",
    }
    settings = load_settings(config, clean_environment(**urls))
    report = month_report([], "2026-11", "Europe/Brussels", ["orders"], {}, T0)
    message = render_month(report, settings.mail.groups["oncall"], settings)
    lines = [line.strip() for line in message.text.splitlines()]
    assert "Agency on-call: json" in lines
    assert "client: owner@webshop.example" in lines
    for key in KEYS:
        assert key not in message.text + message.html
    assert "hooks.example" not in message.text + message.html
    # The report itself is a mail: a chat-only group is not among those who get it,
    # and naming it is one line.
    assert "oncall" not in settings.monthly_groups
    assert "client" in settings.monthly_groups
    config.write_text(
        config.read_text().replace("[erpwatch]\n", '[erpwatch]\nmonthly_report = ["oncall"]\n', 1)
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, clean_environment(**urls))
    assert caught.value.key == "erpwatch.monthly_report"
    assert "has no mail address (chat only)" in str(caught.value)


# -- nothing lost when chat is down ----------------------------------------------


def test_a_post_the_webhook_did_not_take_is_posted_by_the_next_run_once_and_no_mail_is_sent_again(
    schedule: Schedule, hooks: dict[str, Receiver], tmp_path: Path
) -> None:
    oncall = hooks["oncall"]
    oncall.status = 503
    first = run(schedule, hooks, T0, VAT)
    assert "webhook-json: NOT SENT to oncall: the json webhook at 127.0.0.1:" in first
    assert "answered 503: unavailable: [redacted]; kept, and the next run posts it again" in first
    assert subjects(schedule.new_mail(), CLIENT) == [
        "[erpwatch] Bestellingen bereiken het ERP niet"
    ]
    [kept] = state_of(schedule)["chat"]["oncall"]
    assert (kept["tries"], kept["message"]["kind"]) == (1, "alert")
    run_id = schedule.summary()["run_id"]

    oncall.status = 200
    second = run(schedule, hooks, T0 + timedelta(minutes=15), VAT)
    [alert] = oncall.new()
    # The alert as the first run wrote it; the mail was delivered then: not again.
    assert (alert["kind"], alert["run_id"]) == ("alert", run_id)
    assert schedule.new_mail() == []
    assert "oncall" not in state_of(schedule)["chat"]

    run(schedule, hooks, T0 + timedelta(minutes=30), VAT)
    assert oncall.new() == []  # never twice
    assert_nothing_holds_a_key(tmp_path, first, second)


def test_a_mail_that_failed_is_sent_again_by_the_next_run_without_its_chat_posted_twice(
    schedule: Schedule, hooks: dict[str, Receiver], tmp_path: Path
) -> None:
    first = run(schedule, hooks, T0, VAT, SMTP_PORT=str(free_port()))
    assert "mail: NOT SENT to client: cannot reach the mail server" in first
    assert len(hooks["client"].new()) == 1
    assert len(hooks["oncall"].new()) == 1

    second = run(schedule, hooks, T0 + timedelta(minutes=15), VAT)
    assert subjects(schedule.new_mail(), CLIENT) == [
        "[erpwatch] Bestellingen bereiken het ERP niet"
    ]
    assert hooks["client"].new() == []
    assert hooks["oncall"].new() == []
    assert_nothing_holds_a_key(tmp_path, first, second)


def test_kept_posts_are_bounded_by_count_and_age_and_a_webhook_down_is_called_once_per_run(
    schedule: Schedule, hooks: dict[str, Receiver], tmp_path: Path
) -> None:
    def kept(index: int, at: Any) -> dict[str, Any]:
        return {
            "id": f"post-{index}",
            "queued_at": at.isoformat(),
            "tries": 3,
            "eml": str(tmp_path / "reports" / "outbox" / f"old-{index}.eml"),
            "message": {
                "event": "digest", "kind": "alert", "subject": f"old alert {index}", "intro": "",
                "incidents": [], "failures": [], "problems": [], "run_id": f"old-{index}",
                "run_url": None,
            },
        }  # fmt: skip

    stale = kept(0, T0 - timedelta(hours=25))
    fresh = [kept(i, T0 - timedelta(hours=2) + timedelta(seconds=i)) for i in range(1, 21)]
    schedule.state_file.parent.mkdir(parents=True)
    schedule.state_file.write_text(json.dumps({"schema": 1, "chat": {"oncall": [stale, *fresh]}}))
    oncall = hooks["oncall"]
    oncall.status = 503
    output = run(schedule, hooks, T0, VAT)
    assert "chat: 1 post to oncall dropped, not taken by its webhook for 24 h" in output
    assert "webhook-json: 1 older post to oncall dropped: at most 20 are kept per group" in output
    assert (
        "webhook-json: NOT SENT to oncall: not tried: the webhook failed earlier in this run"
        in output
    )
    posts = state_of(schedule)["chat"]["oncall"]
    assert len(posts) == 20
    assert [p["id"] for p in posts[:19]] == [f"post-{i}" for i in range(2, 21)]
    assert posts[-1]["message"]["kind"] == "alert"  # this run's, the newest

    oncall.status = 200
    run(schedule, hooks, T0 + timedelta(minutes=15), VAT)
    taken = oncall.new()
    assert [p["subject"] for p in taken[:19]] == [f"old alert {i}" for i in range(2, 21)]
    assert len(taken) == 20
    assert "oncall" not in state_of(schedule)["chat"]


# -- the maintainers' channel ------------------------------------------------------


def test_the_maintainers_channel_hears_of_failing_mail_when_it_changes_and_then_every_remind_hours(
    schedule: Schedule, hooks: dict[str, Receiver]
) -> None:
    closed = str(free_port())
    agency = hooks["agency"]
    run(schedule, hooks, T0, VAT, SMTP_PORT=closed)
    [notice] = agency.new()
    assert notice["event"] == "mail_failed"
    run(schedule, hooks, T0 + timedelta(minutes=15), VAT, SMTP_PORT=closed)
    assert agency.new() == []  # the same mail failing for the same reason: said already
    run(schedule, hooks, T0 + timedelta(hours=4, minutes=1), VAT, SMTP_PORT=closed)
    [again] = agency.new()  # [alerts] remind_every_hours (4 by default) later
    assert again["event"] == "mail_failed"
    run(schedule, hooks, T0 + timedelta(hours=4, minutes=15), VAT)
    assert agency.new() == []  # delivered: nothing to say
    run(schedule, hooks, T0 + timedelta(hours=8, minutes=30), VAT, SMTP_PORT=closed)
    [new_failure] = agency.new()  # after a delivery, a failure is news again at once
    assert new_failure["event"] == "mail_failed"


# -- erpwatch test-mail ----------------------------------------------------------------


def test_mail(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "test-mail", *args],
        cwd=project,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


test_mail.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def test_test_mail_also_posts_to_each_webhook_and_says_which_to_fix(
    tmp_path: Path, hooks: dict[str, Receiver]
) -> None:
    (tmp_path / "erpwatch.toml").write_text(
        CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports")
    )
    server = start_smtp(tmp_path)
    hooks["oncall"].status = 404
    try:
        result = test_mail(
            tmp_path, **server.env, **env_of(hooks), MAIL_FROM="monitoring@agency.example"
        )
        only = test_mail(
            tmp_path, "--group", "client", **server.env, **env_of(hooks),
            MAIL_FROM="monitoring@agency.example",
        )  # fmt: skip
    finally:
        server.stop()
    oncall_at = hooks["oncall"].server.url.removeprefix("http://")
    client_at = hooks["client"].server.url.removeprefix("http://")
    agency_at = hooks["agency"].server.url.removeprefix("http://")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "client: sent to owner@webshop.example",
        f"client: webhook-slack: posted to {client_at}",
        f"oncall: webhook-json: FAILED: the json webhook at {oncall_at} (ONCALL_WEBHOOK) "
        "answered 404: unavailable: [redacted]; check ONCALL_WEBHOOK (the webhook may have "
        "been removed or its key renewed)",
        "maintainers: sent to dev@agency.example",
        f"maintainers: webhook-json: posted to {agency_at}",
    ]
    slack, _ = hooks["client"].new()  # one post per command: all groups, then --group client
    assert slack["text"].startswith("[erpwatch] Testbericht voor client\n")
    [post] = hooks["agency"].new()
    assert (post["event"], post["group"]) == ("test", "maintainers")
    assert "when a mail was not delivered" in post["text"]
    # Two mails in all: none for the chat-only group.
    assert sorted(str(m["To"]) for m in server.inbox.messages[:2]) == [
        "dev@agency.example",
        "owner@webshop.example",
    ]
    assert only.returncode == 0, only.stdout + only.stderr
    assert only.stdout.splitlines() == [
        "client: sent to owner@webshop.example",
        f"client: webhook-slack: posted to {client_at}",
    ]
    for key in KEYS:
        assert key not in result.stdout + result.stderr


def test_preview_shows_a_chat_only_groups_digest_with_its_channel_for_an_address(
    tmp_path: Path,
) -> None:
    (tmp_path / "erpwatch.toml").write_text(
        CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports")
    )
    urls = {
        "ONCALL_WEBHOOK": f"https://hooks.example/erpwatch/{ONCALL_KEY}",
        "CLIENT_SLACK_WEBHOOK": f"https://hooks.slack.example/services/{CLIENT_KEY}",
        "AGENCY_WEBHOOK": f"https://hooks.example/erpwatch/{AGENCY_KEY}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "preview", "--example"],
        cwd=tmp_path,
        env=clean_environment(**urls),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "client (nl) → owner@webshop.example" in lines
    assert "oncall (en) → json (chat only: no mail)" in lines
    [client_text] = (tmp_path / "reports" / "preview").glob("*-client.txt")
    assert "Agency on-call (json)" in client_text.read_text("utf-8")
    for key in KEYS:
        assert key not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("wrong", "right", "key"),
    [
        ('webhook = ["json"]', 'webhook = "json"', "groups.oncall.webhook"),
        ("webhook = {}", 'webhook = "json"', "groups.oncall.webhook"),
        ('role = ["agency"]', 'role = "agency"', "groups.oncall.role"),
    ],
)
def test_a_webhook_or_role_of_the_wrong_kind_is_one_line_not_a_traceback(
    tmp_path: Path, wrong: str, right: str, key: str
) -> None:
    config = tmp_path / "erpwatch.toml"
    text = CONFIG.format(monitors=REPO / "monitors", reports=tmp_path / "reports")
    assert right in text
    config.write_text(text.replace(right, wrong, 1))
    with pytest.raises(ConfigError) as raised:
        load_settings(config, clean_environment(**{k: "https://h.example/k" for k in KEYS_ENV}))
    assert raised.value.key == key


def test_the_maintainers_hear_again_when_the_failing_groups_or_reply_change_not_a_session_id() -> (
    None
):
    from erpwatch.notify._webhook import ChatFailure, failures_fingerprint

    def failing(error: str, group: str = "client") -> list[ChatFailure]:
        return [ChatFailure(group, "[erpwatch] Orders", error)]

    gmail = "421 4.7.0 Try again later, closing connection. {} - gsmtp"
    assert failures_fingerprint(failing(gmail.format("a1b2c3d4e5f6"))) == failures_fingerprint(
        failing(gmail.format("9f8e7d6c5b4a"))
    )
    assert failures_fingerprint(failing("421 busy")) != failures_fingerprint(failing("535 login"))
    assert failures_fingerprint(failing("421 busy")) != failures_fingerprint(
        failing("421 busy", group="erp_partner")
    )

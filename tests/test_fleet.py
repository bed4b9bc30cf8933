"""`erpwatch fleet` as an agency runs it: several clients from one repository,
each its own pytest session with its own settings, state, mails and reports,
one client's trouble never stopping another's, and an overview of them all.

The fleets run as the command does (a process of its own), against real loopback
sandboxes and a real SMTP server; the mails are parsed back."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from erpwatch.fleet import discover
from erpwatch.sandbox import RunningSandbox, SandboxApp, parse_fault, start

from .smtp_server import RunningSmtp, free_port, text_of
from .support import REPO, clean_environment

EXAMPLES = ("brasserie-de-gouden-leeuw", "librairie-du-parc")


def make_project(root: Path) -> Path:
    """A copy of the repository as a fresh clone has it: monitors, clients, settings."""
    for name in ("monitors", "clients"):
        shutil.copytree(
            REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", ".env")
        )
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy(REPO / name, root / name)
    return root


def add_client(project: Path, name: str, like: str, env: dict[str, str] | None = None) -> Path:
    folder = project / "clients" / name
    shutil.copytree(project / "clients" / like, folder)
    if env is not None:
        write_env(folder / ".env", env)
    return folder


def client_with_monitor(
    project: Path, name: str, body: str, env: dict[str, str] | None = None
) -> Path:
    """A copy of the bookshop whose own monitor (its catalogue's) does ``body``."""
    folder = add_client(project, name, like="librairie-du-parc", env=env)
    monitor = "import os, signal, time\nimport pytest\n\n@pytest.mark.process('catalogue')\n"
    body = "".join(f"    {line}\n" for line in body.splitlines())
    (folder / "monitors" / "test_catalogue.py").write_text(
        f"{monitor}def test_it() -> None:\n{body}"
    )
    return folder


def write_env(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")


def no_retry_delay(config: Path) -> None:
    """Transient failures are re-run after [alerts] retry_delay: none in a test."""
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[alerts]\n", "[alerts]\nretry_delay = 0.01\n", 1), encoding="utf-8"
    )


def fleet(
    project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "fleet", *args],
        cwd=project,
        env=env if env is not None else clean_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def overview(project: Path) -> dict[str, dict[str, object]]:
    data = json.loads((project / "reports" / "fleet.json").read_text(encoding="utf-8"))
    return {entry["client"]: entry for entry in data["clients"]}


@pytest.fixture
def broken_orders() -> Iterator[RunningSandbox]:
    """A sandbox whose ERP refuses every new sales order with a 503."""
    with start(SandboxApp()) as running:
        running.app.faults.add(parse_fault("unavailable:salesOrders:POST"))
        yield running


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_a_fleet_mails_each_clients_groups_in_their_languages_and_a_bad_config_stops_no_one(
    tmp_path: Path, smtp: RunningSmtp, broken_orders: RunningSandbox
) -> None:
    project = make_project(tmp_path / "agency")
    # Shared by every client: the agency's mail server.
    write_env(project / "clients" / ".env", smtp.env)
    # The French bookshop's ERP refuses orders: its owner (fr) and partner (nl) hear it.
    write_env(
        project / "clients" / "librairie-du-parc" / ".env",
        {**broken_orders.settings(), "CLIENT_EMAILS": "gerance@parc.example",
         "ERP_PARTNER_EMAILS": "support@vanderbeke.example"},
    )  # fmt: skip
    no_retry_delay(project / "clients" / "librairie-du-parc" / "erpwatch.toml")
    # A third client whose ERP does not answer at all (nothing listens there).
    down = closed_port_url()
    add_client(
        project, "bakkerij-peeters", like="brasserie-de-gouden-leeuw",
        env={"ERP_BASE_URL": f"{down}/api/v2.0", "ERP_TOKEN_URL": f"{down}/token",
             "ERP_CLIENT_ID": "peeters", "ERP_CLIENT_SECRET": "peeters-erp-secret-0042",
             "CLIENT_EMAILS": "winkel@peeters.example", "ERP_PARTNER_EMAILS": "erp@acme.example"},
    )  # fmt: skip
    no_retry_delay(project / "clients" / "bakkerij-peeters" / "erpwatch.toml")
    # A fourth whose configuration is wrong.
    wrong = add_client(project, "wrong-config", like="brasserie-de-gouden-leeuw")
    text = (wrong / "erpwatch.toml").read_text(encoding="utf-8")
    (wrong / "erpwatch.toml").write_text(text.replace('language = "nl"', 'language = "de"', 1))

    done = fleet(project)

    assert done.returncode == 4, done.stdout + done.stderr  # the worst: a configuration to fix
    assert "Traceback" not in done.stdout + done.stderr
    bad = [line for line in done.stdout.splitlines() if "wrong-config" in line]
    assert len(bad) == 1, done.stdout
    assert "CONFIG ERROR" in bad[0]
    assert "language" in bad[0]
    entries = overview(project)
    assert {name: entries[name]["end"] for name in entries} == {
        "brasserie-de-gouden-leeuw": "passed",  # its own built-in sandbox, as on a fresh clone
        "librairie-du-parc": "failed",
        "bakkerij-peeters": "failed",
        "wrong-config": "config_error",
    }
    page = (project / "reports" / "index.html").read_text(encoding="utf-8")
    for title in ("Brasserie De Gouden Leeuw", "Librairie du Parc", "wrong-config"):
        assert title in page

    def mails_to(address: str) -> list[EmailMessage]:
        return smtp.inbox.for_address(address)

    # Each client's mails go to its own groups, in their languages, with its titles.
    owner_fr, partner_nl = mails_to("gerance@parc.example"), mails_to("support@vanderbeke.example")
    assert len(owner_fr) == 1
    assert len(partner_nl) == 1
    assert "Les commandes n'arrivent pas" in text_of(owner_fr[0])
    assert "Vanderbeke ERP" in text_of(owner_fr[0])  # this client's partner, by its name
    assert "Bestellingen bereiken het ERP niet" in text_of(partner_nl[0])
    assert "Librairie du Parc" in text_of(partner_nl[0])
    assert "Customer" not in str(owner_fr[0]["Subject"])  # customers go to the partner only
    shop_nl, partner_en = mails_to("winkel@peeters.example"), mails_to("erp@acme.example")
    assert len(shop_nl) == 1
    assert len(partner_en) == 1
    assert "ERP onbereikbaar" in text_of(shop_nl[0])
    assert "Brasserie De Gouden Leeuw" in text_of(partner_en[0])  # the copied client's own name
    # Nobody else got anything: the passing client mailed no one, the broken one did not run.
    everyone = {address for rcpts in smtp.inbox.recipients for address in rcpts}
    assert everyone == {"gerance@parc.example", "support@vanderbeke.example",
                        "winkel@peeters.example", "erp@acme.example"}  # fmt: skip
    # A client's secret stays in its own run: not in the fleet's output or overview.
    shown = done.stdout + done.stderr + page + (project / "reports" / "fleet.json").read_text()
    assert "peeters-erp-secret-0042" not in shown
    assert (
        "peeters-erp-secret-0042"
        not in (project / "reports" / "bakkerij-peeters" / "run.log").read_text()
    )


def test_the_example_clients_run_on_a_fresh_clone_and_a_crash_in_one_stops_no_other(
    tmp_path: Path, smtp: RunningSmtp, heartbeat_server: tuple[str, list[str]]
) -> None:
    project = make_project(tmp_path / "agency")
    url, pings = heartbeat_server
    client_with_monitor(
        project, "crashes", "os.kill(os.getpid(), signal.SIGKILL)",
        env={**smtp.env, "MAINTAINER_EMAILS": "oncall@agency.example", "ERPWATCH_HEARTBEAT_URL": url},
    )  # fmt: skip

    done = fleet(project, "--jobs", "2")

    assert done.returncode == 3, done.stdout + done.stderr  # erpwatch broke for one client
    entries = overview(project)
    assert [entries[name]["end"] for name in EXAMPLES] == ["passed", "passed"]
    assert entries["crashes"]["end"] == "broken"
    assert "signal 9" in str(entries["crashes"]["problem"])
    # It could not say so itself: the fleet told its maintainers and its dead man's switch.
    (told,) = smtp.inbox.for_address("oncall@agency.example")
    assert "ended abruptly (signal 9)" in text_of(told)
    assert "test_catalogue.py" in text_of(told)  # the end of its log
    assert pings == ["/ping/abc/fail"]
    # Progress: one line per client as it ends, counted.
    counted = [line for line in done.stdout.splitlines() if line.lstrip().startswith("[")]
    assert sorted(line.split("]")[0].strip(" [") for line in counted) == ["1/3", "2/3", "3/3"]
    for name in EXAMPLES:
        folder = project / "reports" / name
        assert (folder / "summary.json").is_file()
        assert (folder / "index.html").is_file()
        assert entries[name]["dashboard"] == f"{name}/index.html"


def test_only_the_named_clients_run_and_an_unknown_name_is_one_line(tmp_path: Path) -> None:
    project = make_project(tmp_path / "agency")

    done = fleet(project, "--clients", "librairie-du-parc")
    unknown = fleet(project, "--clients", "librairie-du-parc,nobody")

    assert done.returncode == 0, done.stdout + done.stderr
    assert list(overview(project)) == ["librairie-du-parc"]
    assert unknown.returncode == 4
    assert unknown.stderr.strip().splitlines() == [
        "erpwatch fleet: --clients: no client 'nobody'; clients: "
        "brasserie-de-gouden-leeuw, librairie-du-parc"
    ]


def test_ctrl_c_stops_each_running_client_honestly_and_still_writes_the_overview(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "agency")
    for name in ("slow-one", "slow-two", "waiting"):
        client_with_monitor(project, name, "time.sleep(120)")
    process = subprocess.Popen(
        [sys.executable, "-m", "erpwatch.cli", "fleet", "--jobs", "2",
         "--clients", "slow-one,slow-two,waiting"],
        cwd=project, env=clean_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _running_catalogue(project, ("slow-one", "slow-two")):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=90)

    assert process.returncode == 2, out + err
    entries = overview(project)
    assert entries["slow-one"]["end"] == entries["slow-two"]["end"] == "interrupted"
    assert entries["waiting"]["end"] == "not_run"
    for name in ("slow-one", "slow-two"):
        summary = json.loads((project / "reports" / name / "summary.json").read_text())
        assert summary["outcome"] == "interrupted"
        assert "SIGTERM" in summary["interrupted"]


def _running_catalogue(project: Path, names: tuple[str, ...]) -> bool:
    """Both clients have reached their waiting monitor (their logs show it)."""
    logs = [project / "reports" / name / "run.log" for name in names]
    return all(log.is_file() and "test_catalogue.py" in log.read_text() for log in logs)


def test_a_client_whose_process_cannot_start_is_reported_and_the_next_one_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from erpwatch.fleet import _runner

    project = make_project(tmp_path / "agency")
    real = _runner._context()
    starts: list[str] = []

    class OneRefused:
        """A start method that refuses the first process, as an exhausted machine would."""

        def Process(self, **kwargs: object) -> object:
            process = real.Process(**kwargs)  # type: ignore[attr-defined]
            if not starts:
                starts.append("refused")
                process.start = lambda: (_ for _ in ()).throw(
                    OSError(11, "Resource temporarily unavailable")
                )
            return process

    monkeypatch.setattr(_runner, "_context", OneRefused)
    monkeypatch.chdir(project)
    environ = clean_environment()
    prepared = [
        _runner.prepare(client, project, environ, project / "reports", None)
        for client in discover(project)
    ]  # fmt: skip
    said: list[str] = []

    ends = _runner.FleetRun(
        project, 1, lambda e, n, t: said.append(e.client), lambda n, s: None
    ).run([p for p in prepared if isinstance(p, _runner.Prepared)], 2, 0)

    assert [e.end for e in ends] == ["broken", "passed"]
    assert "could not be started" in ends[0].problem
    assert "Resource temporarily unavailable" in ends[0].problem
    assert said == ["brasserie-de-gouden-leeuw", "librairie-du-parc"]


def test_test_mail_for_one_client_uses_the_settings_the_fleet_would_give_it(
    tmp_path: Path, smtp: RunningSmtp
) -> None:
    project = make_project(tmp_path / "agency")
    write_env(project / "clients" / ".env", smtp.env)  # shared: the agency's mail server

    done = subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "test-mail", "--client", "librairie-du-parc"],
        cwd=project, env=clean_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    (owner,) = smtp.inbox.for_address("gerance@librairieduparc.example")
    (partner,) = smtp.inbox.for_address("support@vanderbeke-erp.example")
    # The owner reads French and hears of orders and payments only, as this client routes them.
    assert "Commandes web et Paiements Bancontact et carte" in text_of(owner)
    assert "Webbestellingen" in text_of(partner)  # the partner reads Dutch


def test_a_client_removed_since_the_last_run_is_no_longer_in_the_overview_or_the_status(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "agency")
    gone = add_client(project, "gone-now", like="librairie-du-parc")
    write_env(gone / ".env", {"SMTP_PORT": "not-a-port"})
    assert fleet(project).returncode == 4
    shutil.rmtree(gone)

    done = fleet(project, "--clients", "librairie-du-parc")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "gone-now" not in overview(project)
    assert "gone-now" not in (project / "reports" / "index.html").read_text(encoding="utf-8")


def test_a_value_from_a_secret_is_taken_as_written_and_never_quoted_in_an_error(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "agency")
    secrets = {
        "ERPWATCH_ENV_LIBRAIRIE_DU_PARC": "ERPWATCH_HEARTBEAT_URL=hc-ping.com/8f3e2c1a-0b7d-4e55\n"
        "ERP_SCOPE=${ERPWATCH_SECRETS}\n",
        "ERPWATCH_ENV_BRASSERIE_DE_GOUDEN_LEEUW": "ERP_CLIENT_SECRET=TopSecretBrasserie123\n",
    }  # fmt: skip

    done = fleet(project, env=clean_environment(ERPWATCH_SECRETS=json.dumps(secrets)))

    (line,) = [line for line in done.stdout.splitlines() if "librairie-du-parc:" in line]
    assert "ERPWATCH_HEARTBEAT_URL (secret ERPWATCH_ENV_LIBRAIRIE_DU_PARC)" in line
    shown = done.stdout + done.stderr + (project / "reports" / "fleet.json").read_text()
    shown += (project / "reports" / "index.html").read_text()
    assert "8f3e2c1a" not in shown
    assert "TopSecretBrasserie123" not in shown


def test_the_fleets_deadline_stops_the_running_client_and_starts_no_other(tmp_path: Path) -> None:
    project = make_project(tmp_path / "agency")
    for name in ("a-sleepy", "b-next-in-line"):
        client_with_monitor(project, name, "time.sleep(120)")

    done = fleet(
        project, "--clients", "a-sleepy,b-next-in-line", "--jobs", "1", "--deadline", "0.2"
    )

    assert done.returncode == 2, done.stdout + done.stderr
    entries = overview(project)
    assert entries["a-sleepy"]["end"] == "interrupted"
    assert entries["b-next-in-line"]["end"] == "not_run"
    assert "deadline" in str(entries["b-next-in-line"]["problem"])


def test_no_client_process_can_read_the_fleets_secrets_from_where_it_was_forked(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "agency")
    client_with_monitor(
        project, "probe",
        "for pid in (os.getpid(), os.getppid()):\n"
        "    with open(f'/proc/{pid}/environ', 'rb') as stream:\n"
        "        assert b'OtherClientsSecret42' not in stream.read()",
    )  # fmt: skip
    secrets = {"ERPWATCH_ENV_OTHER": "ERP_CLIENT_SECRET=OtherClientsSecret42\n"}

    done = fleet(
        project, "--clients", "probe", env=clean_environment(ERPWATCH_SECRETS=json.dumps(secrets))
    )

    assert done.returncode == 0, (project / "reports" / "probe" / "run.log").read_text()


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (("--reports", "README.md"), "--reports (command line): "),
        (("--state", "README.md"), "--state (command line): "),
        (("--clients", ","), "--clients: name at least one client"),
    ],
)
def test_a_folder_that_is_a_file_or_an_empty_choice_is_one_line(
    tmp_path: Path, option: tuple[str, ...], problem: str
) -> None:
    project = make_project(tmp_path / "agency")
    (project / "README.md").write_text("not a folder\n", encoding="utf-8")

    done = fleet(project, *option)

    assert done.returncode == 4
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"erpwatch fleet: {problem}")


def test_a_project_with_one_config_runs_as_a_fleet_of_one_and_keeps_its_dashboard(
    tmp_path: Path,
) -> None:
    project = tmp_path / "one-shop"
    shutil.copytree(
        REPO / "monitors", project / "monitors", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("conftest.py", "pyproject.toml", "erpwatch.toml"):
        shutil.copy(REPO / name, project / name)

    done = fleet(project)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "[1/1] Brasserie De Gouden Leeuw    passed" in done.stdout
    (entry,) = json.loads((project / "reports" / "fleet.json").read_text())["clients"]
    assert (entry["client"], entry["title"]) == ("", "Brasserie De Gouden Leeuw")
    dashboard = (project / "reports" / "index.html").read_text(encoding="utf-8")
    assert "every client" not in dashboard  # still its own dashboard, not an overview
    assert (project / "reports" / "summary.json").is_file()


def test_processes_are_chosen_per_client_and_one_without_them_sits_out(tmp_path: Path) -> None:
    project = make_project(tmp_path / "agency")

    punchout = fleet(project, env=clean_environment(ERPWATCH_PROCESSES="punchout"))
    typo = fleet(project, env=clean_environment(ERPWATCH_PROCESSES="punchuot"))

    assert punchout.returncode == 0, punchout.stdout + punchout.stderr
    entries = overview(project)
    assert entries["librairie-du-parc"]["end"] == "skipped"  # no punchout there
    assert entries["brasserie-de-gouden-leeuw"]["end"] == "passed"
    ran = json.loads(
        (project / "reports" / "brasserie-de-gouden-leeuw" / "summary.json").read_text()
    )
    assert {m["process"] for m in ran["monitors"]} == {"punchout"}
    assert typo.returncode == 4
    assert (
        typo.stderr.strip()
        .splitlines()[-1]
        .startswith("erpwatch fleet: ERPWATCH_PROCESSES: no client declares 'punchuot'; declared: ")
    )


def test_test_mail_for_a_client_never_quotes_a_value_from_a_secret(tmp_path: Path) -> None:
    project = make_project(tmp_path / "agency")
    secrets = {"ERPWATCH_ENV_LIBRAIRIE_DU_PARC": "SMTP_HOST=h\nSMTP_PORT=hunter2port\n"}

    done = subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "test-mail", "--client", "librairie-du-parc"],
        cwd=project, env=clean_environment(ERPWATCH_SECRETS=json.dumps(secrets)),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    two = subprocess.run(
        [sys.executable, "-m", "erpwatch.cli", "preview", "--client", "a-shop,b-shop"],
        cwd=project, env=clean_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 2
    assert "hunter2port" not in done.stdout + done.stderr
    assert "SMTP_PORT (secret ERPWATCH_ENV_LIBRAIRIE_DU_PARC)" in done.stderr
    assert two.returncode == 2
    assert "Traceback" not in two.stderr


def test_a_client_stopped_by_the_fleet_before_it_could_report_is_interrupted_not_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: RunningSmtp
) -> None:
    import multiprocessing
    from datetime import UTC, datetime

    from erpwatch.fleet import _runner

    project = make_project(tmp_path / "agency")
    write_env(
        project / "clients" / "librairie-du-parc" / ".env",
        {**smtp.env, "MAINTAINER_EMAILS": "oncall@agency.example"},
    )
    monkeypatch.chdir(project)
    client = next(c for c in discover(project) if c.name == "librairie-du-parc")
    prepared = _runner.prepare(client, project, clean_environment(), project / "reports", None)
    assert isinstance(prepared, _runner.Prepared)
    # A process that has not yet taken SIGTERM as an interruption (still starting).
    process = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    process.start()
    one = _runner._Running(prepared, process, datetime.now(UTC), time.monotonic(), 0.0)
    run = _runner.FleetRun(project, 1, lambda *a: None, lambda *a: None)
    run.stop_requested = True
    run._stop_all([one], kill=False)
    process.join(30)

    entry = run._entry(one)

    assert entry.end == "interrupted"
    assert entry.problem.startswith("stopped while starting: the fleet was stopped")
    assert smtp.inbox.messages == []  # stopped as asked: nobody is told of a crash

"""Known secrets planted in the environment, in .env, in requests and in the ERP's
answers never reach anything a run leaves behind: reports, run result, terminal."""

from __future__ import annotations

import shutil
import socket
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import quote, quote_plus

from erpwatch.sandbox import Credentials, SandboxApp, start
from erpwatch.sandbox.punchout import BuyerCredentials

from .support import REPO, clean_environment, run_pytest

PLANTED = {
    "ERP_CLIENT_SECRET": "planted-erp-secret-7f3a9c",
    "PSP_API_KEY": "test_plantedMollieKey8d2e4b0000000",
    "PUNCHOUT_SHARED_SECRET": "planted-cxml-shared/secret+1",
    "OCI_PASSWORD": "planted-oci-pässword",
    "SMTP_PASSWORD": "planted smtp password 5c1e",
}
IBAN = "BE68539007547034"

LEAKY_MONITOR = """
import pytest
import requests

pytestmark = pytest.mark.process("customers")


def test_a_monitor_that_handles_every_secret_carelessly(erp, erpwatch_settings, synthetic):
    env = erpwatch_settings.env
    print("debug:", env["PSP_API_KEY"], env["SMTP_PASSWORD"])  # captured output lands in the report
    # Secrets in a URL, a header and a body; the sandbox answers 404 and echoes nothing.
    requests.post(
        erp.url("customers") + "?apikey=" + env["PSP_API_KEY"] + "&PASSWORD=" + env["OCI_PASSWORD"],
        headers={"X-Api-Key": env["PSP_API_KEY"], "Authorization": "Basic " + env["SMTP_PASSWORD"]},
        data="<Credential><SharedSecret>" + env["PUNCHOUT_SHARED_SECRET"] + "</SharedSecret></Credential>",
        timeout=5,
    )
    synthetic.create(erp, "customers", {"displayName": "Leak test", "addressLine2": "IBAN BE68539007547034"})
    # The ERP echoes the value it refuses: the secret comes back in the answer and the traceback.
    erp.create("customers", {"displayName": "x" * 90 + env["ERP_CLIENT_SECRET"]})
"""


def readable_text(path: Path) -> str:
    """A file as a person would read it: a mail decoded part by part."""
    if path.suffix != ".eml":
        return path.read_text(encoding="utf-8", errors="replace")
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    parts = [str(value) for value in message.values()]
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            parts.append(
                payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
            )
    return "\n".join(parts)


def test_no_planted_secret_appears_anywhere_a_run_writes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "monitors").mkdir(parents=True)
    for monitor in (REPO / "monitors").glob("test_*.py"):
        shutil.copy(monitor, project / "monitors" / monitor.name)
    (project / "monitors" / "test_leaky.py").write_text(LEAKY_MONITOR)
    shutil.copy(REPO / "conftest.py", project / "conftest.py")
    shutil.copy(REPO / "erpwatch.toml", project / "erpwatch.toml")
    (project / "pytest.ini").write_text("[pytest]\n")
    # Half the secrets come from .env, half from the real environment.
    names = list(PLANTED)
    (project / ".env").write_text("".join(f'{name}="{PLANTED[name]}"\n' for name in names[::2]))
    env = clean_environment(**{name: PLANTED[name] for name in names[1::2]})
    # A mail server that is not there: the digests stay in the outbox, which is checked too.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(closed_port),
        SMTP_SECURITY="none",
        SMTP_USERNAME="erpwatch",
        MAIL_FROM="erpwatch@agency.example",
    )

    app = SandboxApp(credentials=Credentials(client_secret=PLANTED["ERP_CLIENT_SECRET"]))
    # Every party in the sandbox uses the planted secrets, so real traffic carries them.
    app.psp.api_key = PLANTED["PSP_API_KEY"]
    app.punchout.buyer = BuyerCredentials(
        shared_secret=PLANTED["PUNCHOUT_SHARED_SECRET"], oci_password=PLANTED["OCI_PASSWORD"]
    )
    with start(app) as sandbox:
        settings = sandbox.settings()
        for name in names[::2]:  # these come from .env, planted above
            settings.pop(name, None)
        env.update(settings)
        completed = run_pytest("monitors", "-n", "2", cwd=project, env=env)
        tokens = list(app._tokens)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output  # the leaky monitor fails, the others pass
    assert "7 passed" in output
    assert tokens, "the monitors fetched no token, so the check below proves nothing"

    forbidden = {IBAN, *tokens}
    for value in PLANTED.values():
        forbidden |= {value, quote(value, safe=""), quote_plus(value)}
    written = [p for p in (project / "reports").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"summary.json", "report.html"}
    assert any(p.suffix == ".eml" for p in written), (
        "no mail was composed, so mails were not checked"
    )
    for path in written:
        text = readable_text(path)
        for value in forbidden:
            assert value not in text, f"{value!r} leaked into {path.name}"
        if path.suffix in (".json", ".html", ".eml") and path.name != "state.json":
            assert "[redacted]" in text, f"{path.name} shows no sign of redaction"
    for value in forbidden:
        assert value not in output, f"{value!r} leaked into the terminal output"

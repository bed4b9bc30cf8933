"""Text from a hostile ERP is made safe once, where it is captured: invalid
Unicode (a lone surrogate in valid JSON, invalid UTF-8) is replaced, and control
characters (terminal escapes, NUL, bidirectional overrides) are shown as
escapes, so the run still reports, and neither the terminal nor a mail obeys them."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from werkzeug.wrappers import Request, Response

from .loopback import serve
from .smtp_server import RunningSmtp
from .support import clean_environment, read_summary, run_pytest
from .test_secrets_in_every_form import CONFIG

# Valid JSON: the escapes decode to a lone surrogate, ESC … BEL (sets a
# terminal's title), a right-to-left override and NUL.
JSON_ERROR = (
    b'{"error": {"code": "BadRequest", "message": "lone \\ud800 '
    b'\\u001b]0;owned\\u0007 \\u202eevil\\u202c nul\\u0000 end"}}'
)
# Not even UTF-8: clear-screen, invalid bytes, a raw NUL and a raw U+202E.
TEXT_ERROR = b"\x1b[2J\x1b]0;pwned\x07 \xff\xfe nul\x00 \xe2\x80\xae rtl"

MONITORS = """
import pytest

pytestmark = pytest.mark.process("customers")


def test_the_erp_answers_with_a_lone_surrogate_and_escapes(erp):
    erp.create("customers", {"displayName": "Hostile text"})


def test_the_erp_answers_with_control_bytes_in_plain_text(erp):
    erp.request("GET", "customers")
"""

UNSAFE = ("\x1b", "\x07", "\x00", "\u202e", "\u202c", "\ud800")


def hostile(request: Request) -> Response:
    if request.path == "/token":
        return Response(
            '{"access_token": "t0ken-1234", "expires_in": 3599}', content_type="application/json"
        )
    if request.method == "POST":
        return Response(JSON_ERROR, status=400, content_type="application/json")
    return Response(TEXT_ERROR, status=500, content_type="text/plain")


def readable(path: Path) -> str:
    """A file's text as its reader gets it: JSON decoded, HTML character references resolved."""
    text = path.read_bytes().decode("utf-8")  # every file must be valid UTF-8
    if path.suffix == ".json":
        return json.dumps(json.loads(text), ensure_ascii=False)
    if path.suffix == ".jsonl":
        return "\n".join(
            json.dumps(json.loads(line), ensure_ascii=False) for line in text.splitlines()
        )
    text = html.unescape(text) if path.suffix == ".html" else text
    if path.name == "report.html":
        # pytest-html embeds its data as JSON: decode its \\u escapes (after an even
        # run of backslashes; after an odd one the backslash is visible text).
        text = JSON_ESCAPE.sub(lambda m: m.group(1) + chr(int(m.group(2), 16)), text)
    return text


JSON_ESCAPE = re.compile(r"((?:^|[^\\])(?:\\\\)*)\\u([0-9a-fA-F]{4})")


def test_hostile_erp_text_is_made_safe_for_terminal_files_and_mail(
    tmp_path: Path, smtp: RunningSmtp
) -> None:
    project = tmp_path / "project"
    (project / "monitors").mkdir(parents=True)
    (project / "erpwatch.toml").write_text(CONFIG)
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "monitors" / "test_hostile.py").write_text(MONITORS)
    with serve(hostile) as erp:
        env = clean_environment(
            ERP_BASE_URL=f"{erp.url}/api/v2.0",
            ERP_TOKEN_URL=f"{erp.url}/token",
            ERP_CLIENT_ID="client",
            ERP_CLIENT_SECRET="client-secret-1234",
            ERP_COMPANY_ID="5b1c6a8e-2f0e-4c59-9a55-0c6f1a3e7d21",
            MAIL_FROM="erpwatch@agency.example",
            **smtp.env,
        )
        completed = run_pytest("monitors", "-n", "2", cwd=project, env=env)
    output = completed.stdout + completed.stderr

    # The run reports: two failed monitors, not an internal error.
    assert completed.returncode == 1, output
    summary = read_summary(project / "reports" / "summary.json")
    assert [m["status"] for m in summary["monitors"]] == ["failed", "failed"]
    assert "INTERNALERROR" not in output

    # What the ERP said is still there to read, made visible.
    assert "lone \ufffd \\x1b]0;owned\\x07 \\u202eevil\\u202c nul\\x00 end" in output
    assert "\\x1b[2J\\x1b]0;pwned\\x07 \ufffd\ufffd nul\\x00 \\u202e rtl" in output
    for char in UNSAFE:
        assert char not in output, f"{char!r} reached the terminal"
    for path in (project / "reports").rglob("*"):
        if path.is_file() and path.suffix != ".eml":
            for char in UNSAFE:
                assert char not in readable(path), f"{char!r} reached {path.name}"

    assert len(smtp.inbox.messages) == 2  # the client and the ERP partner
    for message in smtp.inbox.messages:
        assert b"\x00" not in message.as_bytes()
        for part in message.walk():
            if not part.is_multipart():
                content = str(part.get_content())
                for char in UNSAFE:
                    assert char not in content, f"{char!r} reached a mail"

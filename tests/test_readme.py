"""The README as a newcomer reads it: every file it links to is there."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .support import REPO, clean_environment

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_file_the_readme_links_to_exists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    targets = {t for t in LINK.findall(readme) if "://" not in t and not t.startswith("mailto:")}
    assert targets, "the README links to no files: the pattern no longer matches its links"
    missing = sorted(t for t in targets if not (REPO / t).exists())
    assert missing == [], f"README links to files that do not exist: {missing}"


def test_the_fidelity_table_names_every_party_the_monitors_talk_to() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### How close the sandbox is to the real systems", 1)[1].split(
        "\n## ", 1
    )[0]
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    parties = rows[2:] if rows[:1] == ["party"] else rows[1:]
    assert parties == [
        "Business Central API v2.0",
        "Mollie API v2",
        "cXML punchout shop",
        "OCI catalogue",
        "Tryton",
        "SMTP",
    ]


# A sitecustomize that makes one test extra look not installed, as on a machine
# where only `pip install -e .` was run.
WITHOUT_TRUSTME = """
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name == "trustme":
            raise ModuleNotFoundError("No module named 'trustme'", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
"""


def test_the_suite_without_its_test_extras_says_in_one_line_what_to_install(
    tmp_path: Path,
) -> None:
    (tmp_path / "sitecustomize.py").write_text(WITHOUT_TRUSTME)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_readme.py"],
        cwd=REPO,
        env={**clean_environment(), "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "needs its test extras (missing: trustme)" in output
    assert "pip install -e '.[test]'" in output
    assert "No module named 'trustme'" not in output


def test_bare_pytest_at_the_root_collects_the_monitors_not_the_suite() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q"],
        cwd=REPO,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    collected = [line for line in completed.stdout.splitlines() if "::" in line]
    assert collected, completed.stdout + completed.stderr
    assert all(line.startswith("monitors/") for line in collected), collected

"""The README as a newcomer reads it: every file it links to is there."""

from __future__ import annotations

import re

from .support import REPO

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

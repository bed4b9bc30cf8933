"""The languages erpwatch writes in are data: one file each under
src/erpwatch/languages/. Every file has exactly English's keys and
placeholders, and a file dropped in is a language the mails speak."""

from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest

from erpwatch import diagnosis
from erpwatch._words import LANGUAGES

from .support import REPO, clean_environment

FOLDER = REPO / "src" / "erpwatch" / "languages"
FILES = sorted(FOLDER.glob("*.toml"))


def texts(data: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """Every value of a language file by its dotted key (``mail.since``)."""
    found: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            found |= texts(value, f"{prefix}{key}.")
        else:
            found[f"{prefix}{key}"] = value
    return found


def placeholders(value: object) -> set[str]:
    if not isinstance(value, str):
        return set()
    return {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}


ENGLISH = texts(tomllib.loads((FOLDER / "en.toml").read_text(encoding="utf-8")))


def test_the_languages_erpwatch_speaks_are_the_files_it_ships() -> None:
    assert sorted(LANGUAGES) == sorted(f.stem for f in FILES) == ["en", "fr", "nl"]
    # Defined once: the diagnosis names the same tuple (the settings accepting a
    # dropped-in language is the test below).
    assert diagnosis.LANGUAGES is LANGUAGES


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_every_language_has_every_key_of_english_and_no_other(path: Path) -> None:
    found = texts(tomllib.loads(path.read_text(encoding="utf-8")))
    assert sorted(ENGLISH.keys() - found.keys()) == [], "missing"
    assert sorted(found.keys() - ENGLISH.keys()) == [], "not in en.toml"


# The ways of naming the party that answered: a translation picks the one its
# grammar allows ("du service ({party_label})" where French cannot write "de {party}").
PARTY_FORMS = {"party", "Party", "party_label"}


def same_family(names: set[str]) -> set[str]:
    return {"party" if name in PARTY_FORMS else name for name in names}


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_every_text_has_the_placeholders_of_english_and_the_same_shape(path: Path) -> None:
    found = texts(tomllib.loads(path.read_text(encoding="utf-8")))
    for key, english in ENGLISH.items():
        value = found[key]
        assert type(value) is type(english), key
        if isinstance(english, list):
            assert isinstance(value, list), key
            assert len(value) == len(english), key
            assert all(isinstance(v, str) and v for v in value), key
        # A translation may leave a placeholder out where its grammar needs to
        # (French cannot write "à {party}" for "au prestataire"), never add one.
        assert same_family(placeholders(value)) <= same_family(placeholders(english)), key
        if placeholders(english) and key.startswith(("mail.", "wire.")):
            assert placeholders(value), key


# -- a language dropped in --------------------------------------------------------------


def installed_copy(tmp_path: Path) -> Path:
    """erpwatch as a partner would have it installed: a copy of the package that a
    new language file can be dropped into without touching this checkout."""
    site = tmp_path / "site"
    shutil.copytree(
        REPO / "src" / "erpwatch", site / "erpwatch", ignore=shutil.ignore_patterns("__pycache__")
    )
    return site


def pseudo_translation(english: str) -> str:
    """en.toml with every quoted text marked «xx»: what a translator's file looks
    like to erpwatch (same keys, same placeholders, other words)."""
    return re.sub(r'^(\w+) = "(.*)"$', r'\1 = "«xx» \2"', english, flags=re.MULTILINE)


def erpwatch(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = clean_environment(PYTHONPATH=str(site) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_a_language_file_dropped_in_is_a_language_the_mails_speak(tmp_path: Path) -> None:
    site = installed_copy(tmp_path)
    english = (site / "erpwatch" / "languages" / "en.toml").read_text(encoding="utf-8")
    (site / "erpwatch" / "languages" / "xx.toml").write_text(
        pseudo_translation(english), encoding="utf-8"
    )
    project = tmp_path / "project"
    project.mkdir()
    settings = (REPO / "erpwatch.toml").read_text(encoding="utf-8")
    (project / "erpwatch.toml").write_text(
        settings.replace('language = "nl"', 'language = "xx"', 1), encoding="utf-8"
    )

    where = erpwatch(site, "-c", "import erpwatch; print(erpwatch.__file__)", cwd=project)
    assert where.stdout.strip() == str(site / "erpwatch" / "__init__.py")
    result = erpwatch(site, "-m", "erpwatch.cli", "preview", "--example", "--show", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "client (xx) → owner@webshop.example" in result.stdout
    assert "Subject: [erpwatch] «xx» «xx» Orders are not reaching the ERP\n" in result.stdout
    assert re.search(r"«xx» Failing call +POST /companies\(…\)/salesOrders", result.stdout)
    # The client is told what happens, in its language, not given the engineers' work.
    assert re.search(r"«xx» What happens now +«xx» You need not do anything", result.stdout)
    html = (project / "reports" / "preview" / "example-alert-client.html").read_text()
    assert '<html lang="xx">' in html
    assert "«xx» Sent to" in html
    # The English group still reads English: the new file changes nothing else.
    assert "erp_partner (en) → erp-support@acme.example" in result.stdout
    assert re.search(r"\nFailing call +POST /companies\(…\)/salesOrders", result.stdout)


def test_a_language_file_that_misses_a_key_is_refused_naming_the_keys(tmp_path: Path) -> None:
    site = installed_copy(tmp_path)
    english = (site / "erpwatch" / "languages" / "en.toml").read_text(encoding="utf-8")
    broken = english.replace('since = "since"\n', 'sinse = "since"\n')
    assert broken != english
    (site / "erpwatch" / "languages" / "yy.toml").write_text(broken, encoding="utf-8")

    result = erpwatch(
        site,
        "-c",
        "from erpwatch._words import LanguageFileError, words_of\n"
        "try:\n    words_of('yy')\nexcept LanguageFileError as error:\n    print(error)",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "erpwatch: languages/yy.toml does not match en.toml: "
        "missing mail.since; unknown mail.sinse\n"
    )

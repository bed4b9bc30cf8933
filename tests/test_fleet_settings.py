"""Which settings each client of a fleet gets, and from where: the fleet's own
environment, the CI secrets handed over at once, the shared and the client's own
`.env` text (a file locally, a secret in CI). The more specific wins; no client
sees another's; a broken source is one line naming it, never its content."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from erpwatch.config import SETTING_NAMES, ConfigError
from erpwatch.fleet import Client, FleetError, client_environment, discover, select

from .support import REPO

CONFIG = '[erpwatch]\nmonitors = "../../monitors"\n'


def clients(root: Path, *names: str) -> list[Client]:
    for name in names:
        (root / "clients" / name).mkdir(parents=True)
        (root / "clients" / name / "erpwatch.toml").write_text(CONFIG, encoding="utf-8")
    return discover(root)


def test_the_more_specific_source_wins_and_no_client_sees_anothers_settings(
    tmp_path: Path,
) -> None:
    shop, other = clients(tmp_path, "shop-a", "shop-b")
    (tmp_path / "clients" / ".env").write_text("SMTP_HOST=mail.agency.example\nERP_SCOPE=shared\n")
    (tmp_path / "clients" / "shop-a" / ".env").write_text("ERP_SCOPE=from-file\n")
    environ = {
        "PATH": "/usr/bin",
        "ERP_TEST_ITEM": "from-the-fleet",
        "ERPWATCH_PAGES_KEY": "the-agency-pages-key-0123456789abcdef",
        "ERPWATCH_SECRETS": json.dumps({
            "github_token": "ghs_not-for-monitors",
            "SMTP_PASSWORD": "agency-smtp-password",
            "ERPWATCH_ENV_SHOP_A": "ERP_SCOPE=from-secret\nERP_CLIENT_SECRET=a-secret\n",
            "ERPWATCH_ENV_SHOP_B": "ERP_CLIENT_SECRET=b-secret\n",
        }),
    }  # fmt: skip

    env_a = client_environment(shop, tmp_path, environ)
    env_b = client_environment(other, tmp_path, environ)

    assert env_a["ERP_SCOPE"] == "from-secret"  # its secret over its file over the shared file
    assert env_b["ERP_SCOPE"] == "shared"
    assert env_a["ERP_TEST_ITEM"] == env_b["ERP_TEST_ITEM"] == "from-the-fleet"
    # A secret named like a setting is a one-config repository's: no client of a fleet
    # inherits it (a left-over PSP_API_KEY would reach a client that set only its URL).
    assert "SMTP_PASSWORD" not in env_a
    assert env_a["ERP_CLIENT_SECRET"] == "a-secret"
    assert env_b["ERP_CLIENT_SECRET"] == "b-secret"
    for env in (env_a, env_b):
        assert "ERPWATCH_SECRETS" not in env  # every client's secrets: kept from each
        assert "ERPWATCH_PAGES_KEY" not in env  # the fleet's own
        assert not any(name.startswith("ERPWATCH_ENV") for name in env)
        assert "ghs_not-for-monitors" not in env.values()  # only settings, not every secret


def test_a_secret_whose_env_text_is_broken_names_the_secret_and_line_not_the_text(
    tmp_path: Path,
) -> None:
    (shop,) = clients(tmp_path, "shop-a")
    environ = {"ERPWATCH_ENV_SHOP_A": "ERP_SCOPE=fine\nthis line holds p4ssw0rd-secret\n"}

    with pytest.raises(ConfigError) as caught:
        client_environment(shop, tmp_path, environ)

    assert str(caught.value) == (
        "line 2 (secret ERPWATCH_ENV_SHOP_A): is not NAME=value (quote a value that spans lines)"
    )


def test_secrets_that_are_not_a_json_object_are_one_line_without_their_content(
    tmp_path: Path,
) -> None:
    (shop,) = clients(tmp_path, "shop-a")

    with pytest.raises(FleetError) as caught:
        client_environment(shop, tmp_path, {"ERPWATCH_SECRETS": '{"A": "s3cret-value", '})

    assert "s3cret" not in str(caught.value)
    assert "toJSON(secrets)" in str(caught.value)


def test_a_project_with_one_config_is_a_fleet_of_one_that_reads_its_own_env(
    tmp_path: Path,
) -> None:
    (tmp_path / "erpwatch.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / ".env").write_text("ERP_SCOPE=read-by-the-run-itself\n")

    (only,) = discover(tmp_path)
    secrets = {"ERPWATCH_ENV": "ERP_TEST_ITEM=x1\n", "PSP_API_KEY": "test_its-own-secret"}
    env = client_environment(only, tmp_path, {"ERPWATCH_SECRETS": json.dumps(secrets)})

    assert only.name == ""
    assert only.secret_name == "ERPWATCH_ENV"
    # .env stays the run's to read, as pytest would; a setting's own secret counts here.
    assert env == {"ERP_TEST_ITEM": "x1", "PSP_API_KEY": "test_its-own-secret"}


@pytest.mark.parametrize(
    ("folders", "problem"),
    [
        (("Shop A",), "clients/Shop A: a client's folder name is lower-case letters"),
        (("shop-a", "shop_a"), "clients/shop-a and clients/shop_a would share the secret "
                               "ERPWATCH_ENV_SHOP_A; rename one"),
    ],
)  # fmt: skip
def test_client_folders_must_map_onto_one_secret_name_each(
    tmp_path: Path, folders: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(FleetError) as caught:
        clients(tmp_path, *folders)

    assert str(caught.value).startswith(problem)


def test_a_folder_without_clients_or_config_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FleetError) as caught:
        discover(tmp_path)

    assert str(caught.value) == (
        f"no clients/<name>/erpwatch.toml and no erpwatch.toml in {tmp_path}"
    )


def test_clients_are_chosen_by_folder_name_in_the_fleets_order(tmp_path: Path) -> None:
    every = clients(tmp_path, "a-shop", "b-shop", "c-shop")

    assert [c.name for c in select(every, "c-shop, a-shop")] == ["a-shop", "c-shop"]
    assert select(every, None) == every


def test_every_setting_in_env_example_is_one_the_fleet_takes_from_the_secrets() -> None:
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    documented = re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE)

    assert sorted(documented) == sorted(SETTING_NAMES)

"""Punchout settings per shop: real-world defaults, and one clear line for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpwatch.config import DEFAULT_SHIP_TO, ConfigError, Settings, load_settings

from .support import REPO, clean_environment

SHOP = {
    "ERP_BASE_URL": "https://erp.example/api/v2.0",
    "ERP_TOKEN_URL": "https://login.example/token",
    "ERP_CLIENT_ID": "erpwatch",
    "ERP_CLIENT_SECRET": "s",
    "PUNCHOUT_SETUP_URL": "https://shop.example/punchout/setup",
    "PUNCHOUT_ORDER_URL": "https://shop.example/punchout/order",
    "PUNCHOUT_FROM_DOMAIN": "NetworkID",
    "PUNCHOUT_FROM_IDENTITY": "AN01000000001",
    "PUNCHOUT_TO_IDENTITY": "AN02000000042",
    "PUNCHOUT_SHARED_SECRET": "secret",
    "OCI_URL": "https://shop.example/oci",
    "OCI_USERNAME": "buyer",
    "OCI_PASSWORD": "pw",
}


def settings(tmp_path: Path, toml: str = "", **env: str) -> Settings:
    config = tmp_path / "erpwatch.toml"
    config.write_text(toml)
    return load_settings(config, clean_environment(**{**SHOP, **env}))


def test_a_shop_configured_by_its_variables_alone_gets_real_world_defaults(tmp_path: Path) -> None:
    loaded = settings(tmp_path)
    cxml, oci = loaded.punchout, loaded.oci
    assert cxml is not None
    assert oci is not None
    assert (cxml.to_domain, cxml.to_identity) == ("NetworkID", "AN02000000042")
    assert (cxml.sender_domain, cxml.sender_identity) == ("NetworkID", "AN01000000001")
    assert cxml.deployment_mode == "production"
    assert cxml.ship_to == cxml.bill_to == DEFAULT_SHIP_TO
    assert (oci.method, oci.username_field, oci.password_field, oci.hook_field) == (
        "GET",
        "USERNAME",
        "PASSWORD",
        "HOOK_URL",
    )
    assert (oci.item, oci.quantity, oci.add_to_basket, oci.transfer_url) == ("1896-S", 1, "", "")


def test_a_network_sender_a_test_mode_and_a_shop_of_its_own_shape_are_configured(
    tmp_path: Path,
) -> None:
    toml = """
[punchout.cxml]
deployment_mode = "test"
user_agent = "Acme Procurement 2.1"
user_email = "buyer@leeuw.example"
auxiliary_id = "1896-S:EA"

[punchout.cxml.ship_to]
name = "Leeuw Warehouse"
street = "Dok-Noord 7"
city = "Gent"
postal_code = "9000"
country_code = "BE"
country = "Belgium"

[punchout.oci]
method = "POST"
password_field = "pass"
item = "1900-S"
quantity = 2
add_to_basket = "POST /cart/add?sku={item}&qty={quantity}"
transfer_form = "//form[@id='sap']"
units = ["st", "PC"]

[punchout.oci.parameters]
SERVICE = "SAP"
"""
    loaded = settings(
        tmp_path,
        toml,
        PUNCHOUT_TO_DOMAIN="DUNS",
        PUNCHOUT_SENDER_DOMAIN="NetworkID",
        PUNCHOUT_SENDER_IDENTITY="AN00000001-coupa",
    )
    cxml, oci = loaded.punchout, loaded.oci
    assert cxml is not None
    assert oci is not None
    assert (cxml.to_domain, cxml.sender_identity) == ("DUNS", "AN00000001-coupa")
    assert (cxml.deployment_mode, cxml.user_agent, cxml.auxiliary_id) == (
        "test",
        "Acme Procurement 2.1",
        "1896-S:EA",
    )
    assert cxml.ship_to.street == cxml.bill_to.street == "Dok-Noord 7"
    assert (oci.method, oci.password_field, oci.parameters) == ("POST", "pass", {"SERVICE": "SAP"})
    assert (oci.item, oci.quantity, oci.units) == ("1900-S", 2, frozenset({"ST", "PC"}))


def test_the_environment_decides_the_deployment_mode_of_one_environment(tmp_path: Path) -> None:
    loaded = settings(tmp_path, "[punchout.cxml]\ndeployment_mode = 'production'\n",
                      PUNCHOUT_DEPLOYMENT_MODE="test")  # fmt: skip
    assert loaded.punchout is not None
    assert loaded.punchout.deployment_mode == "test"


def test_the_repository_config_loads_with_the_sandbox(tmp_path: Path) -> None:
    loaded = load_settings(REPO / "erpwatch.toml", clean_environment(**SHOP))
    assert loaded.punchout is not None
    assert loaded.punchout.deployment_mode == "production"


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("", {"PUNCHOUT_TO_IDENTITY": ""},
         "PUNCHOUT_TO_IDENTITY (environment or .env): is not set; it is needed because PUNCHOUT_SETUP_URL is set"),
        ("", {"PUNCHOUT_SENDER_DOMAIN": "NetworkID"},
         "PUNCHOUT_SENDER_IDENTITY (environment or .env): is not set; it is needed because PUNCHOUT_SENDER_DOMAIN is set"),
        ("", {"PUNCHOUT_DEPLOYMENT_MODE": "staging"},
         "PUNCHOUT_DEPLOYMENT_MODE (environment or .env): must be production or test (as the shop documents it), not 'staging'"),
        ("[punchout.cxml]\ndeployment = 'test'\n", {},
         "punchout.cxml.deployment (*): unknown setting; known: *deployment_mode*"),
        ("[punchout.cxml.ship_to]\nname = 'X'\nstreet = 'Y 1'\ncity = 'Gent'\npostal_code = '9000'\ncountry = 'Belgium'\n", {},
         "punchout.cxml.ship_to.country_code (*): is not set; a supplier needs it to ship"),
        ("[punchout.cxml.ship_to]\nname = 'X'\nstreet = 'Y 1'\ncity = 'Gent'\npostal_code = '9000'\ncountry_code = 'Belgium'\ncountry = 'Belgium'\n", {},
         "punchout.cxml.ship_to.country_code (*): must be an ISO 3166 country code such as BE, not 'Belgium'"),
        ("[punchout.cxml]\nuser_email = 'not an address'\n", {},
         "punchout.cxml.user_email (*)*"),
        ("[punchout.oci]\nmethod = 'PUT'\n", {}, "punchout.oci.method (*): must be GET or POST, not 'PUT'"),
        ("[punchout.oci]\ntransfer_url = 'FETCH /x'\n", {},
         "punchout.oci.transfer_url (*): must be 'GET URL', 'POST URL' or a URL*"),
        ("[punchout.oci]\ntransfer_form = '//form[@id='\n", {},
         "punchout.oci.transfer_form (*): is not a valid XPath*"),
        ("[punchout.oci]\nunits = ['Stück']\n", {},
         "punchout.oci.units (*): must be a list of unit codes of 1 to 3 letters or digits"),
        ("[punchout.oci]\nquantity = 0\n", {}, "punchout.oci.quantity (*): must be a whole number of items from 1 to 1000, not 0"),
    ],
    ids=["to-missing", "sender-half", "mode-env", "unknown-key", "country-missing",
         "country-name", "user-email", "oci-method", "transfer-url", "transfer-form", "units",
         "quantity"],
)  # fmt: skip
def test_a_wrong_punchout_setting_is_one_line_naming_it(
    tmp_path: Path, toml: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        settings(tmp_path, toml, **env)
    assert "\n" not in str(error.value)
    assert fnmatch(str(error.value), message), str(error.value)


def fnmatch(text: str, pattern: str) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(text, pattern)

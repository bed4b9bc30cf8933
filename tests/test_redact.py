"""Secrets never leave a run: by name and by value."""

from __future__ import annotations

import json

from erpwatch.redact import MASK, Redactor


def test_sensitive_headers_are_masked_and_others_kept() -> None:
    headers = Redactor().headers(
        {
            "Authorization": "Bearer abc",
            "Cookie": "s=1",
            "X-Api-Key": "k",
            "Accept": "application/json",
        }
    )
    assert headers == {
        "Authorization": MASK,
        "Cookie": MASK,
        "X-Api-Key": MASK,
        "Accept": "application/json",
    }


def test_configured_secret_values_are_masked_wherever_they_appear() -> None:
    redactor = Redactor(["s3cr3t-value"])
    assert redactor.text("error: s3cr3t-value rejected") == f"error: {MASK} rejected"
    assert redactor.headers({"X-Echo": "s3cr3t-value"}) == {"X-Echo": MASK}
    assert redactor.body('{"note": "s3cr3t-value"}') == f'{{"note": "{MASK}"}}'


def test_url_encoded_secret_values_are_masked_too() -> None:
    redactor = Redactor(["p@ss w0rd/+"])
    assert "p%40ss" not in redactor.url("https://x.example/cb?state=p%40ss%20w0rd%2F%2B")
    assert redactor.body("note=p%40ss+w0rd%2F%2B", "text/plain") == f"note={MASK}"


def test_a_secret_containing_another_secret_is_masked_whole() -> None:
    redactor = Redactor(["abcd", "abcdefgh"])
    assert redactor.text("abcdefgh") == MASK


def test_very_short_values_are_not_treated_as_secrets() -> None:
    assert Redactor(["ab"]).text("tab") == "tab"


def test_sensitive_json_fields_are_masked_at_any_depth() -> None:
    body = json.dumps({"access_token": "t", "nested": [{"client_secret": "c", "name": "n"}]})
    masked = json.loads(Redactor().body(body, "application/json") or "")
    assert masked == {"access_token": MASK, "nested": [{"client_secret": MASK, "name": "n"}]}


def test_sensitive_form_fields_are_masked_readably() -> None:
    body = "grant_type=client_credentials&client_secret=abc%2Fdef&client_id=me"
    assert Redactor().body(body, "application/x-www-form-urlencoded") == (
        f"grant_type=client_credentials&client_secret={MASK}&client_id=me"
    )


def test_sensitive_query_parameters_and_url_passwords_are_masked() -> None:
    url = Redactor().url(
        "https://user:pw@oci.example/catalog?USERNAME=buyer&PASSWORD=hunter22&HOOK_URL=x"
    )
    assert (
        url == f"https://user:{MASK}@oci.example/catalog?USERNAME=buyer&PASSWORD={MASK}&HOOK_URL=x"
    )


def test_the_cxml_shared_secret_is_masked() -> None:
    body = "<Sender><Credential domain='NetworkId'><SharedSecret>abracadabra</SharedSecret></Credential></Sender>"
    assert Redactor().body(body, "text/xml") == body.replace("abracadabra", MASK)


def test_large_bodies_are_truncated_with_a_marker() -> None:
    masked = Redactor(max_body_chars=100).body("x" * 1000, "text/plain") or ""
    assert masked.startswith("x" * 100)
    assert masked.endswith("… [truncated: 900 more characters]")


def test_binary_bodies_are_summarised() -> None:
    assert (
        Redactor().body(b"\x89PNG\r\n\x1a\n\xff\xfe", "image/png")
        == "[binary body: 10 bytes, image/png]"
    )


def test_invalid_utf8_in_a_text_body_survives() -> None:
    assert (
        Redactor().body(b"Caf\xe9 ferm\xe9", "text/plain; charset=utf-8") == "Caf\ufffd ferm\ufffd"
    )


def test_empty_bodies_are_none() -> None:
    assert Redactor().body(b"", "application/json") is None
    assert Redactor().body(None) is None


def test_ibans_are_masked_in_compact_and_printed_form_but_vat_numbers_stay() -> None:
    text = "IBAN BE68 5390 0754 7034 OR BE68539007547034; VAT BE0403170701; order WEB-1001"
    assert (
        Redactor().text(text)
        == "IBAN [redacted IBAN] OR [redacted IBAN]; VAT BE0403170701; order WEB-1001"
    )


def test_card_numbers_are_masked_when_their_checksum_holds() -> None:
    assert Redactor().text("card 4111 1111 1111 1111 ok") == "card [redacted card number] ok"
    assert Redactor().text("ref 4111 1111 1111 1112") == "ref 4111 1111 1111 1112"


def test_epoch_millisecond_timestamps_stay_even_when_their_checksum_holds() -> None:
    # 1795000000004 passes Luhn; it is a rate-limit reset time, not a card.
    assert Redactor().text("reset 1795000000004") == "reset 1795000000004"


def test_personal_data_in_json_bodies_is_masked() -> None:
    body = '{"iban": "NL91ABNA0417164300", "note": "paid"}'
    assert (
        Redactor().body(body, "application/json") == '{"iban": "[redacted IBAN]", "note": "paid"}'
    )

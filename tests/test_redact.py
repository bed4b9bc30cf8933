"""Secrets never leave a run: by name and by value."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from erpwatch._activation import new_run_id
from erpwatch.redact import CARD_MASK, MASK, Redactor, is_token_request, safe_text
from erpwatch.synthetic import SyntheticData

DATA = Path(__file__).parent / "data"


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


# -- every form a secret takes, and only secrets -----------------------------------

SECRET = "SEKRIT/CS-1ä+~\"q'\nx"


def _forms_as_other_programs_write_them(secret: str, user: str = "client-id") -> dict[str, str]:
    """Written here independently of erpwatch's own list of forms."""
    pct = quote(secret, safe="")
    return {
        "raw": secret,
        "json ascii (Python json.dumps)": json.dumps(secret)[1:-1],
        "json utf-8": json.dumps(secret, ensure_ascii=False)[1:-1],
        "json with \\/ (PHP json_encode)": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "url-encoded %20": pct,
        "url-encoded lower-case hex": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), pct),
        "url-encoded +": quote_plus(secret),
        "url-encoded, / kept": quote(secret),
        "python repr": repr(secret),
        "python repr of bytes": repr(secret.encode()),
        "basic auth": base64.b64encode(f"{user}:{secret}".encode()).decode(),
        "smtp auth plain": base64.b64encode(f"\0{user}\0{secret}".encode()).decode(),
        "html": html.escape(secret),
    }


@pytest.mark.parametrize("user", ["", "a", "ab", "client-id"])
def test_a_secret_is_masked_in_every_form_other_programs_write_it(user: str) -> None:
    redactor = Redactor([SECRET])
    for form, text in _forms_as_other_programs_write_them(SECRET, user).items():
        shown = redactor.text(f"error: {text}; end")
        assert MASK in shown, form
        assert "SEKRIT" not in shown, form
        assert "CS-1" not in shown, form


def test_a_secret_is_masked_after_decoding_however_the_json_escapes_it() -> None:
    # Every second character escaped: no fixed list of forms matches this text.
    escaped = "".join(f"\\u{ord(c):04x}" if i % 2 else c for i, c in enumerate("SEKRIT/CS-123"))
    body = '{"error": {"message": "invalid client secret ' + escaped + '"}}'
    masked = Redactor(["SEKRIT/CS-123"]).body(body, "application/json") or ""
    assert json.loads(masked) == {"error": {"message": f"invalid client secret {MASK}"}}


def test_a_secret_is_masked_in_a_form_body_after_decoding() -> None:
    body = "note=SEKRIT%2fCS%2D123&x=1"  # encoded as no fixed form writes it
    assert Redactor(["SEKRIT/CS-123"]).body(body, "application/x-www-form-urlencoded") == (
        f"note={MASK}&x=1"
    )


def test_a_token_endpoint_keeps_only_its_oauth_error() -> None:
    redactor = Redactor(["SEKRIT/CS-123"])
    answer = b'{"error": "invalid_client", "error_description": "bad SEKRIT\\/CS-123", "access_token": "live"}'
    assert json.loads(redactor.token_answer(answer, "application/json") or "") == {
        "error": "invalid_client",
        "error_description": f"bad {MASK}",
    }
    for unparsable in (b'{"access_token": "live-tok', b"access_token=live-tok&expires_in=3599"):
        kept = redactor.token_answer(unparsable, "text/plain") or ""
        assert "live-tok" not in kept
        assert kept.startswith("[token endpoint answer not kept")


def test_a_token_request_is_recognised_by_its_grant_type() -> None:
    assert is_token_request(b"grant_type=client_credentials&client_id=x")
    assert not is_token_request(b'{"grant_type": "x"}')
    assert not is_token_request(b"note=grant_type%3Dx")
    assert not is_token_request(None)


def _references(count: int) -> list[str]:
    run_ids = [new_run_id({}) for _ in range(3)]
    run_ids += ["2611282125-1F3C", "2611282125-1092", "12345678901-1", "9876543210123-2"]
    return [
        SyntheticData(run_ids[i % len(run_ids)]).reference(prefix)
        for i in range(count)
        for prefix in ("", "PO-")
    ]


def test_erpwatch_references_and_run_ids_are_never_taken_for_personal_data() -> None:
    redactor = Redactor()
    # 1092 makes the run id and the random end fourteen digits that pass Luhn
    # one time in ten: the reference a person needs to find the test order.
    references = [*_references(2000), "ERPWATCH-2611282125-1092-BE98A4"]
    eaten = [
        ref for ref in references if redactor.text(f"order {ref} failed") != f"order {ref} failed"
    ]
    assert eaten == []


def test_ids_and_timestamps_from_real_erp_and_psp_answers_are_kept() -> None:
    redactor = Redactor()
    kept_shapes = re.compile(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # GUIDs
        r"|\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?"  # timestamps
        r"|\b(?:tr|ord|chb|cst|re|pfl|mdt|sub|stl)_[A-Za-z0-9]+"  # Mollie ids
        r"|\b\d{5,}\b"  # numbers: invoice numbers, ids, amounts
        r"|W/\"[^\"]+\""  # etags
    )
    checked = 0
    for path in sorted((DATA / "business_central").glob("*.json")) + sorted(
        (DATA / "mollie").glob("*.json")
    ):
        text = path.read_text(encoding="utf-8")
        masked = redactor.body(text, "application/json") or ""
        for value in kept_shapes.findall(text):
            checked += 1
            assert json.dumps(value)[1:-1] in masked or value in masked, (path.name, value)
    assert checked > 50, "the fixtures hold too few ids for this to prove anything"


@pytest.mark.parametrize(
    "card",
    ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005",
     "3782 822463 10005", "6011111111111117", "2223003122003222"],
)  # fmt: skip
def test_card_numbers_in_their_printed_forms_are_still_masked(card: str) -> None:
    assert Redactor().text(f"card {card}, thanks") == f"card {CARD_MASK}, thanks"


def test_compact_timestamps_with_a_valid_checksum_are_not_card_numbers() -> None:
    # 14 digits from 2026, ten of them Luhn-valid: a card from the 2221-2720 range has 16.
    stamps = [f"at {20261128212500 + i}" for i in range(100)]
    assert [Redactor().text(stamp) for stamp in stamps] == stamps


# -- text from outside, made safe ------------------------------------------------


def test_a_lone_surrogate_from_a_json_escape_becomes_a_replacement_character() -> None:
    masked = Redactor().body('{"error":{"message":"lone \\ud800"}}', "application/json") or ""
    masked.encode("utf-8")  # would raise UnicodeEncodeError with the surrogate
    assert json.loads(masked)["error"]["message"] == "lone \ufffd"


def test_control_characters_and_bidi_overrides_are_shown_as_escapes() -> None:
    hostile = "a\x1b]0;owned\x07b\x00c\u202ed\x9be\ttab\nnext"
    assert safe_text(hostile) == "a\\x1b]0;owned\\x07b\\x00c\\u202ed\\x9be\ttab\nnext"
    assert Redactor().text(hostile) == safe_text(hostile)
    masked = Redactor().body('{"m": "\\u001b[2J\\u0000"}', "application/json") or ""
    assert json.loads(masked) == {"m": "\\x1b[2J\\x00"}


# A client secret shaped like Entra ID's (what Business Central uses): '~', '.', '/'.
ENTRA_SECRET = "Gx48Q~3kPz1.vN_aB9/cD-eFgH"


def _php_urlencode(text: str) -> str:
    """PHP's urlencode (and Java's URLEncoder, .NET's HttpUtility.UrlEncode): '~'
    is %7E, a space is '+'; written here, not taken from erpwatch."""
    return "".join(
        c
        if c.isalnum() or c in "-_."
        else "+"
        if c == " "
        else "".join(f"%{b:02X}" for b in c.encode())
        for c in text
    )


def _owasp_html(text: str) -> str:
    """The OWASP encoder's way: '/' and quotes as hexadecimal character references."""
    return "".join(f"&#x{ord(c):X};" if c in "/'\"&<>" else c for c in text)


@pytest.mark.parametrize(
    "written",
    [
        _php_urlencode(ENTRA_SECRET),
        _owasp_html(ENTRA_SECRET),
        quote(json.dumps(ENTRA_SECRET)[1:-1].replace("/", "\\/"), safe=""),  # JSON, then a URL
        json.dumps(json.dumps(ENTRA_SECRET))[1:-1],  # JSON escaped twice
        quote(quote(ENTRA_SECRET, safe=""), safe=""),  # percent-encoded twice
        "".join(f"\\u{ord(c):04x}" for c in ENTRA_SECRET),  # every character escaped
        ENTRA_SECRET.replace("~", "=7E").replace("/", "=2F"),  # quoted-printable
        "&#039;" + ENTRA_SECRET.replace("/", "&#47;") + "&#039;",
    ],
    ids=["php-urlencode", "owasp-html", "json-then-url", "json-twice", "url-twice",
         "all-unicode-escapes", "quoted-printable", "decimal-references"],
)  # fmt: skip
def test_a_secret_is_masked_however_another_program_encoded_it(written: str) -> None:
    redactor = Redactor([ENTRA_SECRET])
    for text in (f"invalid client secret {written} (AADSTS7000215)", f"<p>{written}</p>"):
        masked = redactor.text(text)
        assert "3kPz1" not in masked, masked
        assert "vN_aB9" not in masked, masked
        assert MASK in masked
        assert redactor.body(text, "text/html") == masked


def test_product_barcodes_are_not_taken_for_card_numbers() -> None:
    # EAN-13 and GTIN-14 pass the Luhn test as often as any number; no card has 13 or 14 digits.
    barcodes = ["4006381334013", "4012345678901", "40063813340138", "36000291452"]
    for code in barcodes:
        assert Redactor().text(f'{{"gtin": "{code}"}}') == f'{{"gtin": "{code}"}}'


def test_a_body_nested_deeper_than_python_recurses_is_masked_as_text() -> None:
    redactor = Redactor(["SEKRIT/CS-123"])
    deep = "[" * 20_000 + '"SEKRIT\\/CS-123"' + "]" * 20_000
    masked = redactor.body(deep, "application/json") or ""
    assert "CS-123" not in masked
    shallow = '{"a":' * 900 + '"SEKRIT\\u002FCS-123 \\u001b"' + "}" * 900
    masked = redactor.body(shallow, "application/json") or ""
    assert "CS-123" not in masked

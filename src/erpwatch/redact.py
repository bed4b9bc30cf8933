"""Secrets out of everything that leaves a run: exchanges, messages, reports.

Two complementary ways: by name (headers, JSON keys, form and query fields,
the cXML SharedSecret element) and by value (every configured secret and
every token erpwatch obtained, wherever it shows up). By value means in every
form a secret takes on its way through other programs: raw, URL-encoded,
JSON-escaped, Python repr, HTML-escaped and base64 (Basic auth ``id:secret``,
SMTP ``AUTH PLAIN``). Bodies are also decoded (JSON, forms) and masked again
after decoding, so an escape the list of forms does not know cannot hide one.

Text from outside is made safe here too, once, because everything that is
stored or shown passes through `Redactor.text`: invalid Unicode (lone
surrogates) is replaced and control characters are written as visible escapes,
so they can neither break a UTF-8 file nor drive a terminal or a mail reader.
"""

from __future__ import annotations

import base64
import html
import json
import quopri
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote_plus, urlsplit, urlunsplit

MASK = "[redacted]"
MAX_BODY_CHARS = 32_768

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "ocp-apim-subscription-key",
    }
)

SENSITIVE_FIELDS = frozenset(
    {
        "client_secret",
        "password",
        "passwd",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "api_key",
        "apikey",
        "secret",
        "sharedsecret",
        "shared_secret",
    }
)

# Personal data that must not travel either: bank accounts and card numbers.
# Candidates are checked (IBAN mod 97, Luhn) so order numbers and VAT numbers stay.
# A card number is written whole or in the groups printed on cards (4-4-4-4,
# 4-6-5 …), stands alone (not joined to letters, digits or hyphens, so the run id
# inside ERPWATCH-2611282125-1092-BE98A4 or a GUID is no card), and has a length
# its issuer uses; a Luhn check alone passes one digit string in ten.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)\b")
_CARD = re.compile(
    r"(?<![\w-])[2-6](?:\d{12,18}"
    r"|\d{3}(?P<sep>[ -])\d{4}(?P=sep)\d{4}(?P=sep)\d{4}(?:(?P=sep)\d{3})?"
    r"|\d{3}(?P<sep2>[ -])\d{6}(?P=sep2)\d{4,5})(?![\w-])"
)
IBAN_MASK = "[redacted IBAN]"
CARD_MASK = "[redacted card number]"
_XML_SECRET = re.compile(r"(<SharedSecret\b[^>]*>).*?(</SharedSecret>)", re.DOTALL | re.IGNORECASE)
_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words
# An encoded form shorter than this would mask ordinary text: a base64 slice of
# a four-character secret is three characters long.
_MIN_FORM_LENGTH = 6

# Text from outside that must not reach a file, a terminal or a mail as it is:
# C0 controls but tab and newline (ESC starts terminal sequences, NUL breaks
# 8-bit mail parts), DEL, C1 controls, and the bidirectional overrides and
# isolates that make a line read differently from what it says (U+202E).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# How json.dumps writes the C0 controls other than tab and newline.
_ESCAPED_CONTROL = re.compile(r"\\(?:u00[01][0-9a-f]|[bfr])")


def safe_text(text: str) -> str:
    """Text from outside, fit for a UTF-8 file, a terminal and a mail: a lone
    surrogate becomes U+FFFD, a control character its visible escape (``\\x1b``)."""
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(_visible, text.replace("\r\n", "\n"))
    return text


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def secret_forms(value: str) -> frozenset[str]:
    """Every form ``value`` takes when another program passes it on.

    URL-encoding (``%2F`` and ``+``, upper- and lower-case hex, with or without
    ``/`` kept), JSON string escapes (``\\u00e4`` or UTF-8, with ``\\/`` as PHP
    writes it), Python's repr (requests quotes a bad header value so), HTML
    escapes, and base64 slices that appear whatever stands before the value
    (``Basic base64(id:secret)``, ``AUTH PLAIN base64(\\0id\\0secret)``). All of
    these also of the value's UTF-8 read as Latin-1, as a server that reads
    headers so (WSGI does) echoes a non-ASCII value.
    """
    forms: set[str] = set()
    for variant in {value, value.encode().decode("latin-1")}:
        forms |= _encoded_forms(variant)
    return frozenset(form for form in forms if len(form) >= _MIN_FORM_LENGTH or form == value)


def _encoded_forms(value: str) -> set[str]:
    forms = {value, html.escape(value), html.escape(value, quote=False)}
    for safe in ("", "/"):
        for encoded in (quote(value, safe=safe), quote_plus(value, safe=safe)):
            forms |= {encoded, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)}
    for ascii_only in (True, False):
        escaped = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        forms |= {escaped, re.sub(r"\\u[0-9a-f]{4}", lambda m: m.group(0).upper(), escaped)}
    forms |= {repr(value)[1:-1], repr(value.encode())[2:-1]}
    forms |= {form.replace("/", "\\/") for form in forms if "/" in form}
    forms |= _base64_slices(value.encode())
    return forms


def _base64_slices(raw: bytes) -> set[str]:
    """The characters of base64(prefix + raw + suffix) that depend on ``raw`` alone,
    for each of the three alignments a prefix can give it."""
    slices = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + raw + b"\0\0").decode()
            first = -(-8 * offset // 6)  # the first character without prefix bits
            last = (8 * (offset + len(raw))) // 6  # the first with suffix bits
            slices.add(encoded[first:last])
    return slices


_JSON_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[\"\\/bfnrt])")
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_unescaped(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] == "u":
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, code)

    unescaped = _JSON_ESCAPE.sub(one, text)
    # Surrogate pairs written as two escapes become the one character they are.
    return unescaped.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _quoted_printable(text: str) -> str:
    return quopri.decodestring(text.encode("utf-8")).decode("utf-8", "replace")


# Each decoding with the sign that it could change the text: a decoding that
# cannot is not run (masking is on the path of every recorded body).
_VIEWS: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
    (re.compile(r"%[0-9A-Fa-f]{2}"), unquote_plus),
    (re.compile(r"&#?\w+;"), html.unescape),
    (re.compile(r"\\"), _json_unescaped),
    (re.compile(r"=[0-9A-F]{2}"), _quoted_printable),
)


def _mask_decoded_views(pattern: re.Pattern[str], text: str) -> str:
    """Mask after decoding, whatever the encoding: when a secret shows in the text
    decoded once or twice (PHP's %7E for ~, &#x2F; for /, JSON escapes percent-
    encoded, escapes written twice), the decoded text is kept, masked. Decoding
    no list of forms foresees, so a program's own way of escaping hides nothing."""
    for _ in range(4):  # a text may hold several secrets, each encoded its own way
        if not any(sign.search(text) for sign, _ in _VIEWS):
            return text
        view = _view_with_secret(pattern, text)
        if view is None:
            return text
        text = pattern.sub(MASK, view)
    return text


def _view_with_secret(pattern: re.Pattern[str], text: str) -> str | None:
    for first_sign, first in _VIEWS:
        if not first_sign.search(text):
            continue
        once = first(text)
        if once == text:
            continue
        if pattern.search(once):
            return once
        for second_sign, second in _VIEWS:
            if not second_sign.search(once):
                continue
            twice = second(once)
            if twice != once and pattern.search(twice):
                return twice
    return None


def is_sensitive_field(name: str) -> bool:
    return name.lower().replace("-", "_") in SENSITIVE_FIELDS


class Redactor:
    """Masks secrets. Thread-safe: tokens are learnt while monitors run."""

    def __init__(self, secrets: Iterable[str] = (), max_body_chars: int = MAX_BODY_CHARS) -> None:
        self.max_body_chars = max_body_chars
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._known: frozenset[str] = frozenset()
        self._forms: frozenset[str] = frozenset()
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str | None) -> None:
        """Mask ``value`` from now on, in every form it can take (`secret_forms`)."""
        if not value or len(value) < _MIN_SECRET_LENGTH:
            return
        # A value with surrounding blanks is sent trimmed by some programs.
        values = {value, value.strip()} - {""}
        with self._lock:
            if value in self._known:
                return
            self._known = self._known | values
            for one in values:
                if len(one) >= _MIN_SECRET_LENGTH:
                    self._forms = self._forms | secret_forms(one)
            # Longest first, so a secret that contains another is masked whole.
            ordered = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def text(self, text: str) -> str:
        """Text fit to store or show: made safe (`safe_text`), secrets and personal data masked.

        Masked before and after making it safe: a secret that contains a control
        character must be found as it came, and as it is shown.
        """
        pattern = self._pattern
        if pattern is not None:
            text = _mask_decoded_views(pattern, pattern.sub(MASK, text))
        made_safe = safe_text(text)
        if pattern is not None and made_safe is not text:
            made_safe = pattern.sub(MASK, made_safe)
        return _mask_personal_data(made_safe)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            name: MASK if name.lower() in SENSITIVE_HEADERS else self.text(str(value))
            for name, value in headers.items()
        }

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else netloc
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(is_sensitive_field(key) for key, _ in pairs):
                query = _masked_query(pairs)
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def body(self, raw: bytes | str | None, content_type: str = "") -> str | None:
        """A body fit to store: decoded, secrets masked, truncated with a marker."""
        if raw is None or raw == b"" or raw == "":
            return None
        if isinstance(raw, bytes):
            text = _decode(raw, content_type)
            if text is None:
                return f"[binary body: {len(raw)} bytes, {content_type or 'no content type'}]"
        else:
            text = raw
        text = self._decoded(text, content_type.lower())
        text = self.text(text)
        if len(text) > self.max_body_chars:
            dropped = len(text) - self.max_body_chars
            text = f"{text[: self.max_body_chars]}… [truncated: {dropped} more characters]"
        return text

    def token_answer(self, raw: bytes | str | None, content_type: str = "") -> str | None:
        """What may be kept of a token endpoint's answer: its OAuth ``error`` and
        ``error_description``, masked. Anything else in it (a token, or an answer
        that does not parse and may hold one) is never stored."""
        if raw is None or raw == b"" or raw == "":
            return None
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            document = None
        kept = {
            key: self.text(str(document[key]))[:500]
            for key in ("error", "error_description")
            if isinstance(document, dict) and document.get(key) is not None
        }
        if kept:
            return json.dumps(kept, ensure_ascii=False)
        return f"[token endpoint answer not kept: {len(raw)} {'bytes' if isinstance(raw, bytes) else 'characters'}]"

    def _decoded(self, text: str, content_type: str) -> str:
        """Mask by name, and by value after decoding: an escape in the text can hide
        a secret from the masks of its raw forms, never from the decoded value."""
        stripped = text.lstrip()
        if "json" in content_type or stripped[:1] in ("{", "["):
            try:
                document = json.loads(text)
            except (ValueError, RecursionError):
                pass
            else:
                try:
                    if self._needs_walk(document, text):
                        document = self._mask_json_values(document)
                        _mask_json(document)
                        return json.dumps(document, ensure_ascii=False)
                    if _mask_json(document):
                        return json.dumps(document, ensure_ascii=False)
                    return text
                except RecursionError:
                    # Nested deeper than a walk may go: masked as text (and by
                    # its decoded views, see `text`), never a crash of the run.
                    return text
        if "x-www-form-urlencoded" in content_type:
            pairs = parse_qsl(text, keep_blank_values=True)
            masked_pairs = [(self.text(key), self.text(value)) for key, value in pairs]
            if any(is_sensitive_field(key) for key, _ in pairs) or masked_pairs != pairs:
                return _masked_query(masked_pairs)
            return text
        if "<" in text:
            return _XML_SECRET.sub(rf"\g<1>{MASK}\g<2>", text)
        return text

    def _needs_walk(self, document: Any, text: str) -> bool:
        """Would any decoded string change under `text`? One look at the document
        written canonically instead of one per string: a secret in a string shows
        there in its JSON form (one of its masked forms), an unsafe character raw
        or as a \\u00XX escape. Without a backslash in the text, every string is
        in it as it decodes, and masking the text is enough."""
        if "\\" not in text and not _UNSAFE.search(text):
            return False
        canonical = json.dumps(document, ensure_ascii=False)
        pattern = self._pattern
        return bool(
            (pattern is not None and pattern.search(canonical))
            or _UNSAFE.search(canonical)
            or _SURROGATE.search(canonical)
            or _ESCAPED_CONTROL.search(canonical)
        )

    def _mask_json_values(self, node: Any) -> Any:
        """A copy of a decoded JSON document with every string (keys too) passed through `text`."""
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, dict):
            return {
                self.text(str(key)): self._mask_json_values(value) for key, value in node.items()
            }
        if isinstance(node, list):
            return [self._mask_json_values(value) for value in node]
        return node


def _iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1


def _luhn_valid(candidate: str) -> bool:
    digits = [int(d) for d in candidate if d.isdigit()]
    checksum = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        checksum += digit
    return checksum % 10 == 0


def _iban_mask(match: re.Match[str]) -> str:
    candidate = match.group(0)
    if _iban_valid(candidate):
        return IBAN_MASK
    # A short last group may be the next word ("… 7034 OR"): try without it.
    head, _, tail = candidate.rpartition(" ")
    if head and len(tail) < 4 and _iban_valid(head):
        return f"{IBAN_MASK} {tail}"
    return candidate


_DIGIT = re.compile(r"\d")


def _mask_personal_data(text: str) -> str:
    if _DIGIT.search(text):  # no digits, no account or card number (and a C-speed check)
        text = _IBAN.sub(_iban_mask, text)
        text = _CARD.sub(_card_mask, text)
    return text


def _card_mask(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = "".join(d for d in candidate if d.isdigit())
    return CARD_MASK if _issuer_length(digits) and _luhn_valid(digits) else candidate


def _issuer_length(digits: str) -> bool:
    """Does an issuer give numbers of this length with this start (ISO/IEC 7812 ranges)?
    Keeps compact timestamps (``20261128212512``) and order numbers readable."""
    length, head = len(digits), digits[:6]
    # 13-digit Visa and 14-digit Diners are no longer issued, and an EAN-13 or
    # GTIN-14 barcode (an item's gtin) passes their length and Luhn test.
    if head[0] == "4":  # Visa
        return length in (16, 19)
    if "51" <= head[:2] <= "55" or "222100" <= head <= "272099":  # Mastercard
        return length == 16
    if head[:2] in ("34", "37"):  # American Express
        return length == 15
    if head[:2] in ("36", "38", "39") or "300" <= head[:3] <= "305":  # Diners
        return length == 16
    if "3528" <= head[:4] <= "3589":  # JCB
        return 16 <= length <= 19
    if head[0] in "56":  # Maestro, Discover, UnionPay, RuPay
        return 16 <= length <= 19
    return False


_QUOTED_MASK = quote_plus(MASK)


def _masked_query(pairs: list[tuple[str, str]]) -> str:
    # The mask stays readable: it is not URL-encoded.
    return "&".join(
        f"{quote_plus(key)}={MASK if is_sensitive_field(key) else quote_plus(value).replace(_QUOTED_MASK, MASK)}"
        for key, value in pairs
    )


def _mask_json(node: Any) -> bool:
    """Mask sensitive keys in place; say whether anything changed."""
    changed = False
    if isinstance(node, dict):
        for key, value in node.items():
            if is_sensitive_field(str(key)) and value not in (None, ""):
                node[key] = MASK
                changed = True
            else:
                changed = _mask_json(value) or changed
    elif isinstance(node, list):
        for value in node:
            changed = _mask_json(value) or changed
    return changed


_TEXT_TYPES = ("text/", "json", "xml", "x-www-form-urlencoded", "javascript", "html")


def _decode(raw: bytes, content_type: str) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if any(kind in content_type.lower() for kind in _TEXT_TYPES):
            # Invalid UTF-8 in a text body is evidence; keep it readable.
            return raw.decode("utf-8", errors="replace")
        return None


def is_token_request(body: bytes | str | None) -> bool:
    """Is this request body an OAuth 2 token request (a form with ``grant_type``)?"""
    if not body or len(body) > 65_536:
        return False
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if "grant_type=" not in text:
        return False
    return any(key == "grant_type" for key, _ in parse_qsl(text, keep_blank_values=True))


def login_session(rpc_name: str | None, answer: bytes) -> str | None:
    """The session key an RPC login answers with, where no field name marks it:
    Tryton's ``common.db.login`` returns ``[user_id, session, …]``."""
    if rpc_name != "common.db.login" or len(answer) > 4096:
        return None
    try:
        result = json.loads(answer).get("result")
    except (ValueError, AttributeError, RecursionError):
        return None
    if isinstance(result, list) and len(result) > 1 and isinstance(result[1], str):
        return result[1]
    return None

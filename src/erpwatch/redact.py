"""Secrets out of everything that leaves a run: exchanges, messages, reports.

Two complementary ways: by name (headers, JSON keys, form and query fields,
the cXML SharedSecret element) and by value (every configured secret and
every token erpwatch obtained, wherever it shows up, also URL-encoded).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

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
# Payment cards start with 2-6 (ISO/IEC 7812 industry digit); requiring it keeps
# epoch-millisecond timestamps ("17…", e.g. rate-limit resets) readable.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)\b")
_CARD = re.compile(r"\b[2-6](?:[ -]?\d){12,18}\b")
IBAN_MASK = "[redacted IBAN]"
CARD_MASK = "[redacted card number]"
_XML_SECRET = re.compile(r"(<SharedSecret\b[^>]*>).*?(</SharedSecret>)", re.DOTALL | re.IGNORECASE)
_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words


def is_sensitive_field(name: str) -> bool:
    return name.lower().replace("-", "_") in SENSITIVE_FIELDS


class Redactor:
    """Masks secrets. Thread-safe: tokens are learnt while monitors run."""

    def __init__(self, secrets: Iterable[str] = (), max_body_chars: int = MAX_BODY_CHARS) -> None:
        self.max_body_chars = max_body_chars
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._secrets: frozenset[str] = frozenset()
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str | None) -> None:
        if not value or len(value) < _MIN_SECRET_LENGTH:
            return
        variants = {value, quote(value, safe=""), quote_plus(value, safe="")}
        with self._lock:
            if value in self._secrets:
                return
            self._secrets = self._secrets | variants
            # Longest first, so a secret that contains another is masked whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def text(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return _mask_personal_data(text)

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
        text = self._by_name(text, content_type.lower())
        text = self.text(text)
        if len(text) > self.max_body_chars:
            dropped = len(text) - self.max_body_chars
            text = f"{text[: self.max_body_chars]}… [truncated: {dropped} more characters]"
        return text

    def _by_name(self, text: str, content_type: str) -> str:
        stripped = text.lstrip()
        if "json" in content_type or stripped[:1] in ("{", "["):
            try:
                document = json.loads(text)
            except ValueError:
                pass
            else:
                if _mask_json(document):
                    return json.dumps(document, ensure_ascii=False)
                return text
        if "x-www-form-urlencoded" in content_type:
            pairs = parse_qsl(text, keep_blank_values=True)
            if any(is_sensitive_field(key) for key, _ in pairs):
                return _masked_query(pairs)
            return text
        if "<" in text:
            return _XML_SECRET.sub(rf"\g<1>{MASK}\g<2>", text)
        return text


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
        text = _CARD.sub(lambda m: CARD_MASK if _luhn_valid(m.group(0)) else m.group(0), text)
    return text


def _masked_query(pairs: list[tuple[str, str]]) -> str:
    # The mask stays readable: it is not URL-encoded.
    return "&".join(
        f"{quote_plus(key)}={MASK if is_sensitive_field(key) else quote_plus(value)}"
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


def login_session(rpc_name: str | None, answer: bytes) -> str | None:
    """The session key an RPC login answers with, where no field name marks it:
    Tryton's ``common.db.login`` returns ``[user_id, session, …]``."""
    if rpc_name != "common.db.login" or len(answer) > 4096:
        return None
    try:
        result = json.loads(answer).get("result")
    except (ValueError, AttributeError):
        return None
    if isinstance(result, list) and len(result) > 1 and isinstance(result[1], str):
        return result[1]
    return None

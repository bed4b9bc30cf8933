"""The small part of OData that the Business Central API v2.0 subset needs.

`$filter` supports ``field eq value`` comparisons (text in single quotes,
numbers, true/false) joined by ``and``; `$top`, `$skip`, `$select` and
`$expand` are handled by the caller with the helpers here. Collections are
paged by the server, as Business Central does: a page ends with
``@odata.nextLink``, which carries an opaque ``$skiptoken``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ODataError(ValueError):
    """A query option the sandbox cannot apply; answered as 400 BadRequest."""


@dataclass(frozen=True)
class Comparison:
    field: str
    operator: str
    value: Any

    def matches(self, entity: Mapping[str, Any]) -> bool:
        actual = entity.get(self.field)
        if self.operator == "eq":
            return bool(actual == self.value)
        return bool(actual != self.value)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)

_KEYWORD_VALUES: dict[str, Any] = {"true": True, "false": False, "null": None}


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    expression = expression.rstrip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise ODataError(f"Syntax error at position {position} in '{expression}'.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return text[1:-1].replace("''", "'")
    if kind == "number":
        return float(text) if "." in text else int(text)
    if text in _KEYWORD_VALUES:
        return _KEYWORD_VALUES[text]
    raise ODataError(f"Expected a literal value but found '{text}'.")


def parse_filter(expression: str, known_fields: frozenset[str]) -> list[Comparison]:
    """Parse ``a eq 'x' and b ne 2`` into comparisons that must all hold."""
    tokens = _tokens(expression)
    comparisons: list[Comparison] = []
    index = 0
    while True:
        if index + 3 > len(tokens):
            raise ODataError(f"The $filter expression '{expression}' is incomplete.")
        (field_kind, field), (_, operator), (value_kind, value) = tokens[index : index + 3]
        if field_kind != "word":
            raise ODataError(f"Expected a property name but found {field}.")
        if field not in known_fields:
            raise ODataError(f"Could not find a property named '{field}'.")
        if operator not in ("eq", "ne"):
            raise ODataError(f"The operator '{operator}' is not supported; use 'eq' or 'ne'.")
        comparisons.append(Comparison(field, operator, _literal(value_kind, value)))
        index += 3
        if index == len(tokens):
            return comparisons
        if tokens[index] != ("word", "and"):
            raise ODataError(f"Expected 'and' but found '{tokens[index][1]}'.")
        index += 1


def parse_count(name: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise ODataError(f"Invalid value '{raw}' for {name}; expected a whole number.")
    return int(raw)


def parse_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [part.strip() for part in raw.split(",") if part.strip()]


def page_size(prefer: str | None, server_max: int) -> tuple[int, str | None]:
    """The page size for this request, and the preference applied: a client may ask
    for smaller pages with ``Prefer: odata.maxpagesize=N``, never for larger ones."""
    for preference in (prefer or "").split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            asked = int(value.strip())
            if asked > 0:
                return min(asked, server_max), f"odata.maxpagesize={min(asked, server_max)}"
    return server_max, None


def _skiptoken(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(raw.encode()).decode().removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError):
        raise ODataError(f"The skip token value '{raw}' is invalid.") from None
    return offset


def one_page(
    rows: list[dict[str, Any]], args: Mapping[str, str], size: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The rows of the page ``$skiptoken`` points at, and the token of the next page."""
    start = _skiptoken(args.get("$skiptoken"))
    end = start + size
    following = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode()
    return rows[start:end], following if end < len(rows) else None


def apply_query(
    rows: list[dict[str, Any]],
    args: Mapping[str, str],
    known_fields: frozenset[str],
) -> list[dict[str, Any]]:
    """Filter, skip and limit a collection as `$filter`, `$skip` and `$top` ask."""
    raw_filter = args.get("$filter")
    if raw_filter is not None:
        comparisons = parse_filter(raw_filter, known_fields)
        rows = [row for row in rows if all(c.matches(row) for c in comparisons)]
    skip = parse_count("$skip", args.get("$skip")) or 0
    top = parse_count("$top", args.get("$top"))
    rows = rows[skip:]
    return rows if top is None else rows[:top]


def select(entity: dict[str, Any], fields: list[str], known: frozenset[str]) -> dict[str, Any]:
    if not fields:
        return entity
    for field in fields:
        if field not in known:
            raise ODataError(f"Could not find a property named '{field}'.")
    keep = {"@odata.etag", "id", *fields}
    return {key: value for key, value in entity.items() if key in keep}

"""ERP error dialects: turn a raw answer into the ERP's own code and message.

Decoders are tried in order; the first that recognises the body wins: erpwatch's
own dialects, then those other packages install (``erpwatch.dialects`` entry
points, see erpwatch.extensions), then the generic readings of any JSON, HTML
page or text. For a successful answer (HTTP 2xx) only errors *inside* the
success count: a JSON-RPC error, a cXML Status of 400 or more, ``{"success": false}``.
The clients decode a failed call's answer here too (erpwatch._calls).
"""

from __future__ import annotations

from collections.abc import Callable

from ...capture import Exchange
from . import business_central, cxml, exact_online, generic, jsonrpc, mollie, odoo, tryton
from ._base import Answer, ErpError

Decoder = Callable[[Answer], ErpError | None]

BUILT_IN: tuple[Decoder, ...] = (
    business_central.decode,
    exact_online.decode,
    odoo.decode,
    jsonrpc.decode,
    tryton.decode,
    mollie.decode,
    cxml.decode,
)
# Last: they read any JSON, page or text, so a dialect after them would never be asked.
FALLBACK: tuple[Decoder, ...] = (generic.decode_json, generic.decode_html, generic.decode_text)


def decoders() -> tuple[Decoder, ...]:
    """Every decoder in the order they are tried, installed dialects included."""
    # Imported here: erpwatch.extensions imports this package's records.
    from ...extensions import installed_dialects

    return BUILT_IN + installed_dialects() + FALLBACK


def decode(exchange: Exchange) -> ErpError | None:
    """The ERP's error in this exchange's answer, or None when it holds none."""
    if exchange.status is None:
        return None
    answer = Answer(exchange)
    for decoder in decoders():
        error = decoder(answer)
        if error is not None:
            if answer.ok and not error.inside_success:
                return None
            return error
    return None


def is_html(exchange: Exchange) -> bool:
    return generic.is_html(Answer(exchange))


__all__ = ["BUILT_IN", "FALLBACK", "Answer", "Decoder", "ErpError", "decode", "decoders", "is_html"]

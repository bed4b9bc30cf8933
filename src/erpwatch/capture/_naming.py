"""Names for calls to RPC-style APIs, where every call goes to one URL: the
method or message type is the call a person needs to know."""

from __future__ import annotations

import json
import re

import requests

_XMLRPC_METHOD = re.compile(rb"<methodName>\s*([^<\s]+)\s*</methodName>")
# The first element inside <Request> or <Message> of a cXML document.
_CXML_MESSAGE = re.compile(
    rb"<(?:Request|Message)\b[^>]*>\s*(?:<!--.*?-->\s*)*<([A-Za-z]+)\b", re.DOTALL
)
_MAX_SCAN = 65_536


def _body(request: requests.PreparedRequest) -> bytes:
    body = request.body
    if isinstance(body, str):
        return body[:_MAX_SCAN].encode("utf-8", errors="replace")
    if isinstance(body, bytes):
        return body[:_MAX_SCAN]
    return b""


def rpc_name(request: requests.PreparedRequest) -> str | None:
    """``model.sale.sale.create`` for JSON-RPC, the methodName for XML-RPC,
    ``PunchOutSetupRequest`` for cXML; None for REST calls."""
    body = _body(request).lstrip()
    if not body:
        return None
    if body[:1] == b"{":
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return None
        method = payload.get("method") if isinstance(payload, dict) else None
        return method if isinstance(method, str) and method else None
    if body[:1] == b"<":
        if b"<cXML" in body:
            match = _CXML_MESSAGE.search(body)
            return match.group(1).decode() if match else None
        method_name = _XMLRPC_METHOD.search(body)
        return method_name.group(1).decode() if method_name else None
    return None

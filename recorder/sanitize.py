"""Sanitising: what is removed from an exchange before it may be stored.

This is the interface the recorder calls for every exchange before it is
written. The first policy removes credentials carried in headers; the full
policy (redaction, keyed pseudonymisation, detectors) replaces it later
behind the same `Sanitizer` signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from parity.exchange import Exchange, Headers

__all__ = ["CREDENTIAL_HEADERS", "Sanitizer", "strip_credentials"]

#: Header names (compared without case) whose values are credentials.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

Sanitizer = Callable[[Exchange], Exchange]


def _strip(headers: Headers, removed: list[str]) -> Headers:
    kept = []
    for name, value in headers:
        if name.lower() in CREDENTIAL_HEADERS:
            removed.append(name.lower())
        else:
            kept.append((name, value))
    return headers.with_fields(kept) if len(kept) != len(headers) else headers


def strip_credentials(exchange: Exchange) -> Exchange:
    """The exchange without credential headers, naming what was removed in `meta`."""
    removed: list[str] = []
    request = replace(exchange.request, headers=_strip(exchange.request.headers, removed))
    response = exchange.response
    if response is not None:
        response = replace(response, headers=_strip(response.headers, removed))
    if not removed:
        return exchange
    meta = {**exchange.meta, "removed_headers": sorted(set(removed))}
    return replace(exchange, request=request, response=response, meta=meta)

"""Auditing a store: anything in it that looks like a secret or personal data.

`parity scan` runs the detectors (`parity.detectors`) over every stored
string: header values, query parameters, the path, text and JSON bodies, and
errors. Stand-ins the sanitiser made are recognised and skipped: redaction
markers, emails and addresses of the shapes only pseudonyms have, and the
pseudonyms a record lists as looking like real data. A credential header
that is still there is reported too. What is reported never includes the
value itself, only its kind, where it is, and its length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson

from parity.detectors import Finder
from parity.exchange import Body, Exchange, Headers
from parity.pseudonym import looks_made
from parity.sanitize import CREDENTIAL_HEADERS

__all__ = ["Suspect", "suspects"]


@dataclass(frozen=True, slots=True)
class Suspect:
    """Something in a stored exchange that looks sensitive; the value is not kept."""

    exchange_id: str
    where: str
    kind: str
    length: int

    def describe(self) -> str:
        return f"{self.exchange_id}  {self.where}: {self.kind} ({self.length} characters)"


def suspects(exchange: Exchange, finder: Finder) -> Iterator[Suspect]:
    """What in `exchange` looks like a secret or personal data."""
    sanitised = exchange.meta.get("sanitised")
    listed = set(sanitised.get("pseudonyms", ())) if isinstance(sanitised, dict) else set()

    def found(where: str, text: str) -> Iterator[Suspect]:
        for finding in finder(text):
            if finding.text in listed or looks_made(finding.text):
                continue
            yield Suspect(exchange.id, where, finding.kind.value, len(finding.text))

    request = exchange.request
    yield from _headers(exchange.id, "request", request.headers, found)
    yield from found("request path", unquote(request.path))
    for name, value in request.query:
        yield from found(f"query {name}", f"{name} {value}")
    yield from _body("request body", request.body, found)
    if exchange.response is not None:
        yield from _headers(exchange.id, "response", exchange.response.headers, found)
        yield from _body("response body", exchange.response.body, found)
    if exchange.error:
        yield from found("error", exchange.error)


def _headers(exchange_id: str, side: str, headers: Headers, found: Any) -> Iterator[Suspect]:
    for name, value in headers:
        if name.lower() in CREDENTIAL_HEADERS:
            yield Suspect(exchange_id, f"{side} header {name}", "credential header", len(value))
        else:
            yield from found(f"{side} header {name}", value)


def _body(where: str, body: Body, found: Any) -> Iterator[Suspect]:
    text = body.text()
    if text is None:
        return
    try:
        document = orjson.loads(body.content)
    except orjson.JSONDecodeError:
        yield from found(where, text)
        return
    stack = [document]
    while stack:  # iterative: as deep as orjson parses
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                yield from found(where, key)
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            yield from found(where, value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
            yield from found(where, str(value))

"""vcrpy cassettes: read the ones a test suite recorded, write ones vcrpy replays.

A cassette (vcrpy's format, version 1) holds interactions: a request (method,
URI, headers as lists by name, body) and a response (status code and
message, headers, body). YAML cassettes hold binary bodies as ``!!binary``;
JSON ones cannot, so they are read but never written. YAML is only ever
loaded with PyYAML's safe loader.

A cassette has no times, ids, HTTP versions or endpoint names, and groups
headers by name (the order between different names is kept, not their
interleaving). Written cassettes keep those in a ``parity`` key of each
interaction, which vcrpy ignores; reading a cassette Parity wrote puts them
back. A cassette from elsewhere gets times from the file's modification time.
An exchange without a response cannot be a cassette interaction and is left
out of a written cassette (`write_cassette` says how many).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import orjson
import yaml

from parity.interop.common import FormatError, decoded_body, extension_of, request_from_url
from parity.interop.common import restore as restored
from parity.traffic.exchange import Exchange, Headers, Response
from parity.traffic.ids import CORRELATION_HEADERS, correlation_id, new_exchange_id

__all__ = ["read_cassette", "write_cassette"]

_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Final = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def read_cassette(
    path: Path, on_bad: Callable[[FormatError], None] | None = None
) -> Iterator[Exchange]:
    """The exchanges in a vcrpy cassette (YAML or JSON). A bad interaction raises
    `FormatError`, or goes to `on_bad` and is skipped when one is given."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, "the file", f"cannot be read ({exc.strerror})") from None
    try:
        if text.lstrip()[:1] == b"{":
            document = orjson.loads(text)
        else:
            document = yaml.load(text, Loader=_LOADER)  # a safe loader: see the module notes
    except orjson.JSONDecodeError as exc:
        raise FormatError(path, "the file", f"is not JSON ({exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = "the file" if mark is None else f"line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FormatError(path, where, f"is not YAML ({problem})") from None
    interactions = document.get("interactions") if isinstance(document, dict) else None
    if not isinstance(interactions, list):
        raise FormatError(path, "the file", "is not a vcrpy cassette: it has no interactions list")
    base = path.stat().st_mtime
    for index, interaction in enumerate(interactions):
        try:
            yield _exchange(interaction, base + index / 1000)
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"has no {exc.args[0]!r} field" if isinstance(exc, KeyError) else str(exc)
            error = FormatError(path, f"interaction {index}", problem)
            if on_bad is None:
                raise error from None
            on_bad(error)


def _headers(mapping: object) -> Headers:
    if mapping is None:
        return Headers()
    if not isinstance(mapping, Mapping):
        raise TypeError("headers must be a mapping of name to a list of values")
    pairs = []
    for name, values in mapping.items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), str(value)))
    return Headers(pairs)


def _bytes(body: object) -> bytes:
    if isinstance(body, Mapping):  # a response body: {"string": ...}
        body = body.get("string")
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "surrogateescape")
    raise TypeError(f"a body must be text or bytes, not {type(body).__name__}")


def _exchange(interaction: Mapping[str, Any], at: float) -> Exchange:
    sent, received = interaction["request"], interaction["response"]
    headers = _headers(sent.get("headers"))
    request = request_from_url(
        str(sent["method"]), str(sent["uri"]), headers, _bytes(sent.get("body")), started=at
    )
    status = received["status"]
    code, message = (
        (status["code"], status.get("message", "")) if isinstance(status, Mapping) else (status, "")
    )
    response_headers, body, problem = decoded_body(
        _headers(received.get("headers")), _bytes(received.get("body"))
    )
    response = Response(int(code), str(message or ""), response_headers, body, "HTTP/1.1", at, at)
    exchange = Exchange(
        id=new_exchange_id(at),
        request=request,
        response=response,
        recorder_id="vcr",
        correlation_id=correlation_id(headers, CORRELATION_HEADERS),
        meta={"decode_error": problem} if problem else {},
    )
    extension = interaction.get("parity")
    exchange = restored(exchange, extension)
    stated = (
        extension.get("response", {}).get("content_length")
        if isinstance(extension, Mapping)
        else None
    )
    if stated is not None and exchange.response is not None:
        response = exchange.response
        headers = Headers(
            (k, str(stated) if k.lower() == "content-length" else v) for k, v in response.headers
        )
        exchange = replace(exchange, response=replace(response, headers=headers))
    return exchange


def write_cassette(exchanges: Iterable[Exchange], path: Path) -> tuple[int, int]:
    """Write `exchanges` as a YAML cassette vcrpy replays; returns (written, left out:
    exchanges that got no response)."""
    interactions, left_out = [], 0
    for exchange in exchanges:
        if exchange.response is None:
            left_out += 1
            continue
        interactions.append(_interaction(exchange, exchange.response))
    document = {"interactions": interactions, "version": 1}
    path.write_text(yaml.dump(document, Dumper=_DUMPER, allow_unicode=True, sort_keys=False))
    return len(interactions), left_out


def _grouped(headers: Headers, length: int | None = None) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        if length is not None and name.lower() == "content-length":
            value = str(length)  # the stored body is decoded: its own length
        grouped.setdefault(name, []).append(value)
    return grouped


def _text_or_bytes(content: bytes) -> str | bytes:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content


def _interaction(exchange: Exchange, response: Response) -> dict[str, Any]:
    request = exchange.request
    body = request.body.content
    extension = extension_of(exchange)
    stated = response.headers.get("content-length")
    if stated is not None and stated != str(len(response.body.content)):
        # A sanitised or decoded body is not the length the header states; vcrpy's clients
        # check it, so the cassette states the body's own, and keeps the original here.
        extension["response"]["content_length"] = stated
    return {
        "request": {
            "body": _text_or_bytes(body) if body else None,
            "headers": _grouped(request.headers),
            "method": request.method,
            "uri": request.url,
        },
        "response": {
            "body": {"string": _text_or_bytes(response.body.content)},
            "headers": _grouped(response.headers, len(response.body.content)),
            "status": {"code": response.status, "message": response.reason},
        },
        "parity": extension,
    }

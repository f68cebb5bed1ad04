"""From mitmproxy flows to Parity exchanges: the only module that touches mitmproxy.http.

Conversion happens in two steps so that mitmproxy's event loop does as little
as possible. `snapshot()` runs in the hook: it only takes references to the
flow's immutable parts (bytes, header tuples, numbers), which costs a few
attribute reads whatever the size of the flow. Everything else happens on the
writer thread in `to_exchange()`: decoding names and the query string,
endpoint identity (unless sampling needed it in the hook), the correlation
id, removing content-encodings (with a bound, see `parity.decode`), capping
and hashing bodies.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from parity.traffic.decode import DecodeLimitExceeded, UnknownEncoding, decode_bounded
from parity.traffic.endpoint import DEFAULT_RULES, EndpointRules, identify
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.ids import correlation_id, new_exchange_id

if TYPE_CHECKING:  # the writer process converts snapshots without importing mitmproxy
    from mitmproxy import http

__all__ = [
    "BodyLimits",
    "RawRequest",
    "RawResponse",
    "Snapshot",
    "correlation_id",
    "request_of",
    "snapshot",
    "to_exchange",
]

_Fields = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """How much of a body is kept, and how far a compressed body may expand."""

    max_body: int = 1 << 20
    max_decoded: int = 16 << 20


class RawRequest(NamedTuple):
    """A request as it was sent: mitmproxy's own bytes and numbers."""

    method: bytes
    scheme: bytes
    host: str
    port: int
    target: bytes
    http_version: bytes
    headers: _Fields
    content: bytes
    timestamp_start: float
    timestamp_end: float | None


class RawResponse(NamedTuple):
    """A response as it came: mitmproxy's own bytes and numbers, or the gateway's."""

    status: int
    reason: bytes
    http_version: bytes
    headers: _Fields
    content: bytes
    timestamp_start: float | None
    timestamp_end: float | None


class Snapshot(NamedTuple):
    """What the hook keeps of a finished flow; turned into an exchange later.

    Tuples of bytes and numbers, so that handing a batch of them to the writer
    process costs one quick pickle.

    `endpoint` is set when the hook had to name the endpoint already (to sample);
    otherwise the writer names it.
    """

    request: RawRequest
    response: RawResponse | None
    error: str | None
    endpoint: str | None = None
    #: A call the recorded service made to a dependency (the recorder was its proxy).
    outbound: bool = False
    #: Facts other addons attach for the record's ``meta`` (the gateway's phase, say).
    meta: tuple[tuple[str, Any], ...] = ()


def snapshot(flow: http.HTTPFlow, endpoint: str | None = None, outbound: bool = False) -> Snapshot:
    """The flow's immutable parts, by reference: cheap enough for the event loop."""
    sent = flow.request.data
    request = RawRequest(
        sent.method,
        sent.scheme,
        sent.host,
        sent.port,
        sent.path,
        sent.http_version,
        sent.headers.fields,
        sent.content or b"",
        sent.timestamp_start,
        sent.timestamp_end,
    )
    raw = None
    if flow.response is not None:
        got = flow.response.data
        raw = RawResponse(
            got.status_code,
            got.reason,
            got.http_version,
            got.headers.fields,
            got.content or b"",
            got.timestamp_start,
            got.timestamp_end,
        )
    error = flow.error.msg if flow.error is not None and raw is None else None
    return Snapshot(request, raw, error, endpoint, outbound)


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _headers(fields: Iterable[tuple[bytes, bytes]]) -> Headers:
    return Headers((_text(name), _text(value)) for name, value in fields)


def _unhashed(content: bytes) -> Body:
    """A body whose digest was not computed (empty): only ever used for naming."""
    return Body(content, len(content), "")


def request_of(snap: Snapshot, *, hashed: bool = True) -> Request:
    """The snapshot's request as the client sent it; the body as on the wire.

    Names and the query are decoded as mitmproxy decodes them (`flow.request.path`
    and `.query`), so a recording means what mitmproxy users expect. With
    `hashed` false the body's digest is left out: for naming the endpoint on
    the event loop (sampling), where only the method, path, query and body count.
    """
    sent = snap.request
    target = sent.target.decode("utf-8", "surrogateescape")
    path, _, rest = target.partition("?")
    query = rest.partition("#")[0]
    fields = urllib.parse.parse_qsl(query, keep_blank_values=True, errors="surrogateescape")
    return Request(
        sent.method.decode("utf-8", "surrogateescape").upper(),
        sent.scheme.decode("utf-8", "surrogateescape"),
        sent.host,
        sent.port,
        path,
        Query(fields),
        _headers(sent.headers),
        Body.of(sent.content) if hashed else _unhashed(sent.content or b""),
        sent.http_version.decode("utf-8", "surrogateescape"),
        sent.timestamp_start,
        sent.timestamp_end,
    )


def _decoded(
    headers: Headers, content: bytes, limits: BodyLimits, side: str, meta: dict[str, Any]
) -> tuple[Headers, Body]:
    encoding = headers.get("content-encoding")
    if encoding and content:
        try:
            content = decode_bounded(content, encoding, limits.max_decoded)
        except DecodeLimitExceeded:
            meta[f"{side}_body_encoded"] = (
                f"kept as sent ({encoding}): decoded it would pass {limits.max_decoded} bytes"
            )
        except UnknownEncoding as exc:
            meta[f"{side}_body_encoded"] = f"kept as sent: {exc}"
        else:
            meta[f"{side}_content_encoding"] = encoding
            headers = headers.with_fields(
                (k, v) for k, v in headers if k.lower() != "content-encoding"
            )
    return headers, Body.of(content, limits.max_body)


def to_exchange(
    snap: Snapshot,
    recorder_id: str,
    limits: BodyLimits,
    *,
    correlation_names: Sequence[str] = (),
    rules: EndpointRules = DEFAULT_RULES,
) -> Exchange:
    """The exchange a snapshot holds, bodies decoded and capped, endpoint named."""
    meta: dict[str, Any] = dict(snap.meta)
    if snap.outbound:
        meta["outbound"] = True
    request = request_of(snap)
    endpoint = snap.endpoint or identify(request, rules)
    if request.headers.get("content-encoding") or request.body.size > limits.max_body:
        headers, body = _decoded(request.headers, request.body.content, limits, "request", meta)
        request = Request(
            request.method,
            request.scheme,
            request.host,
            request.port,
            request.path,
            request.query,
            headers,
            body,
            request.http_version,
            request.timestamp_start,
            request.timestamp_end,
        )
    response = None
    if snap.response is not None:
        raw = snap.response
        headers, body = _decoded(_headers(raw.headers), raw.content, limits, "response", meta)
        response = Response(
            raw.status,
            raw.reason.decode("iso-8859-1"),
            headers,
            body,
            raw.http_version.decode("utf-8", "surrogateescape"),
            raw.timestamp_start,
            raw.timestamp_end,
        )
    return Exchange(
        id=new_exchange_id(request.timestamp_start),
        request=request,
        response=response,
        error=snap.error,
        recorder_id=recorder_id,
        endpoint=endpoint,
        correlation_id=correlation_id(request.headers, correlation_names),
        meta=meta,
    )

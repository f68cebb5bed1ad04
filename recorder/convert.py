"""From mitmproxy flows to Parity exchanges: the only module that touches mitmproxy.http.

Conversion happens in two steps so that mitmproxy's event loop does as little
as possible. `snapshot()` runs in the hook: it keeps references to the flow's
immutable bytes and decodes only the small things endpoint identity needs.
`to_exchange()` runs on the writer thread: it removes content-encodings (with
a bound, see `recorder.decode`), caps body sizes and hashes bodies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mitmproxy import http

from parity.exchange import Body, Exchange, Headers, Query, Request, Response, new_exchange_id
from recorder.decode import DecodeLimitExceeded, UnknownEncoding, decode_bounded

__all__ = ["BodyLimits", "Snapshot", "correlation_id", "snapshot", "to_exchange"]


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """How much of a body is kept, and how far a compressed body may expand."""

    max_body: int = 1 << 20
    max_decoded: int = 16 << 20


@dataclass(frozen=True, slots=True)
class _RawResponse:
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[bytes, bytes], ...]
    content: bytes
    timestamp_start: float | None
    timestamp_end: float | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the hook keeps of a finished flow; turned into an exchange later."""

    request: Request
    response: _RawResponse | None
    error: str | None
    endpoint: str
    correlation_id: str | None


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _headers(fields: Iterable[tuple[bytes, bytes]]) -> Headers:
    return Headers((_text(name), _text(value)) for name, value in fields)


def request_of(flow: http.HTTPFlow) -> Request:
    """The flow's request as the client sent it; the body as on the wire."""
    sent = flow.request
    path, _, _ = sent.path.partition("?")
    return Request(
        sent.method,
        sent.scheme,
        sent.host,
        sent.port,
        path,
        Query(sent.query.fields),
        _headers(sent.headers.fields),
        Body.of(sent.raw_content or b""),
        sent.http_version,
        sent.timestamp_start,
        sent.timestamp_end,
    )


def correlation_id(headers: Headers, names: Sequence[str]) -> str | None:
    """The first correlation header present. For W3C `traceparent`, the trace id,
    which the monolith passes on to its own outbound calls."""
    for name in names:
        value = headers.get(name)
        if not value:
            continue
        if name.lower() == "traceparent":
            parts = value.strip().split("-")
            if len(parts) >= 3 and len(parts[1]) == 32:
                return parts[1].lower()
        return value.strip()
    return None


def snapshot(
    flow: http.HTTPFlow, request: Request, endpoint: str, correlation_names: Sequence[str]
) -> Snapshot:
    response = flow.response
    raw = None
    if response is not None:
        raw = _RawResponse(
            response.status_code,
            response.reason,
            response.http_version,
            tuple(response.headers.fields),
            response.raw_content or b"",
            response.timestamp_start,
            response.timestamp_end,
        )
    error = flow.error.msg if flow.error is not None and response is None else None
    return Snapshot(
        request, raw, error, endpoint, correlation_id(request.headers, correlation_names)
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


def to_exchange(snap: Snapshot, recorder_id: str, limits: BodyLimits) -> Exchange:
    """The exchange a snapshot holds, bodies decoded and capped."""
    meta: dict[str, Any] = {}
    request = snap.request
    if request.headers.get("content-encoding") or request.body.size > limits.max_body:
        headers, body = _decoded(request.headers, request.body.content, limits, "request", meta)
        request = Request(
            request.method, request.scheme, request.host, request.port, request.path,
            request.query, headers, body, request.http_version,
            request.timestamp_start, request.timestamp_end,
        )  # fmt: skip
    response = None
    if snap.response is not None:
        raw = snap.response
        headers, body = _decoded(_headers(raw.headers), raw.content, limits, "response", meta)
        response = Response(
            raw.status, raw.reason, headers, body, raw.http_version,
            raw.timestamp_start, raw.timestamp_end,
        )  # fmt: skip
    return Exchange(
        id=new_exchange_id(request.timestamp_start),
        request=request,
        response=response,
        error=snap.error,
        recorder_id=recorder_id,
        endpoint=snap.endpoint,
        correlation_id=snap.correlation_id,
        meta=meta,
    )

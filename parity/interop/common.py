"""What the traffic formats Parity reads and writes share: building exchanges from
other tools' records, and the error that names the file and the place.

Each format lives in its own module (`parity.interop.har`, `parity.interop.cassette`, and
`recorder.flowfile` for mitmproxy's, which needs mitmproxy); they turn
entries into `Exchange` objects with `request_from_url` and
`decoded_response`, and raise `FormatError` for anything they cannot read.
Exchanges keep what the other format cannot say in an extension of their
own where the format allows one (HAR's ``_parity``, a cassette's ``parity``
key), so a round trip through Parity's own exports loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from parity.errors import ParityError
from parity.traffic.decode import DecodeLimitExceeded, UnknownEncoding, decode_bounded
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response

__all__ = [
    "DECODED_LIMIT",
    "FormatError",
    "decoded_body",
    "extension_of",
    "request_from_url",
    "restore",
]

#: Bodies in other formats are decoded up to this size, as the recorder decodes them.
DECODED_LIMIT: Final = 64 << 20


class FormatError(ParityError):
    """A file that is not what its format says: names the file and the place in it."""

    def __init__(self, path: object, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")


def request_from_url(
    method: str,
    url: str,
    headers: Headers,
    body: bytes,
    *,
    http_version: str = "HTTP/1.1",
    started: float = 0.0,
    ended: float | None = None,
) -> Request:
    """A request from an absolute URL, as other tools record them.

    The path keeps its percent-encoding; the query is decoded into pairs in
    order. Raises ValueError for a URL without a scheme and a host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    query = Query(parse_qsl(parts.query, keep_blank_values=True))
    return Request(
        method.upper(),
        parts.scheme,
        parts.hostname,
        port,
        parts.path or "/",
        query,
        headers,
        Body.of(body),
        http_version,
        started,
        ended,
    )


def decoded_body(headers: Headers, content: bytes) -> tuple[Headers, Body, str | None]:
    """A body with its content-encoding removed, as stored bodies are, and the headers
    without Content-Encoding; or the body as it was and why it could not be decoded."""
    coding = headers.get("content-encoding")
    if not coding or coding.strip().lower() == "identity":
        return headers, Body.of(content), None
    try:
        decoded = decode_bounded(content, coding, DECODED_LIMIT)
    except (UnknownEncoding, DecodeLimitExceeded) as exc:
        return headers, Body.of(content), str(exc) or "decoded body too large"
    kept = Headers((k, v) for k, v in headers if k.lower() != "content-encoding")
    return kept, Body.of(decoded), None


def extension_of(exchange: Exchange) -> dict[str, Any]:
    """What Parity knows of an exchange beyond what other formats hold, for their
    extension fields: read back by `restore`."""
    extension: dict[str, Any] = {"id": exchange.id, "recorder_id": exchange.recorder_id}
    for name in ("endpoint", "correlation_id", "parent_id", "error"):
        value = getattr(exchange, name)
        if value is not None:
            extension[name] = value
    if exchange.meta:
        extension["meta"] = dict(exchange.meta)
    request, response = exchange.request, exchange.response
    extension["request"] = {
        "http_version": request.http_version,
        "timestamp_start": request.timestamp_start,
        "timestamp_end": request.timestamp_end,
        "body": _truncation(request.body),
    }
    if response is not None:
        extension["response"] = {
            "reason": response.reason,
            "http_version": response.http_version,
            "timestamp_start": response.timestamp_start,
            "timestamp_end": response.timestamp_end,
            "body": _truncation(response.body),
        }
    return extension


def _truncation(body: Body) -> dict[str, Any] | None:
    return {"size": body.size, "sha256": body.sha256} if body.truncated else None


def restore(exchange: Exchange, extension: object) -> Exchange:
    """`exchange` with what `extension_of` kept put back; unchanged without one."""
    if not isinstance(extension, Mapping):
        return exchange
    request, response = exchange.request, exchange.response
    saved = extension.get("request")
    if isinstance(saved, Mapping):
        request = Request(
            request.method,
            request.scheme,
            request.host,
            request.port,
            request.path,
            request.query,
            request.headers,
            _restored(request.body, saved.get("body")),
            saved.get("http_version", request.http_version),
            saved.get("timestamp_start", request.timestamp_start),
            saved.get("timestamp_end", request.timestamp_end),
        )
    saved = extension.get("response")
    if response is not None and isinstance(saved, Mapping):
        response = Response(
            response.status,
            saved.get("reason", response.reason),
            response.headers,
            _restored(response.body, saved.get("body")),
            saved.get("http_version", response.http_version),
            saved.get("timestamp_start", response.timestamp_start),
            saved.get("timestamp_end", response.timestamp_end),
        )
    meta = extension.get("meta")
    return Exchange(
        id=str(extension.get("id") or exchange.id),
        request=request,
        response=response,
        error=extension.get("error", exchange.error),
        recorder_id=str(extension.get("recorder_id") or exchange.recorder_id),
        endpoint=extension.get("endpoint", exchange.endpoint),
        correlation_id=extension.get("correlation_id", exchange.correlation_id),
        parent_id=extension.get("parent_id", exchange.parent_id),
        meta=dict(meta) if isinstance(meta, Mapping) else exchange.meta,
    )


def _restored(body: Body, truncation: object) -> Body:
    if isinstance(truncation, Mapping) and "size" in truncation and "sha256" in truncation:
        return Body(body.content, int(truncation["size"]), str(truncation["sha256"]))
    return body

"""HAR 1.2: read the archives browsers and proxies write, write ones they open.

Reading takes each entry's request (method, URL, HTTP version, headers, the
posted body as text, base64 or form parameters) and response (status, text,
headers, and the content as text or base64). Browsers store the content
decoded, so Content-Encoding is dropped as Parity's own recordings drop it.
HTTP/2 pseudo-headers (``:authority``...) are not headers on the wire and
are dropped. An entry the browser never got an answer for (status 0) is an
exchange with an error. Entries without their content (some tools leave it
out) get an empty body, noted in ``meta.imported``.

Writing puts everything a HAR holds in its standard fields and what it
cannot hold (ids, endpoint, correlation, sanitising metadata, exact times,
the digests of truncated bodies) in the ``_parity`` extension field HAR
allows, so a store written to HAR and read back is the same.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import orjson

from parity import __version__
from parity.interop.common import (
    FormatError,
    decoded_body,
    extension_of,
    request_from_url,
)
from parity.interop.common import restore as restored
from parity.traffic.exchange import Body, Exchange, Headers, Response
from parity.traffic.ids import CORRELATION_HEADERS, correlation_id, new_exchange_id
from parity.traffic.times import timestamp_of

__all__ = ["read_har", "write_har"]

_VERSIONS: Final = {
    "h2": "HTTP/2.0",
    "http/2": "HTTP/2.0",
    "http/2.0": "HTTP/2.0",
    "h3": "HTTP/3",
    "http/3": "HTTP/3",
    "http/1.0": "HTTP/1.0",
}


def read_har(path: Path, on_bad: Callable[[FormatError], None] | None = None) -> Iterator[Exchange]:
    """The exchanges in a HAR file. A bad entry raises `FormatError`, or is passed to
    `on_bad` and skipped when one is given; a file that is not HAR always raises."""
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise FormatError(path, "the file", f"is not JSON ({exc})") from None
    except OSError as exc:
        raise FormatError(path, "the file", f"cannot be read ({exc.strerror})") from None
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise FormatError(path, "the file", "is not a HAR: it has no log.entries list")
    for index, entry in enumerate(entries):
        try:
            yield _exchange(entry)
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            error = FormatError(path, f"entry {index}{_url_of(entry)}", _problem(exc))
            if on_bad is None:
                raise error from None
            on_bad(error)


def _url_of(entry: object) -> str:
    try:
        return f" ({entry['request']['method']} {entry['request']['url']})"  # type: ignore[index]
    except (KeyError, TypeError):
        return ""


def _problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"has no {exc.args[0]!r} field"
    if isinstance(exc, binascii.Error):
        return f"has a body that is not valid base64 ({exc})"
    return str(exc) or type(exc).__name__


def _version(value: object) -> str:
    text = str(value or "").strip()
    default = text.upper() if text.lower().startswith("http/") else "HTTP/1.1"
    return _VERSIONS.get(text.lower(), default)


def _headers(items: object) -> Headers:
    if not isinstance(items, list):
        raise TypeError("headers must be a list of {name, value}")
    return Headers(
        (str(item["name"]), str(item["value"]))
        for item in items
        if not str(item["name"]).startswith(":")
    )


def _content(holder: Mapping[str, Any], key: str = "text") -> bytes | None:
    text = holder.get(key)
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f"{key} must be a string")
    if holder.get("encoding") == "base64":
        return base64.b64decode(text, validate=True)
    return text.encode("utf-8", "surrogateescape")


def _exchange(entry: Mapping[str, Any]) -> Exchange:
    request_part, response_part = entry["request"], entry["response"]
    started = timestamp_of(entry["startedDateTime"])
    total = float(entry.get("time") or 0) / 1000
    headers = _headers(request_part["headers"])
    posted = request_part.get("postData") or {}
    body = _content(posted)
    if body is None and posted.get("params"):
        body = urlencode([(p["name"], p.get("value", "")) for p in posted["params"]]).encode()
    request = request_from_url(
        str(request_part["method"]),
        str(request_part["url"]),
        headers,
        body or b"",
        http_version=_version(request_part.get("httpVersion")),
        started=started,
    )
    meta: dict[str, Any] = {}
    response = None
    error = None
    status = int(response_part["status"])
    if status == 0:
        error = str(response_part.get("_error") or entry.get("_error") or "no response")
    else:
        content = response_part.get("content") or {}
        raw = _content(content)
        if raw is None and int(content.get("size") or 0) > 0:
            meta["imported"] = {"format": "har", "response_body": "not in the file"}
        response_headers = _headers(response_part["headers"])
        if raw is not None:  # browsers store content decoded
            response_headers = Headers(
                (k, v) for k, v in response_headers if k.lower() != "content-encoding"
            )
        response_headers, response_body, problem = decoded_body(response_headers, raw or b"")
        if problem:
            meta["decode_error"] = problem
        timings = entry.get("timings") or {}
        waited = sum(
            max(float(timings.get(k) or 0), 0)
            for k in ("blocked", "dns", "connect", "send", "wait")
        )
        response = Response(
            status,
            str(response_part.get("statusText") or ""),
            response_headers,
            response_body,
            _version(response_part.get("httpVersion")),
            started + waited / 1000,
            started + total,
        )
    exchange = Exchange(
        id=new_exchange_id(started),
        request=request,
        response=response,
        error=error,
        recorder_id="har",
        correlation_id=correlation_id(headers, CORRELATION_HEADERS),
        meta=meta,
    )
    return restored(exchange, entry.get("_parity"))


def write_har(exchanges: Iterable[Exchange], path: Path) -> int:
    """Write `exchanges` as one HAR 1.2 file; returns how many entries it holds."""
    entries = [_entry(exchange) for exchange in exchanges]
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "parity", "version": __version__},
            "entries": entries,
        }
    }
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return len(entries)


def _time(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _pairs(headers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _body(body: Body, media: str) -> dict[str, Any]:
    text = body.text()
    if text is None:
        return {
            "mimeType": media,
            "text": base64.b64encode(body.content).decode(),
            "encoding": "base64",
        }
    return {"mimeType": media, "text": text}


def _entry(exchange: Exchange) -> dict[str, Any]:
    request, response = exchange.request, exchange.response
    started = request.timestamp_start
    ended = (response.timestamp_end if response else None) or request.timestamp_end or started
    har_request: dict[str, Any] = {
        "method": request.method,
        "url": request.url,
        "httpVersion": request.http_version,
        "cookies": [],
        "headers": _pairs(request.headers),
        "queryString": _pairs(request.query),
        "headersSize": -1,
        "bodySize": request.body.size,
    }
    if request.body.content:
        media = request.headers.get("content-type") or "application/octet-stream"
        har_request["postData"] = _body(request.body, media)
    if response is None:
        har_response: dict[str, Any] = {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": exchange.error or "no response",
        }
    else:
        media = response.headers.get("content-type") or ""
        har_response = {
            "status": response.status,
            "statusText": response.reason,
            "httpVersion": response.http_version,
            "cookies": [],
            "headers": _pairs(response.headers),
            "content": {"size": response.body.size, **_body(response.body, media)},
            "redirectURL": response.headers.get("location") or "",
            "headersSize": -1,
            "bodySize": response.body.size,
        }
    waited = max(((response.timestamp_start or started) - started) if response else 0.0, 0.0)
    total = max(ended - started, 0.0)
    timings = {
        "send": 0,
        "wait": round(waited * 1000, 3),
        "receive": round(max(total - waited, 0.0) * 1000, 3),
    }
    return {
        "startedDateTime": _time(started),
        "time": round(total * 1000, 3),
        "request": har_request,
        "response": har_response,
        "cache": {},
        "timings": timings,
        "_parity": extension_of(exchange),
    }

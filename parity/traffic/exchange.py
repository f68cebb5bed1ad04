"""Request, Response and Exchange: what Parity records, replays and compares.

The model holds everything a faithful replay and a diff need, and nothing that
depends on mitmproxy, pytest or a store. `Exchange.to_record()` turns an
exchange into plain JSON-compatible values (the stored format, described in
docs/FORMAT.md) and `Exchange.from_record()` turns such a record back, reading
older format versions through the migrations of `parity.traffic.records`.
Exchange and correlation ids are made and read in `parity.traffic.ids`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self
from urllib.parse import urlencode

from parity.errors import RecordError
from parity.traffic.records import FORMAT_VERSION, Record, upgrade_record

__all__ = [
    "Body",
    "Exchange",
    "Headers",
    "Query",
    "Request",
    "Response",
    "media_type",
]

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class _Fields:
    """An immutable, ordered multi-map of text names to text values.

    Order and repeats are kept exactly as they were on the wire; so is the case
    of names. Lookups by name are case-sensitive here and case-insensitive in
    `Headers`.
    """

    __slots__ = ("_fields",)
    _fold_case: ClassVar[bool] = False

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        # Checked in the fewest steps, as this runs several times for every message read:
        # unpacking refuses what is not a pair, and each half must be a str.
        try:
            pairs = tuple([(name, value) for name, value in fields])
            for name, value in pairs:
                if not (isinstance(name, str) and isinstance(value, str)):
                    raise TypeError
        except (TypeError, ValueError):
            raise TypeError(f"{type(self).__name__} holds (name, value) pairs of str") from None
        self._fields: tuple[tuple[str, str], ...] = pairs

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        """The (name, value) pairs in their original order."""
        return self._fields

    def _matching(self, name: str) -> Iterator[str]:
        """The values under `name`, in order."""
        if self._fold_case:
            folded = name.lower()
            return (value for key, value in self._fields if key.lower() == folded)
        return (value for key, value in self._fields if key == name)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value for `name`, or `default`."""
        if self._fold_case:
            folded = name.lower()
            for key, value in self._fields:
                if key.lower() == folded:
                    return value
            return default
        for key, value in self._fields:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value for `name`, in order."""
        return list(self._matching(name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Fields)
        return self._fields == other._fields

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._fields))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self._fields)!r})"

    def with_fields(self, fields: Iterable[tuple[str, str]]) -> Self:
        """A copy holding other fields."""
        return type(self)(fields)


class Headers(_Fields):
    """HTTP header fields: case and repeats preserved, lookups case-insensitive."""

    __slots__ = ()
    _fold_case = True


def media_type(headers: Headers) -> str:
    """The Content-Type's media type, lower case, without parameters ("" when none)."""
    return (headers.get("content-type") or "").partition(";")[0].strip().lower()


class Query(_Fields):
    """Decoded query-string parameters, in order, repeats kept (`?tag=a&tag=b`)."""

    __slots__ = ()

    def encode(self) -> str:
        """The query string to send, without the leading ``?``."""
        return urlencode(self._fields)


@dataclass(frozen=True, slots=True)
class Body:
    """A message body: the stored bytes plus the size and digest of the full body.

    When a recorder caps body size, `content` holds only the first bytes while
    `size` and `sha256` still describe the whole body, so a replay can tell a
    truncated recording from a short response.
    """

    content: bytes = b""
    size: int = 0
    sha256: str = _EMPTY_SHA256

    @classmethod
    def of(cls, data: bytes, limit: int | None = None) -> Body:
        """The body `data`, keeping at most `limit` bytes of it when a limit is given."""
        digest = hashlib.sha256(data).hexdigest() if data else _EMPTY_SHA256
        kept = data if limit is None or len(data) <= limit else data[:limit]
        return cls(kept, len(data), digest)

    @property
    def truncated(self) -> bool:
        """True when `content` holds less than the whole body."""
        return len(self.content) < self.size

    def text(self) -> str | None:
        """The content decoded as UTF-8, or None when it is not valid UTF-8."""
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def to_record(self) -> Record:
        record: Record = {"size": self.size, "sha256": self.sha256, "truncated": self.truncated}
        text = self.text()
        if text is None:
            record["base64"] = base64.b64encode(self.content).decode("ascii")
        else:
            record["text"] = text
        return record

    @classmethod
    def from_record(cls, record: Record) -> Body:
        if "text" in record:
            content = record["text"].encode("utf-8")
        else:
            content = base64.b64decode(record["base64"], validate=True)
        return cls(content, record["size"], record["sha256"])


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request as the client sent it.

    `path` is the path as sent on the wire (percent-encoding kept), without the
    query string; `query` holds the decoded parameters in their original order.
    """

    method: str
    scheme: str
    host: str
    port: int
    path: str
    query: Query = field(default_factory=Query)
    headers: Headers = field(default_factory=Headers)
    body: Body = field(default_factory=Body)
    http_version: str = "HTTP/1.1"
    timestamp_start: float = 0.0
    timestamp_end: float | None = None

    @property
    def target(self) -> str:
        """Path and query string, as on an HTTP/1.1 request line."""
        return f"{self.path}?{self.query.encode()}" if self.query else self.path

    @property
    def url(self) -> str:
        default_port = {"http": 80, "https": 443}.get(self.scheme)
        authority = self.host if self.port == default_port else f"{self.host}:{self.port}"
        return f"{self.scheme}://{authority}{self.target}"

    def to_record(self) -> Record:
        # Pairs stay tuples: orjson writes them as JSON arrays.
        return {
            "method": self.method,
            "scheme": self.scheme,
            "host": self.host,
            "port": self.port,
            "path": self.path,
            "query": self.query.fields,
            "http_version": self.http_version,
            "headers": self.headers.fields,
            "body": self.body.to_record(),
            "timestamp_start": self.timestamp_start,
            "timestamp_end": self.timestamp_end,
        }

    @classmethod
    def from_record(cls, record: Record) -> Request:
        # Positional: this runs for every exchange read, and is measurably faster.
        return cls(
            record["method"],
            record["scheme"],
            record["host"],
            record["port"],
            record["path"],
            Query(record["query"]),
            Headers(record["headers"]),
            Body.from_record(record["body"]),
            record["http_version"],
            record["timestamp_start"],
            record["timestamp_end"],
        )


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response as the server sent it."""

    status: int
    reason: str = ""
    headers: Headers = field(default_factory=Headers)
    body: Body = field(default_factory=Body)
    http_version: str = "HTTP/1.1"
    timestamp_start: float | None = None
    timestamp_end: float | None = None

    def to_record(self) -> Record:
        return {
            "status": self.status,
            "reason": self.reason,
            "http_version": self.http_version,
            "headers": self.headers.fields,
            "body": self.body.to_record(),
            "timestamp_start": self.timestamp_start,
            "timestamp_end": self.timestamp_end,
        }

    @classmethod
    def from_record(cls, record: Record) -> Response:
        return cls(
            record["status"],
            record["reason"],
            Headers(record["headers"]),
            Body.from_record(record["body"]),
            record["http_version"],
            record["timestamp_start"],
            record["timestamp_end"],
        )


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and what came of it: a response, or an error when there was none.

    `id` sorts by time (see `new_exchange_id`). `correlation_id` ties together
    the exchanges of one user request: the inbound call to the monolith and the
    calls the monolith made to its own dependencies, whose `parent_id` names
    the inbound exchange. `endpoint` is the identity the recorder computed
    (see `parity.traffic.endpoint`); readers may recompute it with their own rules.
    `meta` holds JSON-compatible facts about how the exchange was recorded,
    such as what the sanitiser changed.
    """

    id: str
    request: Request
    response: Response | None = None
    error: str | None = None
    recorder_id: str = ""
    endpoint: str | None = None
    correlation_id: str | None = None
    parent_id: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def started_at(self) -> float:
        """When the request started, in seconds since the epoch (UTC)."""
        return self.request.timestamp_start

    def to_record(self) -> Record:
        return {
            "v": FORMAT_VERSION,
            "id": self.id,
            "recorder_id": self.recorder_id,
            "endpoint": self.endpoint,
            "correlation_id": self.correlation_id,
            "parent_id": self.parent_id,
            "request": self.request.to_record(),
            "response": None if self.response is None else self.response.to_record(),
            "error": self.error,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_record(cls, record: Record) -> Exchange:
        """The exchange a record holds, upgrading records of older format versions.

        Raises `FormatVersionError` for a version this Parity does not know and
        `RecordError` for a record that is not a valid exchange.
        """
        record = upgrade_record(record)
        try:
            response = record["response"]
            return cls(
                record["id"],
                Request.from_record(record["request"]),
                None if response is None else Response.from_record(response),
                record["error"],
                record["recorder_id"],
                record["endpoint"],
                record["correlation_id"],
                record["parent_id"],
                record["meta"],
            )
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise RecordError(f"record {record.get('id', '?')!s} is malformed ({detail})") from exc

"""Stores: where segments live. A local directory (`local`, the default) or an S3
bucket (`s3`, loaded when one is opened); `segments` is the stored format and
its names, `writer` and `reader` write and read it, `inventory` what a store
holds per endpoint. `open_store` opens either by URL.

Both hold the same keys (`SegmentKey`): hive-style partitions by UTC hour. A
segment becomes visible only when it is whole (written then renamed locally; a
single PUT or a completed multipart upload on S3) and is never overwritten, so
many recorders can write to one store while readers list and read it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO
from urllib.parse import parse_qs, unquote, urlsplit

from parity.errors import UsageError
from parity.store.base import SegmentExistsError, SegmentInfo, Store
from parity.store.local import LocalStore
from parity.store.reader import (
    SegmentDamage,
    read_exchanges,
    read_records,
)
from parity.store.segments import (
    Compression,
    SegmentKey,
    valid_recorder_id,
)
from parity.store.writer import SegmentWriter
from parity.traffic.exchange import Exchange
from parity.traffic.records import Record

__all__ = [
    "Compression",
    "LocalStore",
    "SegmentDamage",
    "SegmentExistsError",
    "SegmentInfo",
    "SegmentKey",
    "Store",
    "existing_segments",
    "iter_exchanges",
    "iter_records",
    "open_store",
    "write_exchanges",
]


def open_store(url: str | os.PathLike[str], *, endpoint_url: str | None = None) -> Store:
    """The store named by `url`: a directory path, `file:///path` or `s3://bucket/prefix`.

    An S3 URL may carry its endpoint: `s3://bucket/prefix?endpoint_url=http://host:port`.
    """
    text = os.fspath(url)
    if "://" not in text:
        return LocalStore(text)
    parts = urlsplit(text)
    if parts.scheme == "file":
        if parts.netloc not in {"", "localhost"}:
            raise UsageError(f"store URL {text!r} names a remote host; use file:///absolute/path")
        return LocalStore(unquote(parts.path))
    if parts.scheme == "s3":
        options = parse_qs(parts.query)
        unknown = set(options) - {"endpoint_url"}
        if unknown:
            raise UsageError(
                f"store URL {text!r} has unknown option(s) {', '.join(sorted(unknown))}; "
                "the only one is endpoint_url"
            )
        endpoint = options.get("endpoint_url", [endpoint_url])[-1]
        from parity.store.s3 import S3Store

        return S3Store(parts.netloc, unquote(parts.path), endpoint_url=endpoint)
    raise UsageError(
        f"unsupported store URL {text!r}; use a directory, file:///path or s3://bucket/prefix"
    )


def _in_range(record_time: object, since: datetime | None, until: datetime | None) -> bool:
    if since is None and until is None:
        return True
    if not isinstance(record_time, int | float):
        return False
    return (since is None or record_time >= since.timestamp()) and (
        until is None or record_time < until.timestamp()
    )


def _open_each(
    store: Store,
    since: datetime | None,
    until: datetime | None,
    on_segment: Callable[[SegmentInfo], None] | None,
    take: Callable[[SegmentInfo], bool] | None = None,
) -> Iterator[tuple[SegmentInfo, IO[bytes]]]:
    for info in store.list_segments(since, until):
        if on_segment is not None:
            on_segment(info)
        if take is not None and not take(info):
            continue
        with store.open_segment(info.key) as stream:
            yield info, stream


def iter_records(
    store: Store,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    on_damage: Callable[[SegmentDamage], None] | None = None,
    on_segment: Callable[[SegmentInfo], None] | None = None,
) -> Iterator[Record]:
    """Every record in the store that started in [since, until), streaming, segment by
    segment: memory stays bounded however large the store is. `on_segment` hears of
    each segment before it is read."""
    for info, stream in _open_each(store, since, until, on_segment):
        key = info.key
        for record in read_records(stream, key.name, key.compression, on_damage=on_damage):
            request = record.get("request")
            started = request.get("timestamp_start") if isinstance(request, dict) else None
            if _in_range(started, since, until):
                yield record


def iter_exchanges(
    store: Store,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    on_damage: Callable[[SegmentDamage], None] | None = None,
    on_segment: Callable[[SegmentInfo], None] | None = None,
    take: Callable[[SegmentInfo], bool] | None = None,
) -> Iterator[Exchange]:
    """Every exchange in the store that started in [since, until), streaming; records
    that are not valid exchanges count as damage. `on_segment` hears of each segment
    listed, and `take`, when given, says which of them are read."""
    for info, stream in _open_each(store, since, until, on_segment, take):
        key = info.key
        for exchange in read_exchanges(stream, key.name, key.compression, on_damage=on_damage):
            if _in_range(exchange.started_at, since, until):
                yield exchange


def write_exchanges(
    store: Store,
    exchanges: Iterable[Exchange],
    recorder_id: str,
    *,
    compression: Compression = Compression.ZSTD,
    max_records: int = 100_000,
) -> list[SegmentKey]:
    """Write exchanges into new segments, in the order given, and return their keys.

    A segment closes after `max_records` exchanges or when the next exchange
    starts in another UTC hour, so every exchange lies in its segment's hour.
    Sequence numbers continue after the recorder's highest one in the store.
    """
    valid_recorder_id(recorder_id)
    seq = 1 + max(
        (info.key.seq for info in existing_segments(store) if info.key.recorder_id == recorder_id),
        default=-1,
    )
    written: list[SegmentKey] = []
    it = iter(exchanges)
    pending = next(it, None)
    while pending is not None:
        key = SegmentKey.for_time(pending.started_at, recorder_id, seq, compression)
        with store.create_segment(key) as stream, SegmentWriter(stream, compression) as writer:
            while pending is not None and writer.records < max_records:
                if SegmentKey.for_time(pending.started_at, recorder_id, seq).hour != key.hour:
                    break
                writer.write(pending)
                pending = next(it, None)
        written.append(key)
        seq += 1
    return written


def existing_segments(store: Store) -> Iterator[SegmentInfo]:
    """The store's segments; none for a local directory not created yet."""
    if isinstance(store, LocalStore) and not store.root.exists():
        return iter(())
    return store.list_segments()

"""Stores: where segments live. A local directory (the default) or an S3 bucket
(`parity.s3`).

Both hold the same keys (`SegmentKey`): hive-style partitions by UTC hour. A
segment becomes visible only when it is whole (written then renamed locally; a
single PUT or a completed multipart upload on S3) and is never overwritten, so
many recorders can write to one store while readers list and read it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Final, Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

from parity.errors import StoreError, UsageError
from parity.exchange import Exchange, Record
from parity.segments import (
    Compression,
    SegmentDamage,
    SegmentKey,
    SegmentWriter,
    read_exchanges,
    read_records,
    valid_recorder_id,
)

__all__ = [
    "LocalStore",
    "SegmentExistsError",
    "SegmentInfo",
    "Store",
    "existing_segments",
    "iter_exchanges",
    "iter_records",
    "open_store",
    "write_exchanges",
]

_TMP_DIR: Final = ".parity-tmp"


class SegmentExistsError(StoreError):
    """A segment with that key is already in the store; segments are never overwritten."""


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """A segment as listed: its key and its stored (compressed) size in bytes."""

    key: SegmentKey
    size: int


@runtime_checkable
class Store(Protocol):
    """What Parity needs of a place that holds segments."""

    @property
    def url(self) -> str:
        """Where the store is, as a user would name it."""
        ...

    def list_segments(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[SegmentInfo]:
        """Segments whose hour overlaps [since, until), in lexical order of their
        names, streaming."""
        ...

    def open_segment(self, key: SegmentKey) -> contextlib.AbstractContextManager[IO[bytes]]:
        """A binary stream of the segment's stored bytes."""
        ...

    def create_segment(self, key: SegmentKey) -> contextlib.AbstractContextManager[IO[bytes]]:
        """A binary file to write a new segment into; it is published whole when the
        block exits normally and discarded otherwise. Raises `SegmentExistsError`
        if the key is taken."""
        ...


def hour_overlaps(hour: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or hour + timedelta(hours=1) > since) and (until is None or hour < until)


class LocalStore:
    """Segments in a directory tree: `<root>/date=YYYY-MM-DD/hour=HH/<segment>`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def url(self) -> str:
        return str(self.root)

    def __repr__(self) -> str:
        return f"LocalStore({self.url!r})"

    def check_writable(self) -> None:
        """Create the directory if need be and write a file in it: `StoreError` if not."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".parity-check-"):
                pass
        except OSError as exc:
            raise StoreError(
                f"store {self.url} cannot be written ({exc.strerror or exc}); name a directory "
                "this user may create and write, or fix its permissions"
            ) from None

    def _require_root(self) -> None:
        if not self.root.is_dir():
            what = "is not a directory" if self.root.exists() else "does not exist"
            raise StoreError(
                f"store {self.url} {what}; record or import traffic into it first, "
                "or name the directory that holds it"
            )

    def list_segments(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[SegmentInfo]:
        self._require_root()
        try:
            yield from self._list(since, until)
        except OSError as exc:
            raise StoreError(
                f"cannot list store {self.url} ({exc.strerror or exc}); check that the "
                "directory is readable"
            ) from None

    def _list(self, since: datetime | None, until: datetime | None) -> Iterator[SegmentInfo]:
        for date_dir in _sorted_dirs(self.root, "date="):
            for hour_dir in _sorted_dirs(date_dir, "hour="):
                partition = f"{date_dir.name}/{hour_dir.name}"
                probe = SegmentKey.parse(f"{partition}/x-0.jsonl.zst")
                if probe is None or not hour_overlaps(probe.hour, since, until):
                    continue
                found = []
                with os.scandir(hour_dir) as entries:
                    for entry in entries:
                        key = SegmentKey.parse(f"{partition}/{entry.name}")
                        if key is not None and entry.is_file():
                            found.append(SegmentInfo(key, entry.stat().st_size))
                yield from sorted(found, key=lambda info: info.key.name)

    def _path(self, key: SegmentKey) -> Path:
        return self.root.joinpath(*key.name.split("/"))

    @contextlib.contextmanager
    def open_segment(self, key: SegmentKey) -> Iterator[IO[bytes]]:
        try:
            stream = self._path(key).open("rb")
        except FileNotFoundError:
            raise StoreError(f"segment {key} is not in store {self.url}") from None
        except OSError as exc:
            raise StoreError(
                f"cannot read segment {key} of store {self.url} ({exc.strerror or exc}); "
                "check that the file is readable"
            ) from None
        with stream:
            yield stream

    @contextlib.contextmanager
    def create_segment(self, key: SegmentKey) -> Iterator[IO[bytes]]:
        final = self._path(key)
        tmp_dir = self.root / _TMP_DIR
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot write to store {self.url} ({exc.strerror})") from None
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=f"{key.recorder_id}-", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as stream:
                yield stream
                stream.flush()
                os.fsync(stream.fileno())
            try:
                # A hard link publishes the whole file at once and, unlike a rename,
                # refuses to replace a segment that is already there.
                os.link(tmp, final)
            except FileExistsError:
                raise SegmentExistsError(
                    f"segment {key} already exists in store {self.url}; "
                    "use another recorder id or sequence number"
                ) from None
        finally:
            tmp.unlink(missing_ok=True)


def _sorted_dirs(parent: Path, prefix: str) -> list[Path]:
    with os.scandir(parent) as entries:
        return sorted(
            (Path(e.path) for e in entries if e.name.startswith(prefix) and e.is_dir()),
            key=lambda p: p.name,
        )


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
        from parity.s3 import S3Store

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
) -> Iterator[tuple[SegmentInfo, IO[bytes]]]:
    for info in store.list_segments(since, until):
        if on_segment is not None:
            on_segment(info)
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
) -> Iterator[Exchange]:
    """Every exchange in the store that started in [since, until), streaming; records
    that are not valid exchanges count as damage."""
    for info, stream in _open_each(store, since, until, on_segment):
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

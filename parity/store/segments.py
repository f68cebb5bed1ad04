"""Segments: the files that hold recorded exchanges, in a store or on disk.

A segment is JSON Lines, one exchange record a line (see `parity.exchange`),
compressed as a series of independent frames: zstd frames with content
checksums, or gzip members. Frames end on line boundaries, so a reader
verifies each frame before trusting its records, loses at most one frame to
corruption, and never holds more than one frame in memory. Standard tools read
segments as they are (`zstdcat seg.jsonl.zst | jq`, DuckDB's `read_json`).

Segments are named `<prefix>/date=YYYY-MM-DD/hour=HH/<recorder-id>-<seq>.jsonl.zst`
(hive-style partitions, queryable where they lie); `SegmentKey` builds and
parses those names. The full format is described in docs/FORMAT.md.
"""

from __future__ import annotations

import re
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import IO, Any, Final, NamedTuple, TypeVar

import orjson
import zstandard

from parity.errors import FormatVersionError, RecordError, UsageError
from parity.traffic.exchange import Exchange
from parity.traffic.records import Record, upgrade_record

__all__ = [
    "DEFAULT_FRAME_BYTES",
    "DEFAULT_ZSTD_LEVEL",
    "MAX_FRAME_BYTES",
    "Compression",
    "RecordTooLarge",
    "SegmentDamage",
    "SegmentDamagedWarning",
    "SegmentKey",
    "SegmentWriter",
    "read_exchanges",
    "read_records",
    "valid_recorder_id",
]

#: Uncompressed bytes gathered into one frame before it is compressed and written.
DEFAULT_FRAME_BYTES: Final = 1 << 20
#: zstd level 1: on recorded JSON traffic it stores about 1% more than level 3 and
#: compresses a third faster, and recorders run beside the proxy.
DEFAULT_ZSTD_LEVEL: Final = 1
_READ_CHUNK: Final = 1 << 16
#: The most a reader holds of one frame, decompressed: Parity writes frames of about
#: `DEFAULT_FRAME_BYTES` and one record more, and a record holds bodies of at most the
#: recorder's body limit (1 MiB each by default). A frame that decompresses to more (a
#: compression bomb, a record no recorder wrote) is skipped, and the segment says so.
MAX_FRAME_BYTES: Final = 32 << 20

T = TypeVar("T")


class RecordTooLarge(RecordError):
    """A record larger than a segment's reader holds (`MAX_FRAME_BYTES`): not written."""


class Compression(StrEnum):
    """How a segment's frames are compressed."""

    ZSTD = "zstd"
    GZIP = "gzip"

    @property
    def suffix(self) -> str:
        return _SUFFIXES[self]

    @classmethod
    def parse(cls, value: str) -> Compression:
        """The compression named `value`, or a `UsageError` listing the choices."""
        try:
            return cls(value.lower())
        except ValueError:
            choices = ", ".join(c.value for c in cls)
            raise UsageError(f"unknown compression {value!r}; choose one of: {choices}") from None


_SUFFIXES: Final = {Compression.ZSTD: ".jsonl.zst", Compression.GZIP: ".jsonl.gz"}
_RECORDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEY = re.compile(
    r"date=(?P<date>\d{4}-\d{2}-\d{2})/hour=(?P<hour>\d{2})/"
    r"(?P<recorder>[A-Za-z0-9][A-Za-z0-9._-]{0,63})-(?P<seq>\d{1,12})"
    r"(?P<suffix>\.jsonl\.zst|\.jsonl\.gz)"
)


def valid_recorder_id(recorder_id: str) -> str:
    """`recorder_id` if it is safe inside a segment name, else a `UsageError`."""
    if not _RECORDER_ID.fullmatch(recorder_id):
        raise UsageError(
            f"recorder id {recorder_id!r} cannot name a segment; use 1 to 64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return recorder_id


@dataclass(frozen=True, slots=True, order=True)
class SegmentKey:
    """The name of a segment relative to a store's prefix.

    Keys are built only from validated parts (an hour, a checked recorder id, a
    number), so no key can climb out of its store.
    """

    hour: datetime
    recorder_id: str
    seq: int
    compression: Compression = Compression.ZSTD

    def __post_init__(self) -> None:
        valid_recorder_id(self.recorder_id)
        if self.hour.tzinfo is None:
            raise ValueError("a segment hour must be timezone-aware")
        hour = self.hour.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        object.__setattr__(self, "hour", hour)
        if self.seq < 0:
            raise ValueError("a segment sequence number cannot be negative")

    @classmethod
    def for_time(
        cls,
        timestamp: float,
        recorder_id: str,
        seq: int,
        compression: Compression = Compression.ZSTD,
    ) -> SegmentKey:
        """The key of a segment whose first exchange started at `timestamp`."""
        return cls(datetime.fromtimestamp(timestamp, UTC), recorder_id, seq, compression)

    @property
    def partition(self) -> str:
        return f"date={self.hour:%Y-%m-%d}/hour={self.hour:%H}"

    @property
    def name(self) -> str:
        return f"{self.partition}/{self.recorder_id}-{self.seq:06d}{self.compression.suffix}"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, name: str) -> SegmentKey | None:
        """The key named `name` (relative to a store's prefix), or None if it is not one."""
        match = _KEY.fullmatch(name)
        if match is None:
            return None
        try:
            hour = datetime.strptime(f"{match['date']} {match['hour']}", "%Y-%m-%d %H").replace(
                tzinfo=UTC
            )
        except ValueError:
            return None
        compression = Compression.ZSTD if match["suffix"].endswith("zst") else Compression.GZIP
        return cls(hour, match["recorder"], int(match["seq"]), compression)


class SegmentWriter:
    """Writes exchanges into one segment on a binary file, a frame at a time.

    Memory stays bounded by `frame_bytes` plus one record. Call `close()` (or
    leave the `with` block) to write the last frame; the file itself is left
    open for the caller, who decides when the segment becomes visible.
    """

    def __init__(
        self,
        fileobj: IO[bytes],
        compression: Compression = Compression.ZSTD,
        *,
        level: int | None = None,
        frame_bytes: int = DEFAULT_FRAME_BYTES,
    ) -> None:
        self._out = fileobj
        self._frame_bytes = frame_bytes
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self.records = 0
        #: Records in frames already handed to the file object (the rest are gathering).
        self.framed_records = 0
        self.uncompressed_bytes = 0
        self.compressed_bytes = 0
        if compression is Compression.ZSTD:
            cctx = zstandard.ZstdCompressor(
                level=DEFAULT_ZSTD_LEVEL if level is None else level, write_checksum=True
            )
            self._compress: Callable[[bytes], bytes] = cctx.compress
        else:
            gzip_level = 6 if level is None else level
            self._compress = lambda data: _gzip_member(data, gzip_level)

    def write(self, exchange: Exchange) -> None:
        self.write_record(exchange.to_record())

    def write_record(self, record: Record) -> None:
        """Append one record. A frame never grows past what a reader holds: a record that
        would take it there starts a frame of its own, and a record larger than a reader
        holds is refused (`RecordTooLarge`) rather than written where nothing reads it."""
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        if len(line) > MAX_FRAME_BYTES:
            raise RecordTooLarge(
                f"a record of {len(line)} bytes is larger than the {MAX_FRAME_BYTES} bytes "
                "a reader holds of one frame; lower the body limit (parity_max_body)"
            )
        if self._pending and self._pending_bytes + len(line) > MAX_FRAME_BYTES:
            self._flush_frame()
        self._pending.append(line)
        self._pending_bytes += len(line)
        self.records += 1
        if self._pending_bytes >= self._frame_bytes:
            self._flush_frame()

    def flush(self) -> None:
        """End the frame being gathered now, and hand it to the file: what a process kill
        cannot take back (it is in the operating system's hands)."""
        self._flush_frame()
        self._out.flush()

    def _flush_frame(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        count = len(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        frame = self._compress(data)
        self._out.write(frame)
        self.framed_records += count
        self.uncompressed_bytes += len(data)
        self.compressed_bytes += len(frame)

    @property
    def unframed_records(self) -> int:
        """Records gathering for the next frame: in this object's memory only."""
        return self.records - self.framed_records

    def close(self) -> None:
        self._flush_frame()
        self._out.flush()

    def __enter__(self) -> SegmentWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _gzip_member(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


@dataclass(frozen=True, slots=True)
class SegmentDamage:
    """What was wrong with a segment, and what of it could still be read."""

    segment: str
    reason: str
    line: int | None
    offset: int
    offset_kind: str
    skipped_lines: int
    intact_records: int

    @property
    def message(self) -> str:
        where = f"line {self.line}, " if self.line is not None else ""
        more = f" ({self.skipped_lines} damaged lines skipped)" if self.skipped_lines > 1 else ""
        return (
            f"segment {self.segment} is damaged at {where}{self.offset_kind} byte {self.offset}: "
            f"{self.reason}{more}; {self.intact_records} intact records were read and the rest "
            "skipped, so restore the segment from a copy or delete it to stop this warning"
        )


class SegmentDamagedWarning(UserWarning):
    """Issued once per damaged segment when no other damage handler is given."""

    def __init__(self, damage: SegmentDamage) -> None:
        super().__init__(damage.message)
        self.damage = damage


def _warn(damage: SegmentDamage) -> None:
    warnings.warn(SegmentDamagedWarning(damage), stacklevel=3)


class _CompressedDamage(Exception):
    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


#: Decompressed bytes taken from a decoder at a time.
_PIECE: Final = 1 << 20
#: Compressed bytes given to a zstd decoder at a time. zstd's decoder has no limit on
#: what one call returns, and each block of a few bytes may stand for 128 KiB, so what
#: one call can return is bounded by what it is given: 1 KiB in, at most 32 MiB out.
_ZSTD_STEP: Final = 1 << 10


def _pieces(fileobj: IO[bytes], compression: Compression) -> Iterator[tuple[bytes, bool]]:
    """Decompressed pieces of a bounded size, each with whether a frame ends with it (and
    its checksum was verified). Raises `_CompressedDamage` for corrupt data and for a
    file that ends in the middle of a frame, at the compressed offset of that frame."""
    zstd = compression is Compression.ZSTD
    new: Callable[[], Any]
    if zstd:
        new = zstandard.ZstdDecompressor().decompressobj
        errors: tuple[type[Exception], ...] = (zstandard.ZstdError,)
    else:
        new = lambda: zlib.decompressobj(31)  # noqa: E731
        errors = (zlib.error,)
    decoder: Any = new()
    buffer = b""
    at = 0  # how much of buffer was given to a decoder
    position = frame_start = 0  # compressed offsets: of buffer[at], of the frame begun
    started = False
    while True:
        if at == len(buffer):
            buffer, at = fileobj.read(_READ_CHUNK), 0
            if not buffer:
                break
        # Given by offset, not by cutting the buffer: a cut copies what is left each time.
        given = buffer[at : at + _ZSTD_STEP] if zstd else buffer[at:] if at else buffer
        try:
            if zstd:
                piece = decoder.decompress(given)
                left = len(decoder.unused_data) if decoder.eof else 0
            else:
                piece = decoder.decompress(given, _PIECE)
                left = len(decoder.unused_data if decoder.eof else decoder.unconsumed_tail)
        except errors as exc:
            raise _CompressedDamage(
                f"compressed data is corrupt in the frame starting there ({exc})", frame_start
            ) from None
        used = len(given) - left
        at += used
        position += used
        started = True
        if decoder.eof:
            yield piece, True
            decoder, started, frame_start = new(), False, position
        elif piece:
            yield piece, False
    if started:
        raise _CompressedDamage(
            "the segment ends in the middle of a frame (truncated)", frame_start
        )


class _Frame(NamedTuple):
    #: What the frame holds, or None for a frame over `MAX_FRAME_BYTES` (then skipped).
    content: bytes | None
    verified: bool
    size: int
    #: Newlines in a skipped frame: the records it held, for the line numbers after it.
    newlines: int = 0


def _frames(
    fileobj: IO[bytes], compression: Compression, limit: int = MAX_FRAME_BYTES
) -> Iterator[_Frame]:
    """Decompressed frames, each verified once its end (and checksum) was read, none held
    beyond `limit`. The last frame of a truncated file comes out unverified, holding
    what could be decoded of it, followed by a `_CompressedDamage`."""
    parts: list[bytes] = []
    size = newlines = 0
    try:
        for piece, ended in _pieces(fileobj, compression):
            size += len(piece)
            if size <= limit:
                parts.append(piece)
            else:  # too big to hold: only counted, to be skipped whole
                newlines += sum(part.count(b"\n") for part in parts) + piece.count(b"\n")
                parts.clear()
            if ended:
                yield (
                    _Frame(b"".join(parts), True, size)
                    if size <= limit
                    else _Frame(None, True, size, newlines)
                )
                parts.clear()
                size = newlines = 0
    except _CompressedDamage:
        if parts and size <= limit:
            yield _Frame(b"".join(parts), False, size)
        raise


def read_records(
    fileobj: IO[bytes],
    segment: str,
    compression: Compression = Compression.ZSTD,
    *,
    on_damage: Callable[[SegmentDamage], None] | None = None,
) -> Iterator[Record]:
    """The records of one segment, upgraded to the current format version, streaming.

    Damage never stops the reader early or loses an intact record: a line that
    is not a valid record is skipped, a corrupt or truncated frame ends the
    segment, and one `SegmentDamage` describing the first problem goes to
    `on_damage` (by default a `SegmentDamagedWarning`). A record in a format
    version this Parity does not know raises `FormatVersionError`.
    """
    return _read(fileobj, segment, compression, on_damage, upgrade_record)


def read_exchanges(
    fileobj: IO[bytes],
    segment: str,
    compression: Compression = Compression.ZSTD,
    *,
    on_damage: Callable[[SegmentDamage], None] | None = None,
) -> Iterator[Exchange]:
    """The exchanges of one segment, streaming; damage is handled as in `read_records`."""
    return _read(fileobj, segment, compression, on_damage, Exchange.from_record)


def _read(
    fileobj: IO[bytes],
    segment: str,
    compression: Compression,
    on_damage: Callable[[SegmentDamage], None] | None,
    convert: Callable[[Record], T],
) -> Iterator[T]:
    report = _warn if on_damage is None else on_damage
    first: tuple[str, int | None, int, str] | None = None
    skipped = intact = line_no = offset = 0
    try:
        for content, verified, size, newlines in _frames(fileobj, compression):
            if content is None:
                if first is None:
                    why = (
                        f"a frame decompresses to {size} bytes, more than the "
                        f"{MAX_FRAME_BYTES} a reader holds, so its records were skipped"
                    )
                    first = (why, line_no + 1, offset, "decompressed")
                skipped += newlines
                line_no += newlines
                offset += size
                continue
            lines = content.split(b"\n")
            cut_short = not verified and lines[-1] != b""
            if lines[-1] == b"":
                lines.pop()
            for index, line in enumerate(lines):
                line_no += 1
                start = offset
                offset += len(line) + 1
                try:
                    item = convert(orjson.loads(line))
                except FormatVersionError as exc:
                    raise FormatVersionError(f"{exc} (segment {segment}, line {line_no})") from None
                except (orjson.JSONDecodeError, RecordError) as exc:
                    skipped += 1
                    if first is None:
                        why = (
                            "the last record is cut short (truncated)"
                            if cut_short and index == len(lines) - 1
                            else f"the line is not a valid record ({exc})"
                        )
                        first = (why, line_no, start, "decompressed")
                    continue
                intact += 1
                yield item
    except _CompressedDamage as damage:
        if first is None:
            first = (damage.reason, None, damage.offset, "compressed")
    except OSError as exc:
        if first is None:
            first = (f"reading failed ({exc})", None, offset, "decompressed")
    if first is not None:
        reason, damaged_line, at, kind = first
        report(SegmentDamage(segment, reason, damaged_line, at, kind, skipped, intact))

"""Reading segments: frames verified one at a time, damage reported, never fatal.

A reader decompresses a segment in pieces of bounded size, holds at most one
frame (`MAX_FRAME_BYTES`), and trusts a frame's records once its checksum was
read. A corrupt or truncated frame ends the segment and a line that is not a
valid record is skipped: what was intact is read, and one `SegmentDamage`
says what was not. Records come out upgraded to the current format version.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Final, NamedTuple, TypeVar

import orjson
import zstandard

from parity.errors import FormatVersionError, RecordError
from parity.store.segments import Compression
from parity.traffic.exchange import Exchange
from parity.traffic.records import Record, upgrade_record

__all__ = [
    "MAX_FRAME_BYTES",
    "SegmentDamage",
    "SegmentDamagedWarning",
    "read_exchanges",
    "read_records",
]

_READ_CHUNK: Final = 1 << 16
#: The most a reader holds of one frame, decompressed: Parity writes frames of about
#: `DEFAULT_FRAME_BYTES` and one record more, and a record holds bodies of at most the
#: recorder's body limit (1 MiB each by default). A frame that decompresses to more (a
#: compression bomb, a record no recorder wrote) is skipped, and the segment says so.
MAX_FRAME_BYTES: Final = 32 << 20

T = TypeVar("T")


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

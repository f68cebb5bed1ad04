"""Writing segments: records gathered into frames, each compressed on its own.

A `SegmentWriter` holds at most one frame's records (`DEFAULT_FRAME_BYTES`)
before it compresses them and hands them to the file, and never writes a frame
larger than a reader holds (`parity.store.reader.MAX_FRAME_BYTES`). The stored
format is described in `parity.store.segments` and docs/FORMAT.md.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import IO, Final

import orjson
import zstandard

from parity.errors import RecordError
from parity.store.reader import MAX_FRAME_BYTES
from parity.store.segments import Compression
from parity.traffic.exchange import Exchange
from parity.traffic.records import Record

__all__ = ["DEFAULT_FRAME_BYTES", "DEFAULT_ZSTD_LEVEL", "RecordTooLarge", "SegmentWriter"]

#: Uncompressed bytes gathered into one frame before it is compressed and written.
DEFAULT_FRAME_BYTES: Final = 1 << 20
#: zstd level 1: on recorded JSON traffic it stores about 1% more than level 3 and
#: compresses a third faster, and recorders run beside the proxy.
DEFAULT_ZSTD_LEVEL: Final = 1


class RecordTooLarge(RecordError):
    """A record larger than a segment's reader holds (`MAX_FRAME_BYTES`): not written."""


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

"""Segments: the files that hold recorded exchanges, in a store or on disk.

A segment is JSON Lines, one exchange record a line (see `parity.traffic.records`),
compressed as a series of independent frames: zstd frames with content
checksums, or gzip members. Frames end on line boundaries, so a reader
verifies each frame before trusting its records, loses at most one frame to
corruption, and never holds more than one frame in memory. Standard tools read
segments as they are (`zstdcat seg.jsonl.zst | jq`, DuckDB's `read_json`).
`parity.store.writer` writes them and `parity.store.reader` reads them.

Segments are named `<prefix>/date=YYYY-MM-DD/hour=HH/<recorder-id>-<seq>.jsonl.zst`
(hive-style partitions, queryable where they lie); `SegmentKey` builds and
parses those names. The full format is described in docs/FORMAT.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from parity.errors import UsageError

__all__ = ["Compression", "SegmentKey", "valid_recorder_id"]


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

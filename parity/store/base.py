"""What every store is: the `Store` protocol and what listing a segment gives."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Protocol, runtime_checkable

from parity.errors import StoreError
from parity.store.segments import SegmentKey

__all__ = ["SegmentExistsError", "SegmentInfo", "Store", "hour_overlaps"]


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

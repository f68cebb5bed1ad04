"""A store in a local directory tree: `<root>/date=YYYY-MM-DD/hour=HH/<segment>`.

A segment is written beside the tree and renamed into place when it is whole,
so readers never see half of one, and an existing name is never replaced.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Final

from parity.errors import StoreError
from parity.store.base import SegmentExistsError, SegmentInfo, hour_overlaps
from parity.store.segments import (
    SegmentKey,
)

__all__ = ["LocalStore"]

_TMP_DIR: Final = ".parity-tmp"


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

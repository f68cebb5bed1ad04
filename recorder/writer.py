"""The recorder's background writer: from a bounded queue to segments in the store.

`submit()` is called on mitmproxy's event loop and never blocks, raises or
touches the disk: it appends an item to a bounded queue, or counts a drop. A
daemon thread does the rest: `prepare` (conversion and sanitising), encoding
into the open segment, rotation, and uploads.

The thread shares the interpreter lock with the event loop, so hand-over and
batching are shaped to cost the loop as little as possible: `submit()` is a
plain deque append that wakes nobody, the thread looks at the queue every
`_BATCH_WAIT` seconds and takes what has gathered, and between two exchanges
it releases the lock so a waiting event loop runs first (see
docs/PERFORMANCE.md for what this bought).

The open segment is written straight into the spool directory
(`<spool>/open/`), so a killed process loses at most the frame in progress.
An exchange counts as `written` once its frame is in the operating system's
hands (a process kill cannot take it back); until then it is part of
`queue_depth`, so that ``captured = written + drops + queue_depth`` holds in
every counter line. Exchanges are settled (written, or dropped and counted) in
the order they were taken, which lets a writer process's parent hold on to
what is not settled yet and hand it to a replacement (`recorder.process`).
A closed segment moves to `<spool>/pending/` and is uploaded from there; when
the store fails it stays there and is retried with exponential backoff while
new traffic keeps being written. A restart uploads what is pending and
salvages the intact records of a segment that was still open. A lock file
keeps two live processes out of one spool directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from parity.logs import RateLimitedLog
from parity.logs import logger as parity_logger
from parity.store import SegmentExistsError, Store
from parity.store.reader import SegmentDamage, read_records
from parity.store.segments import Compression, SegmentKey, valid_recorder_id
from parity.store.writer import RecordTooLarge, SegmentWriter
from parity.traffic.exchange import Exchange
from recorder.counters import WriterStats
from recorder.handoff import Handoff
from recorder.spool import key_of, lock_spool, spooled_name

__all__ = ["BackgroundWriter", "WriterSettings"]

_FRAME_BYTES: Final = 256 << 10
#: Seconds an exchange written may wait in a frame being gathered before the frame is
#: ended and handed to the file: the most a kill of the whole recorder can lose of what
#: reached the writer (the next start salvages the open segment).
DURABLE_AFTER: Final = 1.0
_POLL: Final = 0.2
#: How long submitted exchanges may wait before the writer thread takes them.
_BATCH_WAIT: Final = 0.05


@dataclass(frozen=True, slots=True)
class WriterSettings:
    recorder_id: str
    spool_dir: Path
    compression: Compression = Compression.ZSTD
    queue_size: int = 10_000
    segment_max_bytes: int = 64 << 20
    segment_max_age: float = 60.0
    spool_max_bytes: int = 1 << 30
    flush_grace: float = 10.0
    retry_initial: float = 1.0
    retry_max: float = 60.0


@dataclass
class _Pending:
    path: Path
    key: SegmentKey
    attempts: int = 0
    next_attempt: float = 0.0


@dataclass
class _Open:
    key: SegmentKey
    path: Path
    file: IO[bytes]
    writer: SegmentWriter
    opened: float
    #: Records in the file: counted as written.
    durable: int = 0
    #: Since when the first record not yet handed to the file has waited.
    waiting_since: float | None = None


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


class BackgroundWriter:
    """Writes submitted exchanges into segments and uploads them, on its own thread."""

    def __init__(
        self,
        store: Store,
        settings: WriterSettings,
        *,
        logger: logging.Logger | None = None,
        prepare: Callable[[Any], Exchange] | None = None,
        clock: Callable[[], float] = time.monotonic,
        lock_wait: float = 0.0,
        on_ledger: Callable[[], None] | None = None,
    ) -> None:
        """`on_ledger` is called on the writer thread, before anything is done that a
        parent holding unsettled exchanges must know of to hand them on exactly: a
        segment opened, a segment about to be closed, an exchange dropped."""
        valid_recorder_id(settings.recorder_id)
        self.store = store
        self.settings = settings
        self.stats = WriterStats()
        self._log = logger or parity_logger(__name__)
        self._problems = RateLimitedLog(self._log, clock)
        self._prepare = prepare
        self._clock = clock
        self._on_ledger = on_ledger or (lambda: None)
        self._recovered = False
        self._items = Handoff(settings.queue_size, self.stats.add)
        self.stats.queue_depth = self._items.__len__
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._open: _Open | None = None
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        # Seconds since the epoch: a restart under the same recorder id starts past
        # the numbers an earlier process used, so names rarely collide.
        self._seq = int(time.time())
        self._open_dir = settings.spool_dir / "open"
        self._pending_dir = settings.spool_dir / "pending"
        self._lock_file = lock_spool(settings.spool_dir, lock_wait)

    # -- the event loop's side -------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="parity-writer", daemon=True)
            self._thread.start()

    @property
    def backlog(self) -> int:
        """Items submitted and not yet taken by the writer thread."""
        return len(self._items)

    def submit(self, item: Any) -> bool:
        """Hand an item over without waiting; False (and counted) when it was dropped."""
        return self._items.offer(item)

    def close(self) -> bool:
        """Write out what is queued and upload within the grace period. True when
        nothing is left in the spool."""
        if self._closed:
            return not self._pending
        self._closed = True
        self._items.closed = True
        self._stop.set()
        if self._thread is None:
            self._run()
        else:
            self._thread.join()
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
        return not self._pending

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        if not self._recovered:
            self._guard("recovering the spool", self.recover)
        while True:
            stopping = self._stop.wait(_BATCH_WAIT)
            self._drain()
            self._guard("handing frames to the file", self._make_durable)
            self._guard("rotating a segment", self._rotate_if_old)
            self._guard("uploading", lambda: self._upload_due(self._clock()))
            if stopping and not self._items:
                break
        self._guard("closing the segment", self._close_open)
        deadline = self._clock() + self.settings.flush_grace
        while self._pending and self._clock() < deadline:
            self._guard("uploading", lambda: self._upload_due(self._clock(), force=True))
            if self._pending:
                time.sleep(min(_POLL, max(0.0, deadline - self._clock())))

    def _drain(self) -> None:
        items = self._items
        while items:
            self._guard("writing an exchange", functools.partial(self._write, items.popleft()))
            # Let go of the interpreter lock: if the event loop waits for it, it runs
            # now rather than after a whole batch.
            time.sleep(0)

    def _guard(self, what: str, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception as exc:  # the writer must outlive its own bugs
            self.stats.add("writer_errors")
            self._problems.warn(what, f"parity: {what} failed: {exc!r}")
            self._settle_after_failure(exc)

    def _settle_after_failure(self, exc: Exception) -> None:
        """Leave nothing taken uncounted: what the open frame holds goes to the file (or,
        if the file is what failed, the segment is abandoned), and the exchange the
        failed step was handling is counted as lost."""
        current = self._open
        if current is not None:
            if isinstance(exc, OSError):
                self._abandon(current, exc)
                return
            try:
                current.writer.flush()
                self._settle_framed(current)
            except OSError as error:
                self._abandon(current, error)
                return
        if lost := self.stats.unsettled:
            self.stats.settle("dropped_write_error", lost)
            self._on_ledger()

    def _write(self, item: Any) -> None:
        self.stats.take()
        try:
            exchange = self._prepare(item) if self._prepare is not None else item
        except Exception as exc:
            self._drop("prepare_errors")
            self._problems.warn("prepare", f"parity: an exchange was not recorded: {exc!r}")
            return
        if self._pending_bytes > self.settings.spool_max_bytes:
            self._drop("dropped_spool_full")
            self._problems.warn(
                "spool",
                f"parity: spool {self.settings.spool_dir} is full; dropping exchanges "
                "until the store accepts uploads again",
            )
            return
        current = self._open
        hour = SegmentKey.for_time(exchange.started_at, self.settings.recorder_id, 0).hour
        if current is not None and current.key.hour != hour:
            self._close_open()
            current = None
        if current is None:
            current = self._open = self._new_segment(exchange.started_at)
        try:
            current.writer.write(exchange)
        except RecordTooLarge as exc:
            self._drop("dropped_too_large")
            self._problems.warn("too large", f"parity: an exchange was not recorded: {exc}")
            return
        self._settle_framed(current)
        if current.writer.unframed_records == 0:
            current.waiting_since = None
        elif current.waiting_since is None:
            current.waiting_since = self._clock()
        if current.writer.compressed_bytes >= self.settings.segment_max_bytes:
            self._close_open()

    def _drop(self, counter: str) -> None:
        """Settle the exchange being handled as dropped. Exchanges are settled in the
        order they were taken, so what gathers in the open frame goes to the file first."""
        current = self._open
        if current is not None and current.writer.unframed_records:
            current.writer.flush()
            self._settle_framed(current)
            current.waiting_since = None
        self.stats.settle(counter)
        self._on_ledger()

    def _settle_framed(self, current: _Open) -> None:
        """Count as written the records whose frames the segment writer has ended."""
        framed = current.writer.framed_records
        if framed > current.durable:
            current.file.flush()  # out of this process's buffer: a kill cannot take it back
            self.stats.settle("written", framed - current.durable, open_durable=framed)
            current.durable = framed

    def _abandon(self, current: _Open, exc: BaseException) -> None:
        """The open segment's file failed (a full disk, say): keep what reached it, count
        the rest as lost, and start a new segment with the next exchange."""
        self._open = None
        with contextlib.suppress(OSError):
            current.file.close()
        salvaged = current.durable
        try:
            salvaged, target = self._salvage(current.path)
            if target is not None:
                self._add_pending(_Pending(target, key_of(target) or current.key))
        except OSError:
            pass  # the part stays in open/ and the next start salvages it
        found = max(0, min(salvaged - current.durable, self.stats.unsettled))
        if found:
            self.stats.settle("written", found)
        lost = self.stats.unsettled
        if lost:
            self.stats.settle("dropped_write_error", lost)
        self.stats.open_segment(None)
        self.stats.pending_segments = len(self._pending)
        self._problems.warn(
            "segment",
            f"parity: writing segment {current.key.name} in "
            f"{self.settings.spool_dir} failed ({exc}); {lost} exchange(s) were not recorded",
        )
        self._on_ledger()

    def _new_segment(self, started_at: float) -> _Open:
        self._seq += 1
        settings = self.settings
        key = SegmentKey.for_time(started_at, settings.recorder_id, self._seq, settings.compression)
        path = self._open_dir / (spooled_name(key) + ".part")
        stream = path.open("wb")
        writer = SegmentWriter(stream, settings.compression, frame_bytes=_FRAME_BYTES)
        self.stats.open_segment(key.name)
        self._on_ledger()
        return _Open(key, path, stream, writer, self._clock())

    def _make_durable(self) -> None:
        """End the open segment's frame once its oldest record has waited `DURABLE_AFTER`:
        a kill of the whole recorder then loses at most that much of what was written."""
        current = self._open
        if current is None or current.waiting_since is None:
            return
        if self._clock() - current.waiting_since >= DURABLE_AFTER:
            current.writer.flush()
            self._settle_framed(current)
            current.waiting_since = None

    def _rotate_if_old(self) -> None:
        current = self._open
        if current is not None and self._clock() - current.opened >= self.settings.segment_max_age:
            self._close_open()

    def _close_open(self) -> None:
        current = self._open
        if current is None:
            return
        current.writer.close()
        self._settle_framed(current)
        self._on_ledger()  # every record of it counted before it leaves open/
        self._open = None
        current.file.close()
        target = self._pending_dir / spooled_name(current.key)
        os.replace(current.path, target)
        self.stats.open_segment(None)
        self.stats.add("segments_closed")
        self._add_pending(_Pending(target, current.key))
        self.stats.pending_segments = len(self._pending)

    def _add_pending(self, item: _Pending) -> None:
        self._pending.append(item)
        self._pending_bytes += item.path.stat().st_size

    def _upload_due(self, now: float, force: bool = False) -> None:
        for item in list(self._pending):
            if force or item.next_attempt <= now:
                self._upload(item, now)
        self.stats.pending_segments = len(self._pending)

    def _upload(self, item: _Pending, now: float) -> None:
        try:
            with item.path.open("rb") as local, self.store.create_segment(item.key) as out:
                shutil.copyfileobj(local, out)
        except SegmentExistsError:
            if self._same_as_stored(item):
                self._uploaded(item)
            else:
                self._rekey(item)
            return
        except Exception as exc:
            self._failed(item, now, exc)
            return
        self._uploaded(item)

    def _uploaded(self, item: _Pending) -> None:
        size = item.path.stat().st_size
        item.path.unlink()
        self._pending.remove(item)
        self._pending_bytes -= size
        self.stats.add("segments_uploaded")
        self.stats.add("bytes_uploaded", size)
        if item.attempts:
            self._log.info(f"parity: {self.store.url} accepts uploads again")

    def _same_as_stored(self, item: _Pending) -> bool:
        """An upload whose acknowledgement was lost left the very same segment."""
        with item.path.open("rb") as local, self.store.open_segment(item.key) as stored:
            return _sha256(local) == _sha256(stored)

    def _rekey(self, item: _Pending) -> None:
        self._seq += 1
        old = item.key
        item.key = SegmentKey(old.hour, old.recorder_id, self._seq, old.compression)
        target = self._pending_dir / spooled_name(item.key)
        os.replace(item.path, target)
        item.path = target
        item.next_attempt = 0.0

    def _failed(self, item: _Pending, now: float, exc: Exception) -> None:
        if item.attempts == 0:
            self.stats.add("segments_spooled")
        item.attempts += 1
        self.stats.add("upload_errors")
        delay = min(self.settings.retry_max, self.settings.retry_initial * 2 ** (item.attempts - 1))
        item.next_attempt = now + delay * random.uniform(0.5, 1.0)
        self._problems.warn(
            "upload",
            f"parity: cannot upload to {self.store.url}: {exc}; segments are kept in "
            f"{self.settings.spool_dir} and retried",
        )

    def recover(self, reconcile: tuple[str, int] | None = None) -> int:
        """Adopt what an earlier process left: pending segments, and open ones salvaged.

        `reconcile` names the segment a writer process that died was writing and how
        many of its records it had reported written; the records found in it beyond
        those are returned (its parent counts them written and does not send them
        again). Runs on the writer thread unless called before `start()`."""
        self._recovered = True
        extra = 0
        for part in sorted(self._open_dir.glob("*.part")):
            found, _ = self._salvage(part)
            if reconcile is not None and part.name == spooled_name(reconcile[0]) + ".part":
                extra = max(0, found - reconcile[1])
        for path in sorted(self._pending_dir.iterdir()):
            key = key_of(path)
            if key is not None:
                self._add_pending(_Pending(path, key))
                self.stats.add("spool_recovered")
        self.stats.pending_segments = len(self._pending)
        if self._pending:
            self._log.info(
                f"parity: uploading {len(self._pending)} segment(s) left in "
                f"{self.settings.spool_dir} by an earlier run"
            )
        return extra

    def _salvage(self, part: Path) -> tuple[int, Path | None]:
        """Rewrite the intact records of a segment left open into a pending one: how many,
        and the pending file (None when there were none)."""
        key = key_of(part)
        if key is None:
            return 0, None
        damage: list[SegmentDamage] = []
        self._seq += 1
        fresh = SegmentKey(key.hour, key.recorder_id, self._seq, key.compression)
        target = self._pending_dir / spooled_name(fresh)
        with part.open("rb") as source, target.open("wb") as out:
            writer = SegmentWriter(out, key.compression, frame_bytes=_FRAME_BYTES)
            for record in read_records(source, part.name, key.compression, on_damage=damage.append):
                writer.write_record(record)
            writer.close()
        part.unlink()
        if writer.records == 0:
            target.unlink()
            return 0, None
        return writer.records, target

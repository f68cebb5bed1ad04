"""The recorder's writer in a process of its own, so that the proxy's core only proxies.

mitmproxy runs every hook on one event loop in one process. A writer thread in
that process (`recorder.writer.BackgroundWriter`) needs the interpreter lock
for each exchange it converts, sanitises, encodes and compresses, and at full
load that took a sixth of the proxy's throughput (docs/PERFORMANCE.md).
`WriterProcess` moves that work into a child, ``python -m recorder.worker``:

- the hook appends a snapshot (tuples of bytes) to a bounded deque, as before;
- a shipping thread pickles what has gathered every `_BATCH_WAIT` seconds and
  writes it as one frame to the child's stdin;
- the child runs a `BackgroundWriter` (segments, spool, uploads) and reports
  its counters as JSON lines on its stdout, which a reading thread keeps.

The child ignores SIGINT and SIGTERM and exits when its stdin closes: when the
recorder stops, and also when mitmproxy is killed, so a SIGKILLed proxy still
gets what it handed over written out.

Nothing handed to a child is lost uncounted when it dies. The child settles
exchanges (writes them into a frame in its file, or drops and counts them) in
the order it received them, and reports how many it has settled with its
counters; the proxy keeps every exchange it shipped until a report says it was
settled. A child that dies is started again with backoff, and what the dead one
had not settled goes to the next one first, so it is written once: the dead
child also reported, before each step a report could miss, which segment it
was writing and how many records were in its file, and the replacement, as it
salvages that segment, says how many more it found there (those were written
after the last report, and are not sent again). A child killed from outside
(SIGKILL, SIGTERM) is replaced and nothing is given up; when children crash on
their own twice in a row without settling anything, what the second held is
taken for the cause, given up and counted (`dropped_writer_died`), so a crash
loop cannot stop recording.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from parity.errors import ParityError, UsageError
from parity.logs import logger as parity_logger
from parity.proxy.convert import Snapshot
from parity.store import open_store
from parity.store.segments import valid_recorder_id
from recorder.child import KILLED, Child, WriterKilled
from recorder.counters import COUNTERS
from recorder.handoff import Handoff
from recorder.pipe import Reconcile, lock_wait
from recorder.prepare import Preparer
from recorder.spool import check_spool
from recorder.writer import WriterSettings

__all__ = ["WriterProcess"]

#: How long snapshots may gather in the proxy before they are shipped.
_BATCH_WAIT: Final = 0.05
_MAX_BATCH: Final = 1000
_RESTART_MAX: Final = 60.0
_GAUGES: Final = ("queue_depth", "pending_segments")
#: Counters only a writer process has: restarts, and exchanges lost with no child to take them.
_PROCESS_COUNTERS: Final = ("writer_restarts", "dropped_no_writer", "dropped_writer_died")
#: Children in a row that crashed without settling anything before what they held is
#: taken for the cause and given up.
_STRIKES: Final = 2
#: Writers started, at most, before the recorder's own start gives up on one stopped from
#: outside each time.
_START_ATTEMPTS: Final = 5
#: Ways to die that say nothing about what a child was given: it was killed from outside.


class _ProcessStats:
    """The proxy's own counters plus what the writer processes reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._own: Counter[str] = Counter()
        self._retired: Counter[str] = Counter()
        #: What the last child gone left in the spool: still pending until another
        #: child takes the spool over and reports its own.
        self._left_pending = 0
        self.depth: Callable[[], int] = lambda: 0
        self.child: Child | None = None
        #: Exchanges a crash loop made the proxy give up, until a child says how many of
        #: them were in its predecessor's file (changed with `lock` held).
        self.aside = 0

    @property
    def lock(self) -> threading.Lock:
        """Held while exchanges move between the queue and a child's unsettled ones."""
        return self._lock

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._own[name] += amount

    def add_locked(self, name: str, amount: int = 1) -> None:
        """`add`, for a caller already holding `lock`."""
        self._own[name] += amount

    def retire(self, child: Child) -> None:
        """Keep the totals of a child that is gone (the caller holds `lock`)."""
        self._retired.update({k: v for k, v in child.counters.items() if k not in _GAUGES})
        self._left_pending = child.counters.get("pending_segments", 0)
        if self.child is child:
            self.child = None

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            child = self.child
            reported = dict(child.counters) if child is not None else {}
            in_child = len(child.unsettled) if child is not None else 0
            values = dict.fromkeys((*COUNTERS, *_PROCESS_COUNTERS), 0)
            values.update(self._retired)
            for name, value in reported.items():
                if name not in _GAUGES:
                    values[name] = values.get(name, 0) + value
            for name, value in self._own.items():
                values[name] = values.get(name, 0) + value
            # In flight: queued here, or shipped and not reported settled.
            values["queue_depth"] = self.depth() + in_child + self.aside
        values["pending_segments"] = reported.get("pending_segments", self._left_pending)
        return values


@dataclass
class _Restart:
    """When the next writer process may be started, and the wait after that."""

    delay: float = 1.0
    at: float = 0.0


class WriterProcess:
    """The `BackgroundWriter` interface, with the writing done in a child process."""

    def __init__(
        self,
        store_url: str,
        settings: WriterSettings,
        prepare: Preparer,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        valid_recorder_id(settings.recorder_id)
        open_store(store_url)  # a bad URL is refused here, not in the child
        check_spool(settings.spool_dir, lock_wait(settings))
        self.settings = settings
        self._store_url = store_url
        self._prepare = prepare
        try:
            self._config(None)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise UsageError(
                f"the recorder's settings cannot be handed to a writer process ({exc}); make "
                "a custom sanitiser a module-level function, or set parity_writer=thread"
            ) from None
        self._log = logger or parity_logger(__name__)
        self.stats = _ProcessStats()
        self._items = Handoff(settings.queue_size, self.stats.add)
        self.stats.depth = self._items.__len__
        self._stop = threading.Event()
        self._closed = False
        self._flushed = False
        self._child: Child | None = None
        self._shipper: threading.Thread | None = None
        self._restart = _Restart()
        #: What the last child that died was writing, until a replacement has salvaged it.
        self._reconcile: Reconcile = None
        #: Children in a row that died without settling anything.
        self._strikes = 0

    def _config(self, reconcile: Reconcile) -> bytes:
        return pickle.dumps((self._store_url, self.settings, self._prepare, reconcile))

    # -- the event loop's side -------------------------------------------------------------

    def start(self) -> None:
        """Start the child and wait until it writes; raises `StoreError` if it cannot."""
        if self._shipper is not None:
            return
        # A writer stopped from outside as it starts is no reason to stop recording: only
        # what the writer itself refuses (the store, the spool) stops the recorder.
        for attempt in range(_START_ATTEMPTS):
            try:
                self._spawn()
                break
            except WriterKilled as exc:
                if attempt == _START_ATTEMPTS - 1:
                    raise
                self._log.warning(f"parity: {exc}; starting another")
                self.stats.add("writer_restarts")
        self._shipper = threading.Thread(target=self._ship, name="parity-shipper", daemon=True)
        self._shipper.start()

    def submit(self, item: Snapshot) -> bool:
        """Hand a snapshot over without waiting; False (and counted) when it was dropped."""
        return self._items.offer(item)

    def close(self) -> bool:
        """Ship what is queued, let the child write it out and upload within the grace
        period. True when nothing is left in the spool."""
        if self._closed:
            return self._flushed
        if self._shipper is None and self._items:
            with contextlib.suppress(ParityError):
                self.start()
        self._closed = True
        self._items.closed = True
        self._stop.set()
        if self._shipper is not None:
            self._shipper.join()
        ok = False
        # A child that dies while writing out leaves what it had not settled in the queue:
        # a replacement gets it, twice at most.
        for attempt in range(3):
            child, self._child = self._child, None
            if child is not None:
                ok = child.finish(self.settings.flush_grace + 10.0)
                self._bury(child)
            if not self._items or attempt == 2:
                break
            try:
                self._spawn()
            except ParityError as exc:
                self._log.warning(f"parity: cannot start the writer process: {exc}")
                break
            self._send_all()
        with self.stats.lock:
            self.stats.add_locked("dropped_writer_died", self.stats.aside)
            self.stats.aside = 0
        if self._items:
            self.stats.add("dropped_no_writer", len(self._items))
            self._log.warning(
                f"parity: {len(self._items)} exchange(s) were not recorded: no writer process "
                "could be started"
            )
            self._items.clear()
            ok = False
        self._flushed = ok
        return ok

    # -- the shipping thread ---------------------------------------------------------------

    def _spawn(self) -> None:
        child = Child(self._config(self._reconcile), self._log, self.stats.lock)
        child.wait_ready()
        with self.stats.lock:
            # The first records of what the dead child left unsettled were in its file
            # after all: the new one salvaged them, so they are written, not sent again.
            found = child.found
            if self.stats.aside:
                in_file = min(found, self.stats.aside)
                self.stats.add_locked("written", in_file)
                self.stats.add_locked("dropped_writer_died", self.stats.aside - in_file)
                self.stats.aside, found = 0, found - in_file
            found = min(found, len(self._items))
            for _ in range(found):
                self._items.popleft()
            self.stats.add_locked("written", found)
            self._reconcile = None
            self._child = child
            self.stats.child = child

    def _send_all(self) -> None:
        """Ship what is queued to the child, in batches; stop when it is gone."""
        child = self._child
        while self._items and child is not None and child.alive:
            with self.stats.lock:
                batch = [self._items.popleft() for _ in range(min(len(self._items), _MAX_BATCH))]
                child.unsettled.extend(batch)
            try:
                child.send(pickle.dumps(batch, protocol=5))
            except (OSError, ValueError):
                return  # it never took this batch; it goes to the next child with the rest

    def _ship(self) -> None:
        while True:
            stopping = self._stop.wait(_BATCH_WAIT)
            if self._child is None or not self._child.alive:
                self._replace_dead_child()
            self._send_all()
            child = self._child
            if stopping and (not self._items or child is None or not child.alive):
                return

    def _bury(self, dead: Child) -> None:
        """Take over what a child that is gone left unsettled, to send it to the next."""
        with self.stats.lock:
            self.stats.retire(dead)
            self._items.extendleft(reversed(dead.unsettled))
            left = len(dead.unsettled)
            dead.unsettled.clear()
            if left:
                self._reconcile = dead.reconcile
            crashed = dead.proc.returncode not in (0, *KILLED)
            self._strikes = self._strikes + 1 if crashed and left and not dead.ledger.settled else 0
            given_up = self._strikes >= _STRIKES
            if given_up:
                # Set aside, not sent again: the next child says how many of them were in
                # the file after all, and the rest are counted then (`_spawn`).
                for _ in range(left):
                    self._items.popleft()
                self.stats.aside = left
                self._strikes = 0
        if given_up:
            self._log.warning(
                f"parity: {_STRIKES} writer processes in a row crashed before writing anything "
                f"(the last with code {dead.proc.returncode}); the {left} exchange(s) the "
                "last one held are given up"
            )

    def _replace_dead_child(self) -> None:
        dead = self._child
        if dead is not None:
            self._child = None
            dead.finish(1.0)
            self._bury(dead)
            self._log.warning(
                f"parity: the writer process exited unexpectedly (code {dead.proc.returncode}); "
                "starting another"
            )
        now = time.monotonic()
        if now < self._restart.at:
            return
        try:
            self._spawn()
        except ParityError as exc:
            self._restart.at = now + self._restart.delay
            self._restart.delay = min(_RESTART_MAX, self._restart.delay * 2)
            self._log.warning(f"parity: cannot start the writer process: {exc}")
            return
        self._restart = _Restart()
        self.stats.add("writer_restarts")

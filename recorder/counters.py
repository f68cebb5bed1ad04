"""What the writer counts, and where its accounting stands.

The counters are updated by the writer and the hook and read from anywhere (the
counter lines, ``parity.stats``). The ledger says how many exchanges taken from
the queue are settled and how far the open segment is in its file, taken together
with the counters, so that a writer process's parent knows exactly what a child
that died had written (`recorder.process`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["COUNTERS", "Ledger", "WriterStats"]

#: The writer's counters, as `WriterStats.snapshot()` names them (gauges aside).
COUNTERS = (
    "dropped_queue_full",
    "dropped_stopping",
    "dropped_spool_full",
    "dropped_too_large",
    "dropped_write_error",
    "prepare_errors",
    "written",
    "segments_closed",
    "segments_uploaded",
    "segments_spooled",
    "spool_recovered",
    "upload_errors",
    "bytes_uploaded",
    "writer_errors",
)


@dataclass(frozen=True, slots=True)
class Ledger:
    """Where the writer's accounting stands, consistent with the counters taken with it."""

    #: Exchanges taken from the queue and settled: written, or dropped and counted.
    settled: int = 0
    #: The segment being written, and how many of its records are in the file.
    open_segment: str | None = None
    open_durable: int = 0


class WriterStats:
    """Counters, updated by the writer and the hook, read from anywhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(COUNTERS, 0)
        self.queue_depth: Callable[[], int] = lambda: 0
        self.pending_segments = 0
        self._taken = 0
        self._ledger = Ledger()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def take(self) -> None:
        """One exchange left the queue for the writer: in flight until settled."""
        with self._lock:
            self._taken += 1

    def settle(self, name: str, amount: int = 1, *, open_durable: int | None = None) -> None:
        """`amount` exchanges in flight were written or dropped (`name` says which)."""
        with self._lock:
            self._values[name] += amount
            ledger = self._ledger
            durable = ledger.open_durable if open_durable is None else open_durable
            self._ledger = Ledger(ledger.settled + amount, ledger.open_segment, durable)

    def open_segment(self, name: str | None) -> None:
        with self._lock:
            self._ledger = Ledger(self._ledger.settled, name, 0)

    @property
    def unsettled(self) -> int:
        """Exchanges taken and not settled yet: gathering in a frame, or being prepared."""
        with self._lock:
            return self._taken - self._ledger.settled

    def __getitem__(self, name: str) -> int:
        return self._values[name]

    def snapshot(self) -> dict[str, int]:
        return self.state()[0]

    def state(self) -> tuple[dict[str, int], Ledger]:
        """The counters and the ledger, taken together."""
        with self._lock:
            values = dict(self._values)
            ledger = self._ledger
            in_flight = self._taken - ledger.settled
        values["queue_depth"] = self.queue_depth() + in_flight
        values["pending_segments"] = self.pending_segments
        return values, ledger

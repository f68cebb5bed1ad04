"""The recorder's writer work per exchange, without a proxy around it.

`bench_proxy` measures what the recorder costs the traffic, and the CPU its
writer process spends, but on a shared two-core machine its figures move by
a tenth from run to run. This measures the same work in one process: what the
writer does with each snapshot the proxy hands it (`recorder.prepare.Preparer`:
conversion, then sanitising; then encoding into a zstd segment), on the
exchanges `bench_proxy` sends: ``GET /api/items/{n}`` with a bearer token and
a ``Host`` of 127.0.0.1, answered by `benchmarks.upstream` from 512 recurring
2 KB bodies. Sanitising uses the default policy without a key, as `parity
record` does when no key is set; the unsanitised case is the floor.

Each case first prepares a warm-up set (the writer is long-lived and
remembers what recurs), then is timed on five sets it has not seen, in CPU
time; the best counts: on a shared machine the others measure its neighbours.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable

from benchmarks._harness import Result
from benchmarks.upstream import ITEMS, body_for
from parity.proxy.convert import RawRequest, RawResponse, Snapshot
from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from parity.store.segments import Compression
from parity.store.writer import SegmentWriter
from recorder.prepare import Preparer
from recorder.sanitize import unsanitised

__all__ = ["run", "snapshots"]

FULL_SIZE = 20_000
QUICK_SIZE = 2_000
#: 2026-11-23 10:00:00 UTC.
T0 = 1795428000.0
_PORT = 18110


def snapshots(count: int, offset: int = 0) -> list[Snapshot]:
    """What the recorder's hook keeps of `count` of the proxy benchmark's exchanges."""
    bodies = [body_for(item) for item in range(ITEMS)]
    made = []
    for i in range(offset, offset + count):
        at = T0 + i * 0.001
        item = i % ITEMS
        request = RawRequest(
            b"GET",
            b"http",
            "127.0.0.1",
            _PORT,
            f"/api/items/{item}".encode(),
            b"HTTP/1.1",
            (
                (b"Host", f"127.0.0.1:{_PORT}".encode()),
                (b"Authorization", b"Bearer benchmark-secret-token"),
                (b"Accept", b"application/json"),
            ),
            b"",
            at,
            at + 0.0001,
        )
        body = bodies[item]
        response = RawResponse(
            200,
            b"OK",
            b"HTTP/1.1",
            ((b"Content-Type", b"application/json"), (b"Content-Length", str(len(body)).encode())),
            body,
            at + 0.0002,
            at + 0.0003,
        )
        made.append(Snapshot(request, response, None))
    return made


def _case(name: str, prepare: Callable[[Snapshot], object], size: int, repeats: int) -> Result:
    print(f"writer: {name}: {size:,} exchanges x {repeats + 1} ...", file=sys.stderr, flush=True)
    for item in snapshots(size):
        prepare(item)
    best = float("inf")
    for part in range(1, repeats + 1):
        timed = snapshots(size, part * size)
        started = time.process_time()
        with SegmentWriter(io.BytesIO(), Compression.ZSTD) as segment:
            for item in timed:
                segment.write(prepare(item))  # type: ignore[arg-type]
        best = min(best, time.process_time() - started)
    return Result("writer", name, "CPU per exchange", best / size * 1e6, "µs")


def run(quick: bool) -> list[Result]:
    size = QUICK_SIZE if quick else FULL_SIZE
    repeats = 2 if quick else 5
    return [
        _case(
            "sanitised", Preparer("bench", sanitizer=Sanitiser(Pseudonymiser(None))), size, repeats
        ),
        _case("unsanitised", Preparer("bench", sanitizer=unsanitised), size, repeats),
    ]

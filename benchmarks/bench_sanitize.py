"""Sanitising throughput on exchanges with ~2 KB JSON bodies, with the default policy.

Two kinds of traffic, because the cost follows how much personal data a body
holds, not its size:

- ``typical``: an API answer about things (`benchmarks.upstream.body_for`: an
  item with a name and rows of words and scores) requested with a bearer token,
  every body different;
- ``recurring``: the same, but answered from 512 bodies (as a catalogue's
  popular items are), which the sanitiser remembers by digest;
- ``personal``: pages of customer records (`benchmarks.bench_segments`: each
  with a name, an email, an address and orders), about 30 personal values per
  exchange.

A sanitiser keeps what it learns between exchanges (pseudonyms of recurring
values, strings known to be clean), as the recorder's writer does over a long
run. So each case first sanitises a warm-up set, then is timed on different
exchanges drawn from the same generator: steady state on values it has not
seen. One thread; figures are per core. MB counts request and response bodies.

Run as a script, ``python -m benchmarks.bench_sanitize CASE COUNT`` sanitises
the warm-up set and then COUNT more exchanges of CASE, and prints nothing: run
it under ``valgrind --tool=callgrind`` with COUNT 0 and 1000 (at most), and the
difference of the two instruction counts, over 1000, is the instructions an
exchange takes. Unlike seconds, that count is the same however busy the
machine is, so two commits compare on a shared machine.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Final

from benchmarks._harness import Result
from benchmarks.bench_segments import make_exchanges
from benchmarks.upstream import ITEMS, body_for
from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.ids import new_exchange_id

__all__ = ["run", "typical_exchanges"]

FULL_SIZE = 20_000
QUICK_SIZE = 2_000
KEY = b"benchmark key, not a secret"
#: 2026-11-23 10:00:00 UTC.
T0 = 1795428000.0


def typical_exchanges(count: int, offset: int = 0, distinct: int | None = None) -> list[Exchange]:
    """GETs of `/api/items/{id}` with a bearer token, answered by `body_for`'s 2 KB JSON:
    a different body each time, or one of `distinct` bodies (a popular catalogue)."""
    exchanges = []
    for i in range(offset, offset + count):
        at = T0 + i * 0.01
        request = Request(
            "GET",
            "https",
            "api.example.test",
            443,
            f"/api/items/{i % ITEMS}",
            Query([("page", str(i % 7))]),
            Headers(
                [
                    ("Accept", "application/json"),
                    ("User-Agent", "okhttp/4.12.0"),
                    ("Authorization", f"Bearer tok{i:08d}Zx9Q{i * 7919:012d}"),
                ]
            ),
            Body.of(b""),
            "HTTP/1.1",
            at,
            at + 0.001,
        )
        response = Response(
            200,
            "OK",
            Headers([("Content-Type", "application/json")]),
            Body.of(body_for(i if distinct is None else (i * 31) % distinct)),
            "HTTP/1.1",
            at + 0.002,
            at + 0.003,
        )
        exchanges.append(Exchange(new_exchange_id(at), request, response, recorder_id="bench"))
    return exchanges


def _bytes(exchanges: list[Exchange]) -> int:
    return sum(
        len(e.request.body.content) + (len(e.response.body.content) if e.response else 0)
        for e in exchanges
    )


def _case(
    name: str, make: Callable[[int, int], list[Exchange]], size: int, repeats: int
) -> list[Result]:
    """Warm up on one set, then time `repeats` sets never seen before; the best counts."""
    print(f"sanitize: {name}: {size:,} exchanges x {repeats + 1} ...", file=sys.stderr, flush=True)
    sanitiser = Sanitiser(Pseudonymiser(KEY))
    for exchange in make(size, 0):
        sanitiser(exchange)
    best, changed, size_bytes = float("inf"), 0, 0
    for part in range(1, repeats + 1):
        timed = make(size, part)
        changed = 0
        started = time.perf_counter()
        for exchange in timed:  # nothing kept, as the writer keeps nothing once encoded
            changed += sanitiser(exchange) is not exchange
        best = min(best, time.perf_counter() - started)
        size_bytes = _bytes(timed)
    case = f"{name} n={size}"
    return [
        Result("sanitize", case, "throughput", size / best, "exchanges/s"),
        Result("sanitize", case, "throughput", size_bytes / 1e6 / best, "MB/s"),
        Result("sanitize", case, "time per exchange", best / size * 1e6, "µs"),
        Result("sanitize", case, "bodies (mean)", size_bytes / size, "bytes"),
        Result("sanitize", case, "exchanges changed", 100 * changed / size, "%"),
    ]


_CASES: dict[str, Callable[[int, int], list[Exchange]]] = {
    "typical": lambda n, part: typical_exchanges(n, part * n),
    "recurring": lambda n, part: typical_exchanges(n, part * n, ITEMS),
    "personal": lambda n, part: make_exchanges(n, seed=part + 1),
}


def run(quick: bool) -> list[Result]:
    size = QUICK_SIZE if quick else FULL_SIZE
    repeats = 2 if quick else 3
    return [result for name, make in _CASES.items() for result in _case(name, make, size, repeats)]


_COUNTED: Final = 1000


def _counted(name: str, count: int) -> None:
    """Sanitise a warm-up set, then `count` exchanges of case `name` (see the module's notes)."""
    make = _CASES[name]
    sanitiser = Sanitiser(Pseudonymiser(KEY))
    for exchange in make(QUICK_SIZE, 0):
        sanitiser(exchange)
    # The exchanges are made whatever `count` is, so that the difference is sanitising alone.
    timed = make(_COUNTED, 50)
    for exchange in timed[:count]:
        sanitiser(exchange)


if __name__ == "__main__":
    _counted(sys.argv[1], int(sys.argv[2]))

"""What learning noise costs, per 10,000 exchanges.

A store of GETs of `/api/items/{id}` answered with ~2 KB JSON bodies that
carry a fresh request id and time, each request recorded four times (as
popular requests are), is used two ways:

- **from the store**: planning a replay (one pass over the store) with and
  without learning from the recorded repeats; the difference is learning's
  cost, paid once per run and by ``parity noise suggest``: with the default
  cap of 500 pairs compared per endpoint, and with every repeat compared;
- **noise runs**: ``--replay-noise-runs 2`` against an in-process ASGI app
  answering like the monolith: each request sent twice more, and the pairs
  compared (`replayer.learn.noise_runs`).

Timings are the best of three; figures are scaled to 10,000 exchanges.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks._harness import Result, cached_store, time_call
from benchmarks.upstream import ITEMS, body_for
from parity.compare.evidence import NoiseSettings, Source
from parity.compare.noise import NoiseModel
from parity.compare.repeats import RecordedNoise
from parity.compare.rules import Rules
from parity.store import LocalStore, iter_exchanges, open_store, write_exchanges
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.ids import new_exchange_id
from replayer.learn import noise_runs
from replayer.selection import Selection, plan, repeatable
from replayer.target import open_target

__all__ = ["run"]

FULL_SIZE = 10_000
QUICK_SIZE = 1_000
REPEATS = 4
#: 2026-11-23 10:00:00 UTC.
T0 = 1795428000.0
RULES = Rules()


def _stamped(item: int) -> bytes:
    document = orjson.loads(body_for(item % ITEMS))
    document["request_id"] = str(uuid.uuid4())
    document["generated_at"] = datetime.now(UTC).isoformat(timespec="milliseconds")
    return orjson.dumps(document)


def _exchanges(size: int) -> list[Exchange]:
    distinct = size // REPEATS
    exchanges = []
    for i in range(size):
        at = T0 + i * 0.01
        item = i % distinct
        request = Request(
            "GET",
            "http",
            "monolith.test",
            8000,
            f"/api/items/{item}",
            Query(),
            Headers([("Accept", "application/json")]),
            Body.of(b""),
            "HTTP/1.1",
            at,
            at + 0.001,
        )
        response = Response(
            200,
            "OK",
            Headers([("Content-Type", "application/json")]),
            Body.of(_stamped(item)),
            "HTTP/1.1",
            at + 0.002,
            at + 0.003,
        )
        endpoint = "GET /api/items/{id}"
        exchanges.append(
            Exchange(new_exchange_id(at), request, response, recorder_id="bench", endpoint=endpoint)
        )
    return exchanges


def _store(size: int) -> Path:
    return cached_store(
        f"noise-{size}",
        size,
        lambda path: write_exchanges(LocalStore(path), _exchanges(size), "bench"),
    )


async def _app(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
    """Answers `/api/items/{id}` as the store's monolith did: the body, freshly stamped."""
    if scope["type"] != "http":
        return
    item = int(scope["path"].rsplit("/", 1)[-1])
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": _stamped(item)})


def run(quick: bool) -> list[Result]:
    size = QUICK_SIZE if quick else FULL_SIZE
    store = open_store(str(_store(size)))
    scale = 10_000 / size
    selection = Selection()

    def planned(learn: bool, settings: NoiseSettings | None = None) -> None:
        if not learn:
            plan(store, selection)
            return
        model = NoiseModel(settings)
        learner = RecordedNoise(model, lambda endpoint: RULES, repeatable())
        plan(store, selection, on_exchange=learner.add)
        assert model.evidence("GET /api/items/{id}", "$.request_id") is not None

    plain = time_call(lambda: planned(False), repeats=3).best
    learning = time_call(lambda: planned(True), repeats=3).best
    uncapped = NoiseSettings(max_pairs=10**9)
    every = time_call(lambda: planned(True, uncapped), repeats=3).best

    def sent_twice() -> None:
        model = NoiseModel()
        targets = [(Source.CANDIDATE, lambda: open_target("benchmarks.bench_noise:_app"))]
        exchanges = iter_exchanges(store)
        count = asyncio.run(
            noise_runs(exchanges, targets, model, lambda endpoint: RULES, runs=2, concurrency=8)
        )
        assert count == 2 * size
        assert model.evidence("GET /api/items/{id}", "$.generated_at") is not None

    runs = time_call(sent_twice, repeats=3).best
    case = f"n={size}"
    return [
        Result("noise", case, "plan without learning", plain * scale, "s per 10k"),
        Result("noise", case, "plan learning from repeats", learning * scale, "s per 10k"),
        Result("noise", case, "learning added", (learning - plain) * scale, "s per 10k"),
        Result("noise", case, "learning added, all compared", (every - plain) * scale, "s per 10k"),
        Result("noise", case, "noise runs x2 (in-process app)", runs * scale, "s per 10k"),
    ]

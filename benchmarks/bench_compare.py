"""What comparing one replayed answer with its recording costs, matched and mismatched.

`parity.compare.compare` runs once for every replayed exchange. Four cases,
each over a set of pairs of responses built from `benchmarks.upstream.body_for`
(an item with rows of words and scores, about 2 KB of JSON):

- ``same bytes``: the candidate answered byte for byte as recorded (the
  common case of a certified endpoint): one byte comparison;
- ``same JSON``: equal documents written differently (keys in another order,
  ``\\u00e9`` for ``é``, a trailing newline): both parsed, found equal;
- ``one change``: one score changed and one row's word renamed: the bodies
  differ, so the difference engine runs;
- ``large, 1% changed``: a list of 200 such rows (about 40 KB) with two of
  them changed, an added row and a number written as a float (``100.0`` for
  ``100``) that compares equal by value.

Each case is timed over its whole set three times; the best counts. The
figure is the time per exchange.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import orjson

from benchmarks._harness import Result, time_call
from benchmarks.upstream import body_for
from parity.compare.engine import compare
from parity.compare.rules import Rules
from parity.traffic.exchange import Body, Headers, Response

__all__ = ["run"]

_JSON = Headers([("Content-Type", "application/json")])
_RULES = Rules(ignore_paths=("$.request_id",))


def _response(body: bytes) -> Response:
    return Response(200, "OK", _JSON, Body.of(body), "HTTP/1.1", 0.0, 0.0)


def _same_bytes(i: int) -> tuple[Response, Response]:
    body = body_for(i)
    return _response(body), _response(body)


def _same_json(i: int) -> tuple[Response, Response]:
    document = orjson.loads(body_for(i))
    document["name"] = "café"
    reordered = dict(reversed(list(document.items())))
    written = orjson.dumps(reordered).replace("é".encode(), b"\\u00e9") + b"\n"
    return _response(orjson.dumps(document)), _response(written)


def _one_change(i: int) -> tuple[Response, Response]:
    document = orjson.loads(body_for(i))
    changed: dict[str, Any] = orjson.loads(body_for(i))
    changed["rows"][0]["score"] = -1
    changed["rows"][1]["word"] = "renamed"
    return _response(orjson.dumps(document)), _response(orjson.dumps(changed))


def _large(i: int) -> tuple[Response, Response]:
    rows = [row for n in range(8) for row in orjson.loads(body_for(i * 8 + n))["rows"]][:200]
    for n, row in enumerate(rows):
        row["n"] = n
    document = {"request_id": f"r-{i}", "total": 100, "rows": rows}
    changed = orjson.loads(orjson.dumps(document))
    changed["request_id"] = f"other-{i}"
    changed["total"] = 100.0
    changed["rows"][50]["score"] += 1
    changed["rows"][150]["note"] = "a note that changed"
    changed["rows"].insert(100, {"n": -1, "word": "new", "score": 0.0, "note": ""})
    return _response(orjson.dumps(document)), _response(orjson.dumps(changed))


_CASES: dict[str, tuple[Callable[[int], tuple[Response, Response]], int, int]] = {
    # name: (pair maker, pairs in a full run, pairs in a quick run)
    "same bytes": (_same_bytes, 10_000, 1_000),
    "same JSON": (_same_json, 10_000, 1_000),
    "one change": (_one_change, 2_000, 200),
    "large, 1% changed": (_large, 200, 20),
}


def run(quick: bool) -> list[Result]:
    results = []
    for name, (make, full, small) in _CASES.items():
        size = small if quick else full
        print(f"compare: {name}: {size:,} pairs x 3 ...", file=sys.stderr, flush=True)
        pairs = [make(i) for i in range(size)]
        differences = sum(
            len(compare(expected, actual, _RULES).differences) for expected, actual in pairs
        )
        timing = time_call(lambda pairs=pairs: [compare(e, a, _RULES) for e, a in pairs], repeats=3)
        results += [
            Result("compare", name, "time per exchange", timing.best / size * 1e6, "µs"),
            Result("compare", name, "differences per exchange", differences / size, "count"),
        ]
    return results

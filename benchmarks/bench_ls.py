"""`parity ls` on a local store of many small exchanges: wall time, records/s, peak RSS.

The store is built once with `write_exchanges` and cached in the data directory
(``--data-dir`` of the runner, else ``$PARITY_BENCH_DIR``, else a directory under
the system temp directory; never inside the repository). `parity ls STORE` then
runs as a child process, under ``/usr/bin/time -v`` when that works, else polled
with psutil, to measure its peak resident set size.
"""

from __future__ import annotations

import bisect
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from benchmarks._harness import Result, cached_store, data_dir, run_child
from parity.store import open_store, write_exchanges
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.ids import new_exchange_id

__all__ = ["Measured", "build_store", "data_dir", "measure", "parity_command", "run"]

FULL_SIZE = 1_000_000
QUICK_SIZE = 20_000
RECORDERS = 4
HOURS = 6
SEED = 7
#: Bump when the generated store changes, so stale caches are not reused.
LAYOUT = 1
#: 2026-11-23 04:00:00 UTC.
T0 = 1795406400.0

_RESOURCES = [
    "users",
    "orders",
    "products",
    "invoices",
    "carts",
    "shipments",
    "reviews",
    "coupons",
    "sessions",
    "payments",
]
_ACTIONS = (("GET", ""), ("GET", "/{id}"), ("POST", ""), ("PUT", "/{id}"))
#: 40 endpoints, the first ones busiest (weights fall off as 1/rank).
_ENDPOINTS = [(m, f"/api/{r}{suffix}") for r in _RESOURCES for m, suffix in _ACTIONS]
_CUMULATIVE = [sum(1 / k for k in range(1, i + 2)) for i in range(len(_ENDPOINTS))]
_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]
_REPO = Path(__file__).resolve().parents[1]


def _small_exchange(rng: random.Random, at: float, recorder: str) -> Exchange:
    rank = bisect.bisect_left(_CUMULATIVE, rng.random() * _CUMULATIVE[-1])
    method, template = _ENDPOINTS[rank]
    path = template.replace("{id}", str(rng.randint(1, 99_999)))
    request_body = b""
    if method != "GET":
        request_body = orjson.dumps({"name": rng.choice(_WORDS), "qty": rng.randint(1, 9)})
    target = rng.randint(100, 300)
    payload: dict[str, object] = {"id": rng.randint(1, 99_999), "status": rng.choice(_WORDS)}
    text = orjson.dumps(payload)
    while len(text) < target:
        payload[f"f{len(payload)}"] = " ".join(rng.choices(_WORDS, k=rng.randint(1, 6)))
        text = orjson.dumps(payload)
    roll = rng.random()
    status = 500 if roll < 0.01 else 404 if roll < 0.04 else 201 if method == "POST" else 200
    request = Request(
        method=method,
        scheme="http",
        host="monolith.internal",
        port=8000,
        path=path,
        query=Query([("v", "2")] if rng.random() < 0.3 else []),
        headers=Headers(
            [
                ("Host", "monolith.internal:8000"),
                ("User-Agent", "okhttp/4.12.0"),
                ("Accept", "application/json"),
                ("X-Request-Id", f"{rng.getrandbits(64):016x}"),
            ]
        ),
        body=Body.of(request_body),
        timestamp_start=at,
        timestamp_end=at + 0.0002,
    )
    response = None
    error = None
    if roll > 0.995:
        error = "upstream timed out"
    else:
        response = Response(
            status=status,
            reason="",
            headers=Headers(
                [("Content-Type", "application/json"), ("Content-Length", str(len(text)))]
            ),
            body=Body.of(text),
            timestamp_start=at + 0.01,
            timestamp_end=at + 0.011,
        )
    return Exchange(
        id=new_exchange_id(at),
        request=request,
        response=response,
        error=error,
        recorder_id=recorder,
        endpoint=f"{method} {template}",
    )


def _stream(
    rng: random.Random, count: int, recorder: str, progress: list[int]
) -> Iterator[Exchange]:
    """`count` exchanges of one recorder, in time order, spread over `HOURS` hours.

    `progress` is [built so far, total]; a line goes to stderr every tenth of the total.
    """
    step = HOURS * 3600 / count
    every = max(progress[1] // 10, 1)
    for i in range(count):
        yield _small_exchange(rng, T0 + (i + rng.random()) * step, recorder)
        progress[0] += 1
        if progress[0] % every == 0:
            print(f"ls: built {progress[0]:,} exchanges", file=sys.stderr, flush=True)


def build_store(size: int) -> Path:
    """The path of a store of `size` small exchanges, built unless already cached."""

    def write(path: Path) -> None:
        store = open_store(path)
        rng = random.Random(SEED)
        progress = [0, size]
        for n in range(RECORDERS):
            share = size // RECORDERS + (1 if n < size % RECORDERS else 0)
            recorder = f"bench-{n}"
            write_exchanges(store, _stream(rng, share, recorder, progress), recorder)

    return cached_store(f"ls-store-n{size}-v{LAYOUT}", size, write)


def parity_command() -> list[str]:
    """How to run the `parity` command of this environment."""
    script = Path(sys.executable).with_name("parity")
    if script.is_file():
        return [str(script)]
    found = shutil.which("parity")
    return [found] if found else [sys.executable, "-m", "parity.cli"]


@dataclass(frozen=True, slots=True)
class Measured:
    """One run of a child process."""

    seconds: float
    peak_rss_mib: float
    stdout: str


def measure(command: list[str]) -> Measured:
    """Run `command`, failing on a non-zero exit; its wall time and peak RSS."""
    done = run_child(command)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}"
        )
    return Measured(done.seconds, done.peak_rss_mib, done.stdout)


def _stored_mb(store: Path) -> tuple[int, float]:
    files = [p for p in store.glob("date=*/hour=*/*.jsonl.*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files) / 1e6


def run(quick: bool) -> list[Result]:
    size = QUICK_SIZE if quick else FULL_SIZE
    repeats = 2 if quick else 3
    parity = parity_command()
    probe = subprocess.run([*parity, "ls", "--help"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise RuntimeError(f"`parity ls` is not available yet: {probe.stderr.strip()[-300:]}")
    store = build_store(size)
    baseline = measure([*parity, "--version"])
    runs = []
    for number in range(repeats):
        runs.append(measure([*parity, "ls", str(store)]))
        print(
            f"ls: run {number + 1}: {runs[-1].seconds:.1f} s, {runs[-1].peak_rss_mib:.0f} MiB",
            file=sys.stderr,
            flush=True,
        )
    counted = re.search(r"(\d+) exchanges", runs[0].stdout)
    if counted is None:
        print("ls: could not read the exchange count from the output", file=sys.stderr)
    elif int(counted[1]) != size:
        raise AssertionError(f"parity ls counted {counted[1]} exchanges, the store holds {size}")
    best = min(r.seconds for r in runs)
    segments, stored = _stored_mb(store)
    case = f"store n={size}"
    return [
        Result("ls", case, "wall time (best)", best, "s"),
        Result("ls", case, "throughput", size / best, "records/s"),
        Result("ls", case, "peak RSS (max)", max(r.peak_rss_mib for r in runs), "MiB"),
        Result("ls", case, "segments", segments, "files"),
        Result("ls", case, "stored size", stored, "MB"),
        Result("ls", "parity --version", "wall time", baseline.seconds, "s"),
        Result("ls", "parity --version", "peak RSS", baseline.peak_rss_mib, "MiB"),
    ]

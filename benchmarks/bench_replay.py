"""`pytest --replay` against a fast local target, beside a naive pytest suite doing the same.

A local store of recorded ``GET /api/items/{id}?page=..`` exchanges, whose
recorded answers are exactly what `benchmarks.upstream` serves, is replayed
against that upstream two ways, each a child process started from a directory
of its own:

- ``pytest --replay``: Parity's plugin, run as a user runs it;
- ``naive baseline``: a generated test module that reads the same store at
  collection time, parametrizes one test per exchange, sends each request with
  `requests` (one keep-alive session) and asserts that `DeepDiff` finds nothing
  between the recorded JSON body and the answer's.

The two alternate within each round (three rounds, one with ``--quick``) so
a neighbour slowing the machine slows both; each figure is the median over
rounds, and the ratio compares medians from the same run. Wall time includes
interpreter start-up and collection, as a user waits for them. CPU time
(user + system, all threads) is the pytest process's own: the upstream runs
in another process and its CPU is reported apart. Last, ``pytest --replay``
runs once on a store ten times larger (100,000 exchanges; 5,000 with
``--quick``) for its peak resident set size.

Stores are built once and cached in the data directory (see
`benchmarks._harness.data_dir`); never inside the repository.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks._harness import PYTEST_FLAGS, Result, cached_store, replay_command, run_child
from benchmarks.upstream import ITEMS, body_for
from examples.processes import free_port, port_open, python, running
from parity.store import open_store, write_exchanges
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.ids import new_exchange_id

__all__ = ["Child", "Summary", "build_store", "parse_summary", "run"]

FULL_SIZE = 10_000
QUICK_SIZE = 1_000
MEMORY_FULL_SIZE = 100_000
MEMORY_QUICK_SIZE = 5_000
#: Bump when the generated store changes, so stale caches are not reused.
LAYOUT = 1
#: 2026-11-23 04:00:00 UTC.
T0 = 1795406400.0
#: Seconds between recorded requests: 100,000 exchanges span two UTC hours (two segments).
STEP = 0.05
ENDPOINT = "GET /api/items/{id}"
#: Where the traffic was "recorded": never the target's port, or the plugin refuses the run.
RECORDED_HOST = "127.0.0.1"
RECORDED_PORT = 8000
PAGES = 7

REPLAY = "pytest --replay"
NAIVE = "naive baseline"
MEMORY = "pytest --replay memory"
# Both suites run with the same flags. hypothesis's plugin, installed with the
# development tools and used by neither suite, imports hypothesis at the end of
# every session (about 0.7 s here), so it is left out of both.

_NAIVE_MODULE = '''\
"""One test per recorded exchange: requests sends, DeepDiff compares (the naive way)."""

import json

import pytest
import requests
from deepdiff import DeepDiff

from parity.store import iter_exchanges, open_store

TARGET = {target!r}
EXCHANGES = list(iter_exchanges(open_store({store!r})))
SESSION = requests.Session()
SKIPPED = {{"host", "content-length"}}


@pytest.mark.parametrize("exchange", EXCHANGES, ids=[e.id for e in EXCHANGES])
def test_replay(exchange):
    request = exchange.request
    response = SESSION.request(
        request.method,
        TARGET + request.path,
        params=list(request.query.fields),
        headers={{k: v for k, v in request.headers if k.lower() not in SKIPPED}},
        data=request.body.content or None,
        timeout=5,
    )
    assert response.status_code == exchange.response.status
    assert DeepDiff(json.loads(exchange.response.body.content), response.json()) == {{}}
'''


def _exchanges(size: int) -> Iterator[Exchange]:
    """`size` recorded GETs over the upstream's items, answered as the upstream answers."""
    bodies = [body_for(item) for item in range(ITEMS)]
    for i in range(size):
        at = T0 + i * STEP
        item = i % ITEMS
        body = bodies[item]
        request = Request(
            method="GET",
            scheme="http",
            host=RECORDED_HOST,
            port=RECORDED_PORT,
            path=f"/api/items/{item}",
            query=Query([("page", str(i % PAGES))]),
            headers=Headers(
                [
                    ("Host", f"{RECORDED_HOST}:{RECORDED_PORT}"),
                    ("User-Agent", "okhttp/4.12.0"),
                    ("Accept", "application/json"),
                ]
            ),
            body=Body.of(b""),
            timestamp_start=at,
            timestamp_end=at + 0.0002,
        )
        response = Response(
            status=200,
            reason="OK",
            headers=Headers(
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "no-store"),
                ]
            ),
            body=Body.of(body),
            timestamp_start=at + 0.001,
            timestamp_end=at + 0.0012,
        )
        yield Exchange(
            id=new_exchange_id(at),
            request=request,
            response=response,
            recorder_id="bench",
            endpoint=ENDPOINT,
        )


def build_store(size: int) -> Path:
    """The path of a store of `size` recorded item GETs, built unless already cached."""
    return cached_store(
        f"replay-store-n{size}-v{LAYOUT}",
        size,
        lambda path: write_exchanges(open_store(path), _exchanges(size), "bench"),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """pytest's last line: tests passed, tests not passed, and the session's seconds."""

    passed: int
    other: int
    seconds: float


_OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|warnings?)\b")
_SESSION = re.compile(r" in ([\d.]+)s\b")


def parse_summary(output: str) -> Summary:
    """The counts and session time from pytest's summary line (``10000 passed in 4.21s``);
    warnings are not counted as tests."""
    for line in reversed(output.splitlines()):
        session = _SESSION.search(line)
        counts = _OUTCOME.findall(line)
        if session is None or not counts:
            continue
        passed = sum(int(n) for n, kind in counts if kind == "passed")
        other = sum(int(n) for n, kind in counts if kind not in {"passed", "warning", "warnings"})
        return Summary(passed, other, float(session.group(1)))
    raise ValueError(f"pytest printed no summary line:\n{output[-2000:]}")


@dataclass(frozen=True, slots=True)
class Child:
    """One measured run of a child process."""

    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    summary: Summary


def _measure(command: list[str], cwd: Path, expected: int) -> Child:
    """Run `command` in `cwd`; fail unless it exits 0 having passed `expected` tests."""
    done = run_child(command, cwd)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{output[-3000:]}")
    summary = parse_summary(done.stdout)
    if summary.passed != expected or summary.other:
        raise AssertionError(
            f"{' '.join(command)}: {summary.passed} passed and {summary.other} not, "
            f"of {expected} exchanges:\n{output[-3000:]}"
        )
    return Child(done.seconds, done.cpu_seconds, done.peak_rss_mib, summary)


def _naive_command(module: Path) -> list[str]:
    return python("-m", "pytest", module.name, *PYTEST_FLAGS)


def _cpu_of(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _rows(case: str, runs: list[Child], size: int, target_cpu: list[float]) -> list[Result]:
    wall = statistics.median(r.seconds for r in runs)
    cpu = statistics.median(r.cpu_seconds for r in runs)
    session = statistics.median(r.summary.seconds for r in runs)
    return [
        Result("replay", case, "wall time", wall, "s"),
        Result("replay", case, "throughput", size / wall, "exchanges/s"),
        Result("replay", case, "pytest session time", session, "s"),
        Result("replay", case, "CPU time (pytest)", cpu, "s"),
        Result("replay", case, "throughput per CPU", size / cpu, "exchanges/CPU-s"),
        Result("replay", case, "CPU time (upstream)", statistics.median(target_cpu), "s"),
        Result("replay", case, "peak RSS (max)", max(r.peak_rss_mib for r in runs), "MiB"),
    ]


def run(quick: bool) -> list[Result]:
    size = QUICK_SIZE if quick else FULL_SIZE
    memory_size = MEMORY_QUICK_SIZE if quick else MEMORY_FULL_SIZE
    rounds = 1 if quick else 3
    store = build_store(size)
    memory_store = build_store(memory_size)

    with tempfile.TemporaryDirectory(prefix="parity-bench-replay-") as scratch:
        work = Path(scratch)
        port = free_port()
        while port == RECORDED_PORT:
            port = free_port()
        target = f"http://127.0.0.1:{port}"
        empty = work / "replay"  # no tests and no config: only the replay items are collected
        empty.mkdir()
        naive = work / "naive"
        naive.mkdir()
        module = naive / "test_naive_replay.py"
        module.write_text(_NAIVE_MODULE.format(target=target, store=str(store)))
        commands = {
            REPLAY: (replay_command(store, target), empty),
            NAIVE: (_naive_command(module), naive),
        }
        runs: dict[str, list[Child]] = {REPLAY: [], NAIVE: []}
        target_cpu: dict[str, list[float]] = {REPLAY: [], NAIVE: [], MEMORY: []}
        with running(
            "upstream",
            python("-m", "benchmarks.upstream", "--port", str(port)),
            port=port,
            log_dir=work,
            ready=port_open(port),
        ) as upstream:
            for number in range(rounds):
                for case, (command, cwd) in commands.items():
                    before = _cpu_of(upstream.proc.pid)
                    child = _measure(command, cwd, size)
                    target_cpu[case].append(_cpu_of(upstream.proc.pid) - before)
                    runs[case].append(child)
                    print(
                        f"replay: round {number + 1}/{rounds} {case}: {child.seconds:.2f} s, "
                        f"{size / child.seconds:,.0f}/s, CPU {child.cpu_seconds:.2f} s, "
                        f"{child.peak_rss_mib:.0f} MiB",
                        file=sys.stderr,
                        flush=True,
                    )
            before = _cpu_of(upstream.proc.pid)
            memory = _measure(replay_command(memory_store, target), empty, memory_size)
            target_cpu[MEMORY].append(_cpu_of(upstream.proc.pid) - before)
            print(
                f"replay: {MEMORY}: {memory.seconds:.2f} s, {memory.peak_rss_mib:.0f} MiB",
                file=sys.stderr,
                flush=True,
            )

    results = _rows(f"{REPLAY} n={size}", runs[REPLAY], size, target_cpu[REPLAY])
    results += _rows(f"{NAIVE} n={size}", runs[NAIVE], size, target_cpu[NAIVE])
    wall = {case: statistics.median(r.seconds for r in runs[case]) for case in runs}
    cpu = {case: statistics.median(r.cpu_seconds for r in runs[case]) for case in runs}
    results += [
        Result(
            "replay", f"replay / baseline n={size}", "throughput", wall[NAIVE] / wall[REPLAY], "x"
        ),
        Result(
            "replay",
            f"replay / baseline n={size}",
            "throughput per CPU",
            cpu[NAIVE] / cpu[REPLAY],
            "x",
        ),
    ]
    results += _rows(f"{MEMORY} n={memory_size}", [memory], memory_size, target_cpu[MEMORY])
    return results

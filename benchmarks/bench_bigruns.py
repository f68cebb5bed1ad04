"""`pytest --replay` at scale against nginx: both granularities, beside pytest's floor.

nginx serves one fixed 2 KB JSON answer on 127.0.0.1, so the target costs next
to nothing and what is measured is the pytest process. A store of recorded
GETs over ten endpoints, each answered with that same document, is replayed:

- ``exchange`` granularity (an item per exchange) on 10,000 exchanges, three
  rounds, against pytest's own floor for as many trivial items
  (`benchmarks.pytest_floor`), in the same rounds;
- ``exchange`` granularity on 100,000 exchanges, once, for its peak RSS,
  against the floor's for 100,000 items;
- ``endpoint`` granularity (an item per endpoint) on 1,000,000 exchanges,
  once, for its throughput per CPU-second and its peak RSS.

``--quick`` makes them 2,000, 5,000 and 20,000. Throughput per CPU is
exchanges over the pytest process's user + system seconds (GNU time).
It needs nginx (Debian's package ``nginx``), and stops when it is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks._harness import (
    PYTEST_FLAGS,
    ChildRun,
    Result,
    cached_store,
    replay_command,
    run_child,
)
from benchmarks.bench_replay import parse_summary
from examples.processes import free_port, port_open
from parity.store import open_store, write_exchanges
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.ids import new_exchange_id

__all__ = ["ANSWER", "build_store", "nginx", "run"]

#: Bump when the generated store changes, so stale caches are not reused.
LAYOUT = 1
#: 2026-11-23 04:00:00 UTC.
T0 = 1795406400.0
#: Seconds between recorded requests: a million exchanges span a day (24 hourly segments).
STEP = 0.0864
ENDPOINTS = 10
RECORDED_PORT = 8000

#: The one answer nginx gives, about 2 KB of JSON.
ANSWER = (
    '{"items": ['
    + ", ".join(
        f'{{"id": {i}, "name": "item {i}", "price": {i * 3 + 0.25}, "tags": ["a", "b"], '
        f'"stock": {i * 7 % 50}, "active": {"true" if i % 2 else "false"}}}'
        for i in range(20)
    )
    + '], "page": 1, "pages": 1}'
).encode()


_CONFIG = """\
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        default_type application/json;
        location / {{ try_files /answer.json =404; }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground on 127.0.0.1:`port` answering every request with `ANSWER`;
    stopped on leaving."""
    binary = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )
    if binary is None:
        raise RuntimeError("the bigruns benchmark needs nginx: apt-get install nginx")
    with tempfile.TemporaryDirectory(prefix="parity-bench-nginx-") as scratch:
        root = Path(scratch)
        root.chmod(0o755)  # nginx's workers may run as another user
        (root / "tmp").mkdir()
        (root / "answer.json").write_bytes(ANSWER)
        (root / "answer.json").chmod(0o644)
        config = root / "nginx.conf"
        config.write_text(_CONFIG.format(root=root, port=port))
        process = subprocess.Popen(
            [binary, "-c", str(config), "-p", str(root), "-e", str(root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            ready = port_open(port)
            deadline = time.monotonic() + 10
            while not ready():
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "error.log").read_text() if (root / "error.log").exists() else ""
                    raise RuntimeError(f"nginx did not start on 127.0.0.1:{port}:\n{log}")
                time.sleep(0.05)
            yield process
        finally:
            process.terminate()
            process.wait(10)


def _exchanges(size: int) -> Iterator[Exchange]:
    """`size` recorded GETs over `ENDPOINTS` endpoints, each answered with `ANSWER`."""
    body = Body.of(ANSWER)
    for i in range(size):
        at = T0 + i * STEP
        family = i % ENDPOINTS
        request = Request(
            method="GET",
            scheme="http",
            host="127.0.0.1",
            port=RECORDED_PORT,
            path=f"/api/r{family}/{i % 1000}",
            query=Query([("page", str(i % 7))]),
            headers=Headers(
                [
                    ("Host", f"127.0.0.1:{RECORDED_PORT}"),
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
                [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))]
            ),
            body=body,
            timestamp_start=at + 0.001,
            timestamp_end=at + 0.0012,
        )
        yield Exchange(
            id=new_exchange_id(at),
            request=request,
            response=response,
            recorder_id="bench",
            endpoint=f"GET /api/r{family}/{{id}}",
        )


def build_store(size: int) -> Path:
    """The path of a store of `size` recorded GETs, built unless already cached."""

    def write(path: Path) -> None:
        write_exchanges(open_store(path), _exchanges(size), "bench")

    return cached_store(f"bigruns-store-n{size}-v{LAYOUT}", size, write)


def _measure(command: list[str], cwd: Path, passed: int, env: dict[str, str]) -> ChildRun:
    """Run `command`; fail unless it exits 0 having passed `passed` tests and no other."""
    done = run_child(["env", *(f"{k}={v}" for k, v in env.items()), *command], cwd)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{output[-3000:]}")
    summary = parse_summary(done.stdout)
    if summary.passed != passed or summary.other:
        raise AssertionError(f"{summary.passed} passed, {summary.other} not:\n{output[-3000:]}")
    return done


def _floor() -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "benchmarks.pytest_floor", *PYTEST_FLAGS]


def _rows(case: str, runs: list[ChildRun], size: int) -> list[Result]:
    cpu = statistics.median(r.cpu_seconds for r in runs)
    wall = statistics.median(r.seconds for r in runs)
    return [
        Result("bigruns", case, "wall time", wall, "s"),
        Result("bigruns", case, "CPU time (pytest)", cpu, "s"),
        Result("bigruns", case, "throughput per CPU", size / cpu, "exchanges/CPU-s"),
        Result("bigruns", case, "peak RSS (max)", max(r.peak_rss_mib for r in runs), "MiB"),
    ]


def run(quick: bool) -> list[Result]:
    size, memory_size, big_size = (2_000, 5_000, 20_000) if quick else (10_000, 100_000, 1_000_000)
    rounds = 1 if quick else 3
    stores = {n: build_store(n) for n in (size, memory_size, big_size)}
    repository = str(Path(__file__).resolve().parents[1])
    env = {"PYTHONPATH": repository + os.pathsep + os.environ.get("PYTHONPATH", "")}
    port = free_port()
    target = f"http://127.0.0.1:{port}"
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="parity-bench-bigruns-") as scratch, nginx(port):
        empty = Path(scratch)  # no tests and no config: only the replay items are collected
        by_exchange: list[ChildRun] = []
        floor: list[ChildRun] = []
        for number in range(rounds):
            by_exchange.append(
                _measure(
                    replay_command(stores[size], target, "--replay-granularity=exchange"),
                    empty,
                    size,
                    env,
                )
            )
            floor.append(_measure(_floor(), empty, size, {**env, "PARITY_FLOOR_ITEMS": str(size)}))
            print(
                f"bigruns: round {number + 1}/{rounds}: exchange granularity CPU "
                f"{by_exchange[-1].cpu_seconds:.2f} s, floor {floor[-1].cpu_seconds:.2f} s",
                file=sys.stderr,
                flush=True,
            )
        results += _rows(f"exchange items n={size}", by_exchange, size)
        results += _rows(f"pytest floor n={size}", floor, size)
        memory = _measure(
            replay_command(stores[memory_size], target, "--replay-granularity=exchange"),
            empty,
            memory_size,
            env,
        )
        memory_floor = _measure(
            _floor(), empty, memory_size, {**env, "PARITY_FLOOR_ITEMS": str(memory_size)}
        )
        results += _rows(f"exchange items n={memory_size}", [memory], memory_size)
        results += _rows(f"pytest floor n={memory_size}", [memory_floor], memory_size)
        results.append(
            Result(
                "bigruns",
                f"exchange items / floor n={memory_size}",
                "peak RSS",
                memory.peak_rss_mib / memory_floor.peak_rss_mib,
                "x",
            )
        )
        big = _measure(
            replay_command(stores[big_size], target, "--replay-granularity=endpoint"),
            empty,
            ENDPOINTS,
            env,
        )
        print(
            f"bigruns: endpoint granularity n={big_size}: CPU {big.cpu_seconds:.1f} s, "
            f"{big.peak_rss_mib:.0f} MiB",
            file=sys.stderr,
            flush=True,
        )
        results += _rows(f"endpoint items n={big_size}", [big], big_size)
    return results

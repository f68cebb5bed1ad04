"""Four shards of one replay on this machine, then their merge, against nginx.

The store and the nginx target are the bigruns benchmark's (`benchmarks.bench_bigruns`):
recorded GETs over ten endpoints, nginx answering each with the same 2 KB of JSON.
Measured, in one run:

- one unsharded ``pytest --replay`` over the store (exchange items), for reference;
- four ``pytest --replay --replay-shard=K/4`` processes started together, as four
  CI jobs would run them on one 2-core machine: the time from the first start to the
  last end, and each shard's CPU time and peak RSS;
- ``parity report merge`` of the four report directories: its time and peak RSS.

The merged certification must count every exchange the unsharded run counted, or the
benchmark fails. ``--quick`` replays 4,000 exchanges instead of 100,000. It needs
nginx (Debian's package ``nginx``), and stops when it is missing.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks._harness import ChildRun, Result, replay_command, run_child
from benchmarks.bench_bigruns import build_store, nginx
from examples.processes import free_port

__all__ = ["run"]

SHARDS = 4


def _checked(done: ChildRun, what: str) -> ChildRun:
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-3000:]
        raise RuntimeError(f"{what} exited {done.returncode}:\n{output}")
    return done


def _replayed(report: Path) -> int:
    document = json.loads((report / "certification.json").read_text())
    return sum(endpoint["replayed"] for endpoint in document["endpoints"])


def run(quick: bool) -> list[Result]:
    size = 4_000 if quick else 100_000
    store = build_store(size)
    repository = Path(__file__).resolve().parents[1]
    env = ["env", f"PYTHONPATH={repository}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"]
    port = free_port()
    target = f"http://127.0.0.1:{port}"
    case = f"n={size}"
    with tempfile.TemporaryDirectory(prefix="parity-bench-shards-") as scratch, nginx(port):
        work = Path(scratch)
        single = _checked(
            run_child(
                [*env, *replay_command(store, target, f"--replay-report={work / 'single'}")], work
            ),
            "the single run",
        )

        def shard(index: int) -> ChildRun:
            report = work / f"shard-{index}"
            command = replay_command(
                store, target, f"--replay-report={report}", f"--replay-shard={index}/{SHARDS}"
            )
            return _checked(run_child([*env, *command], work), f"shard {index}/{SHARDS}")

        started = time.perf_counter()
        with ThreadPoolExecutor(SHARDS) as pool:
            shards = list(pool.map(shard, range(1, SHARDS + 1)))
        together = time.perf_counter() - started
        reports = [str(work / f"shard-{index}") for index in range(1, SHARDS + 1)]
        merge = _checked(
            run_child(
                [
                    *env,
                    sys.executable,
                    "-m",
                    "parity.cli",
                    "report",
                    "merge",
                    *reports,
                    "--out",
                    str(work / "merged"),
                ],
                work,
            ),
            "parity report merge",
        )
        if (
            _replayed(work / "merged") != _replayed(work / "single")
            or _replayed(work / "single") != size
        ):
            raise AssertionError("the merged certification does not count every exchange once")
    print(
        f"shards: one run {single.seconds:.1f} s; {SHARDS} shards together {together:.1f} s; "
        f"merge {merge.seconds:.2f} s, {merge.peak_rss_mib:.0f} MiB",
        file=sys.stderr,
        flush=True,
    )
    return [
        Result("shards", f"one process {case}", "wall time", single.seconds, "s"),
        Result("shards", f"one process {case}", "CPU time", single.cpu_seconds, "s"),
        Result("shards", f"one process {case}", "peak RSS", single.peak_rss_mib, "MiB"),
        Result("shards", f"{SHARDS} shards together {case}", "wall time", together, "s"),
        Result(
            "shards",
            f"{SHARDS} shards together {case}",
            "CPU time (all shards)",
            sum(s.cpu_seconds for s in shards),
            "s",
        ),
        Result(
            "shards",
            f"{SHARDS} shards together {case}",
            "peak RSS (largest shard)",
            max(s.peak_rss_mib for s in shards),
            "MiB",
        ),
        Result("shards", f"merge of {SHARDS} {case}", "wall time", merge.seconds, "s"),
        Result("shards", f"merge of {SHARDS} {case}", "peak RSS", merge.peak_rss_mib, "MiB"),
    ]

"""Hostile segments through every read path: peak memory, and what each path still reads.

A store is given, beside segments of ordinary records, segments a reader must
survive: compression bombs (zstd frames and a gzip member of 1 GiB and more,
from a few dozen kilobytes), one record line of 256 MiB, and a line of a
5,000,000-deep JSON array. Each crafted segment also holds intact records in
frames of their own before and after the hostile one. Each read path then runs
as a child process under ``/usr/bin/time -v``: `parity ls`, `parity show`,
`parity scan`, `parity export --to har` and `pytest --replay --collect-only`.
The figures: peak RSS and CPU seconds, whether it finished, whether it named
the damage, and whether it read every intact record.

``python -m benchmarks.run hostile`` (``--quick``: bombs of 256 MiB).
"""

from __future__ import annotations

import gzip
import shutil
import sys
import zlib
from pathlib import Path

import orjson
import zstandard

from benchmarks._harness import Result, data_dir, run_child
from parity.store.segments import Compression, SegmentKey
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response

__all__ = ["INTACT", "build", "run"]

#: Intact records in each crafted segment: half before the hostile frame, half after.
INTACT = 20
#: 2026-11-23 10:00:00 UTC.
T0 = 1795428000.0
_MIB = 1 << 20


def _record(number: int) -> bytes:
    at = T0 + number
    request = Request(
        "GET",
        "http",
        "api.test",
        80,
        f"/api/items/{number}",
        Query(),
        Headers([("Host", "api.test")]),
        Body.of(b""),
        "HTTP/1.1",
        at,
        at,
    )
    response = Response(
        200,
        "OK",
        Headers([("Content-Type", "application/json")]),
        Body.of(b'{"ok": true}'),
        "HTTP/1.1",
        at,
        at,
    )
    exchange = Exchange(
        f"01M83X{number:020d}",
        request,
        response,
        recorder_id="hostile",
        endpoint="GET /api/items/{id}",
    )
    return orjson.dumps(exchange.to_record()) + b"\n"


def _intact(first: int) -> bytes:
    return b"".join(_record(first + i) for i in range(INTACT // 2))


def _zstd_frame(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)


def _zstd_streamed(size: int, line: bool) -> bytes:
    """One zstd frame of `size` zero bytes (ending in a newline when a `line`), written
    as a stream, so that the frame's header does not tell its size."""
    compressor = zstandard.ZstdCompressor(level=19, write_checksum=True).compressobj()
    out = [compressor.compress(b'["' if line else b"")]
    zeros = bytes(16 * _MIB)
    for _ in range(size // len(zeros)):
        out.append(compressor.compress(zeros))
    out.append(compressor.compress(b'"]\n' if line else b""))
    out.append(compressor.flush())
    return b"".join(out)


def _gzip_member(data_size: int) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(16 * _MIB)
    out = [deflate.compress(zeros) for _ in range(data_size // len(zeros))]
    out.append(deflate.flush())
    return b"".join(out)


def build(root: Path, bomb_bytes: int) -> dict[str, int]:
    """Write the crafted store under `root`; the number of intact records in it."""
    if root.exists():
        shutil.rmtree(root)
    deep = b"[" * 5_000_000 + b"]" * 5_000_000 + b"\n"
    crafted = {
        "zstd-bomb": (_zstd_streamed(bomb_bytes, line=False), "zstd"),
        "zstd-bomb-2x": (_zstd_streamed(2 * bomb_bytes, line=False), "zstd"),
        "gzip-bomb": (_gzip_member(bomb_bytes), "gzip"),
        "long-line": (_zstd_streamed(256 * _MIB, line=True), "zstd"),
        "deep-array": (_zstd_frame(deep), "zstd"),
    }
    counts = {}
    for number, (name, (hostile, kind)) in enumerate(crafted.items()):
        first = number * 1000
        if kind == "zstd":
            before, after = _zstd_frame(_intact(first)), _zstd_frame(_intact(first + 500))
            suffix = ".jsonl.zst"
        else:
            before, after = gzip.compress(_intact(first)), gzip.compress(_intact(first + 500))
            suffix = ".jsonl.gz"
        key = SegmentKey.for_time(T0, name, 1, Compression(kind))
        path = root / str(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(before + hostile + after)
        assert path.name.endswith(suffix)
        counts[name] = INTACT
    return counts


def _paths(store: Path, out: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "parity.cli"]
    return {
        "ls": [*cli, "ls", str(store)],
        "show": [*cli, "show", str(store), f"01M83X{1505:020d}"],
        "scan": [*cli, "scan", str(store)],
        "export": [*cli, "export", str(store), "--to", "har", "--out", str(out / "all.har")],
        "collect": [
            sys.executable,
            "-m",
            "pytest",
            "--replay",
            f"--replay-from={store}",
            "--replay-target=http://127.0.0.1:9",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
    }


def run(quick: bool) -> list[Result]:
    bomb = 256 * _MIB if quick else 1 << 30
    root = data_dir() / "hostile"
    store = root / "store"
    print(f"hostile: building crafted segments (bombs of {bomb >> 20} MiB) ...", file=sys.stderr)
    build(store, bomb)
    results = []
    out = root / "out"
    out.mkdir(parents=True, exist_ok=True)
    for name, command in _paths(store, out).items():
        print(f"hostile: {name} ...", file=sys.stderr, flush=True)
        child = run_child(command, cwd=root)
        said = child.stdout + child.stderr
        named = sum(segment in said for segment in ("zstd-bomb", "gzip-bomb", "long-line"))
        results += [
            Result("hostile", name, "peak RSS", child.peak_rss_mib, "MiB"),
            Result("hostile", name, "CPU", child.cpu_seconds, "s"),
            Result("hostile", name, "exit status", child.returncode, ""),
            Result("hostile", name, "bombs named", named, "of 3"),
        ]
    return results

"""The benchmark runner works: it runs a benchmark and prints its figures.

No timing is asserted, only that every expected row is there with a positive
number; the figures themselves belong in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks._harness import Result, format_table, time_call
from benchmarks.run import discover

REPO = Path(__file__).resolve().parents[1]


def _rows(output: str) -> dict[tuple[str, str, str, str], float]:
    """The table rows printed by the runner, keyed by (benchmark, case, metric, unit)."""
    rows = {}
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("benchmark  "))
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        benchmark, rest = line.split(None, 1)
        # Cells are separated by two or more spaces; a case or metric may hold one.
        cells = [cell for cell in rest.split("  ") if cell.strip()]
        case, metric, value, unit = (cell.strip() for cell in cells)
        rows[(benchmark, case, metric, unit)] = float(value.replace(",", ""))
    return rows


def test_segments_quick_prints_positive_figures() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "segments", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "python: " in done.stdout
    assert "CPUs" in done.stdout
    rows = _rows(done.stdout)
    for compression in ("zstd", "gzip"):
        case = f"{compression} n=2000"
        for metric, unit in [
            ("encode", "exchanges/s"),
            ("encode", "MB/s"),
            ("decode", "exchanges/s"),
            ("decode", "MB/s"),
            ("encode+decode", "exchanges/s"),
            ("compression ratio", "x"),
        ]:
            assert rows[("segments", case, metric, unit)] > 0, (case, metric, unit)
    assert rows[("segments", "zstd n=2000", "compression ratio", "x")] > 1


def test_runner_finds_the_benchmarks() -> None:
    assert {"segments", "ls", "proxy"} <= set(discover())


def test_unknown_benchmark_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "no-such-thing", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown benchmark" in done.stderr


def test_harness_times_and_formats() -> None:
    timing = time_call(lambda: sum(range(1000)), repeats=3)
    assert len(timing.seconds) == 3
    assert 0 < timing.best <= timing.median
    table = format_table([Result("b", "c", "m", 12345.678, "u"), Result("b", "c", "r", 0.5, "x")])
    assert table.splitlines()[0].split() == ["benchmark", "case", "metric", "value", "unit"]
    assert "12,346" in table
    assert "0.5000" in table


WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8080
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.50ms    3.10ms  80.00ms   90.00%
    Req/Sec     1.29k    80.00     1.40k    75.00%
  Latency Distribution
     50%   12.13ms
     75%   13.90ms
     90%   15.20ms
     99%  850.00us
  12900 requests in 10.00s, 28.40MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   1290.12
Transfer/sec:      2.84MB
"""


def test_wrk_output_is_read_with_units_and_problems() -> None:
    from benchmarks.bench_proxy import parse_wrk

    run = parse_wrk(WRK_OUTPUT)
    assert run.requests == 12900
    assert run.rate == 1290.12
    assert run.p50 == 12.13
    assert run.p99 == 0.85
    assert run.errors == "Non-2xx or 3xx responses: 3"
    assert parse_wrk(WRK_OUTPUT.replace("  Non-2xx or 3xx responses: 3\n", "")).errors is None


def test_the_benchmark_upstream_answers_2kb_json() -> None:
    import json

    from benchmarks.upstream import body_for

    body = body_for(7)
    assert 1900 <= len(body) <= 2048
    assert json.loads(body)["id"] == 7
    assert body_for(7) == body != body_for(8)


def test_the_replay_benchmark_is_found() -> None:
    assert "replay" in discover()


def test_pytest_summary_lines_are_read() -> None:
    import pytest

    from benchmarks.bench_replay import Summary, parse_summary

    quiet = "....\n[100%]\nparity: 1 endpoint certified\n10000 passed in 4.21s\n"
    assert parse_summary(quiet) == Summary(10000, 0, 4.21)
    mixed = "== 3 failed, 9996 passed, 1 error, 2 warnings in 12.50s (0:00:12) =="
    summary = parse_summary(mixed)
    assert (summary.passed, summary.other, summary.seconds) == (9996, 4, 12.5)
    with pytest.raises(ValueError, match="no summary line"):
        parse_summary("collected 0 items\n")


def test_gnu_time_reports_are_read() -> None:
    import pytest

    from benchmarks._harness import parse_gnu_time

    report = (
        '\tCommand being timed: "python -m pytest --replay"\n'
        "\tUser time (seconds): 9.50\n"
        "\tSystem time (seconds): 0.75\n"
        "\tMaximum resident set size (kbytes): 102400\n"
    )
    assert parse_gnu_time(report) == (10.25, 100.0)
    with pytest.raises(ValueError, match="no rss figure"):
        parse_gnu_time(report.replace("Maximum resident", "Peak resident"))

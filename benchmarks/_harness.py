"""What every benchmark shares: the `Result` row, timing, and the table printer."""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "PYTEST_FLAGS",
    "ChildRun",
    "Result",
    "Timing",
    "cached_store",
    "data_dir",
    "format_table",
    "gnu_time",
    "machine_facts",
    "parse_gnu_time",
    "replay_command",
    "run_child",
    "time_call",
]


#: Every pytest a benchmark starts runs quiet, without plugins that add work or reorder items.
PYTEST_FLAGS = ("-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:hypothesispytest")


def replay_command(store: Path, target: str, *options: str) -> list[str]:
    """`pytest --replay` of `store` against `target` in a child Python, with `options`."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "--replay",
        f"--replay-from={store}",
        f"--replay-target={target}",
        *options,
        *PYTEST_FLAGS,
    ]


@dataclass(frozen=True, slots=True)
class Result:
    """One figure: a metric measured for one case of one benchmark."""

    benchmark: str
    case: str
    metric: str
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall-clock seconds of each repeat of a call."""

    seconds: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def time_call(fn: Callable[[], object], repeats: int = 3, warmup: int = 0) -> Timing:
    """Time `fn` with `time.perf_counter`, `repeats` times after `warmup` untimed calls."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts() -> list[str]:
    """Lines describing where and when the figures were taken."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    impl = platform.python_implementation()
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"python: {impl} {platform.python_version()}",
        f"platform: {platform.system()} {platform.release()} {platform.machine()}",
        f"cpu: {_cpu_model()}; {os.cpu_count()} CPUs ({usable} usable)",
    ]


def format_value(value: float) -> str:
    """A figure with as many digits as are worth reading."""
    if value == 0 or abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def format_table(results: Iterable[Result]) -> str:
    """The results as a plain-text table with a header row; numbers right-aligned."""
    header = ("benchmark", "case", "metric", "value", "unit")
    rows = [header] + [
        (r.benchmark, r.case, r.metric, format_value(r.value), r.unit) for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.rjust(widths[i]) if i == 3 else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def gnu_time() -> str | None:
    """GNU time's path when it is installed and reports peak RSS (``-v``), else None."""
    tool = "/usr/bin/time"
    if not os.access(tool, os.X_OK):
        return None
    probe = subprocess.run([tool, "-v", "true"], capture_output=True, text=True, check=False)
    return tool if probe.returncode == 0 and "Maximum resident" in probe.stderr else None


_REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """Where built data is cached (``$PARITY_BENCH_DIR``, else ``parity-bench`` in the
    system temp directory); refuses a place inside the repository."""
    chosen = os.environ.get("PARITY_BENCH_DIR") or Path(tempfile.gettempdir()) / "parity-bench"
    path = Path(chosen).resolve()
    if path == _REPO or _REPO in path.parents:
        raise ValueError(f"benchmark data must not live inside the repository ({path})")
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_store(name: str, size: int, write: Callable[[Path], None]) -> Path:
    """The store `name` in the data directory, built by `write(path)` unless a complete
    one is cached there; a build that stops halfway is never taken for a cached one."""
    final = data_dir() / name
    label = name.partition("-")[0]
    if final.is_dir():
        print(f"{label}: reusing the store at {final}", file=sys.stderr, flush=True)
        return final
    building = final.with_name(final.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    print(
        f"{label}: building a store of {size:,} exchanges at {final}", file=sys.stderr, flush=True
    )
    started = time.perf_counter()
    write(building)
    building.rename(final)
    took = time.perf_counter() - started
    print(f"{label}: built {size:,} exchanges in {took:.1f} s", file=sys.stderr, flush=True)
    return final


def parse_gnu_time(report: str) -> tuple[float, float]:
    """CPU seconds (user + system) and peak RSS in MiB from a ``/usr/bin/time -v`` report."""
    figures = {}
    for name, pattern in (
        ("user", r"User time \(seconds\): ([\d.]+)"),
        ("system", r"System time \(seconds\): ([\d.]+)"),
        ("rss", r"Maximum resident set size \(kbytes\): (\d+)"),
    ):
        found = re.search(pattern, report)
        if found is None:
            raise ValueError(f"no {name} figure in the time report:\n{report}")
        figures[name] = float(found.group(1))
    return figures["user"] + figures["system"], figures["rss"] / 1024


@dataclass(frozen=True, slots=True)
class ChildRun:
    """One run of a child process: how it ended, what it cost, what it printed."""

    returncode: int
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str


def run_child(command: list[str], cwd: Path | None = None) -> ChildRun:
    """Run `command` and measure it: under GNU ``time -v`` when that works, else polled
    with psutil every 5 ms. Output goes to files, not pipes, so a chatty child never
    blocks while it is watched."""
    tool = gnu_time()
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.NamedTemporaryFile("w+", suffix=".time") as report,
    ):
        started = time.perf_counter()
        if tool is not None:
            done = subprocess.run(
                [tool, "-v", "-o", report.name, *command],
                cwd=cwd,
                stdout=out,
                stderr=err,
                check=False,
            )
            seconds = time.perf_counter() - started
            returncode = done.returncode
            cpu, peak = parse_gnu_time(Path(report.name).read_text())
        else:
            import psutil  # type: ignore[import-untyped]

            cpu = peak = 0.0
            with subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err) as child:
                watched = psutil.Process(child.pid)
                while child.poll() is None:
                    try:
                        peak = max(peak, watched.memory_info().rss / 2**20)
                        times = watched.cpu_times()
                        cpu = times.user + times.system
                    except psutil.Error:
                        break
                    time.sleep(0.005)
            seconds = time.perf_counter() - started
            returncode = child.returncode
        out.seek(0)
        err.seek(0)
        return ChildRun(returncode, seconds, cpu, peak, out.read(), err.read())

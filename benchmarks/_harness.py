"""What every benchmark shares: the `Result` row, timing, and the table printer."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Result", "Timing", "format_table", "gnu_time", "machine_facts", "time_call"]


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

"""Run Parity's benchmarks and print their figures as a table.

    python -m benchmarks.run                   # every benchmark, full size
    python -m benchmarks.run segments --quick  # one benchmark, small sizes

A benchmark is a module ``benchmarks/bench_<name>.py`` with a function
``run(quick: bool) -> list[Result]``; it is found by its file name.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks._harness import Result, format_table, machine_facts

__all__ = ["discover", "main"]

_PREFIX = "bench_"
Runner = Callable[[bool], list[Result]]


def discover() -> dict[str, str]:
    """Benchmark names mapped to their module names, in name order."""
    here = [str(Path(__file__).resolve().parent)]
    found = {
        info.name.removeprefix(_PREFIX): f"benchmarks.{info.name}"
        for info in pkgutil.iter_modules(here)
        if info.name.startswith(_PREFIX)
    }
    return dict(sorted(found.items()))


def _parser(names: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Run Parity's benchmarks and print a table of their figures.",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all of {', '.join(names) or 'none found'})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: the whole run takes seconds"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where benchmarks cache the data they build (sets PARITY_BENCH_DIR; "
        "default: a directory under the system temp directory)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    available = discover()
    args = _parser(list(available)).parse_args(argv)
    chosen = [name.removeprefix(_PREFIX) for name in args.names] or list(available)
    unknown = [name for name in chosen if name not in available]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    if args.data_dir:
        os.environ["PARITY_BENCH_DIR"] = str(Path(args.data_dir).resolve())

    results: list[Result] = []
    failed: list[str] = []
    for name in chosen:
        print(f"running {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            runner: Runner = importlib.import_module(available[name]).run
            results.extend(runner(args.quick))
        except Exception:
            failed.append(name)
            print(f"benchmark {name} failed:", file=sys.stderr)
            traceback.print_exc()
        else:
            took = time.perf_counter() - started
            print(f"{name} done in {took:.1f} s", file=sys.stderr, flush=True)

    mode = "quick" if args.quick else "full"
    print(f"Parity benchmarks ({mode} sizes)")
    for line in machine_facts():
        print(line)
    print()
    print(format_table(results))
    if failed:
        print(f"\nfailed: {', '.join(failed)} (see stderr)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the side-by-side gateway costs the client: plain mitmdump against each phase.

Two fast local upstreams (`benchmarks.upstream`, 2 KB JSON bodies) stand for
the monolith and the candidate, and a third for a slow candidate answering
500 ms late. wrk sends GETs to 512 distinct URLs. Each case is a fresh
mitmdump in reverse-proxy mode in front of the monolith:

- ``plain``: mitmdump alone, no addon;
- ``monolith``: the gateway, every endpoint in the monolith phase;
- ``side-by-side``: the gateway mirroring every request to the fast candidate
  and comparing the answers;
- ``side-by-side, slow candidate``: the same against the 500 ms candidate, to
  show that the mirror never delays the client;
- ``candidate``: the gateway answering from the fast candidate itself.

Two loads per case: ``saturated`` (16 connections: throughput and its p99)
and ``one client`` (one request at a time: the latency a request sees). Cases
alternate within each round and each figure is the median over rounds; the
ratios compare medians of the same run. After each gateway case the
scoreboard (live.json) says how many requests were mirrored and dropped.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks._harness import Result
from benchmarks.bench_proxy import _SCRIPT, _median, _wrk
from examples.processes import free_port, port_open, python, running

__all__ = ["run"]

_SLOW_MS = 500


@dataclass(frozen=True, slots=True)
class _Case:
    name: str
    phase: str | None  # None: plain mitmdump
    candidate: str = "fast"


_CASES = (
    _Case("plain", None),
    _Case("monolith", "monolith"),
    _Case("side-by-side", "side-by-side"),
    _Case("side-by-side, slow candidate", "side-by-side", "slow"),
    _Case("candidate", "candidate"),
)


def _command(case: _Case, ports: dict[str, int], port: int, work: Path) -> list[str]:
    monolith = f"http://127.0.0.1:{ports['monolith']}"
    if case.phase is None:
        mitmdump = Path(sys.executable).with_name("mitmdump")
        return [
            str(mitmdump),
            "--mode",
            f"reverse:{monolith}",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--set",
            "connection_strategy=lazy",
            "--set",
            "flow_detail=0",
        ]
    routes = work / f"{case.name.replace(' ', '-').replace(',', '')}.toml"
    routes.write_text(f'default = "{case.phase}"\n')
    (work / "parity.toml").write_text("[compare]\n")
    return python(
        "-m",
        "parity.cli",
        "shadow",
        "--monolith",
        monolith,
        "--candidate",
        f"http://127.0.0.1:{ports[case.candidate]}",
        "--routes",
        str(routes),
        "--listen",
        f"127.0.0.1:{port}",
        "--live",
        str(work / "live.json"),
        "--config",
        str(work / "parity.toml"),
        "--set",
        "parity_live_interval=0",
    )


def run(quick: bool) -> list[Result]:
    if shutil.which("wrk") is None:
        raise RuntimeError("the gateway benchmark needs wrk: apt-get install wrk")
    rounds, seconds, warmup = (1, 3.0, 1.0) if quick else (3, 10.0, 2.0)
    from benchmarks.upstream import ITEMS

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="parity-bench-")))
        script = work / "items.lua"
        script.write_text(_SCRIPT.replace("{items}", str(ITEMS)))
        ports = {}
        for name, delay in (("monolith", 0), ("fast", 0), ("slow", _SLOW_MS)):
            ports[name] = free_port()
            command = python(
                "-m", "benchmarks.upstream", "--port", str(ports[name]), "--delay-ms", str(delay)
            )
            stack.enter_context(
                running(
                    f"upstream-{name}",
                    command,
                    port=ports[name],
                    log_dir=work,
                    ready=port_open(ports[name]),
                )
            )
        figures: dict[tuple[str, str], list[float]] = {}
        scoreboard: dict[str, dict[str, int]] = {}
        for number in range(rounds):
            for case in _CASES:
                print(f"  round {number + 1}/{rounds}: {case.name}", file=sys.stderr, flush=True)
                port = free_port()
                with running(
                    f"gateway-{number}-{case.name.replace(' ', '-')}",
                    _command(case, ports, port, work),
                    port=port,
                    log_dir=work,
                    ready=port_open(port),
                ) as proxy:
                    _wrk(proxy.url, script, 16, warmup)
                    saturated = _wrk(proxy.url, script, 16, seconds)
                    single = _wrk(proxy.url, script, 1, seconds)
                    assert proxy.stop(signal.SIGTERM) == 0, proxy.output()
                for metric, value in (
                    ("saturated throughput", saturated.rate),
                    ("saturated p99", saturated.p99),
                    ("one client p50", single.p50),
                    ("one client p99", single.p99),
                ):
                    figures.setdefault((case.name, metric), []).append(value)
                if case.phase is not None:
                    live = json.loads((work / "live.json").read_text())
                    totals = scoreboard.setdefault(case.name, {})
                    for entry in live["endpoints"]:
                        for key in (
                            "requests",
                            "mirrored",
                            "mirror_dropped",
                            "fallbacks",
                            "served_by_candidate",
                            "mismatched",
                        ):
                            totals[key] = totals.get(key, 0) + entry[key]
    return _summarise(figures, scoreboard, rounds)


def _summarise(
    figures: dict[tuple[str, str], list[float]], scoreboard: dict[str, dict[str, int]], rounds: int
) -> list[Result]:
    units = {"saturated throughput": "requests/s"}
    results = []
    for (case, metric), values in figures.items():
        results.append(Result("shadow", case, metric, _median(values), units.get(metric, "ms")))
    plain = {metric: _median(v) for (case, metric), v in figures.items() if case == "plain"}
    for (case, metric), values in figures.items():
        if case == "plain" or not plain.get(metric):
            continue
        ratio = _median(values) / plain[metric]
        results.append(Result("shadow", case, f"{metric} / plain", ratio, "x"))
    spread = figures.get(("plain", "one client p99"), [])
    if len(spread) > 1:
        results.append(
            Result("shadow", "plain", "one client p99 spread", max(spread) - min(spread), "ms")
        )
    for case, totals in scoreboard.items():
        for key, value in totals.items():
            results.append(Result("shadow", case, f"{key} (all rounds)", value, "requests"))
    return results

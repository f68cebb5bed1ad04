"""What the recorder costs the proxy: plain mitmdump against mitmdump with the recorder.

A fast local upstream (`benchmarks.upstream`, 2 KB JSON bodies) stands behind
mitmdump in reverse-proxy mode; wrk (Debian's package ``wrk``) sends GETs to
512 distinct URLs through it. Each case is a fresh mitmdump:

- ``plain``: mitmdump with the same options `parity record` sets, no addon;
- ``recorder local``: `parity record` into a local directory store;
- ``recorder s3``: `parity record` into a moto S3 server on 127.0.0.1;
- ``thread writer local``: as ``recorder local`` with ``parity_writer=thread``,
  the writer inside mitmproxy's process: what the writer process saves;
- ``plain <mitmproxy> on <Python>``: with ``PARITY_BENCH_MITMDUMPS`` naming other
  mitmdump executables (another mitmproxy line, another interpreter), each as
  ``plain``, in the same rounds: mitmproxy's own lines compared under one load.

Every recorder case samples 100 % and keeps the request's Authorization header
for the sanitiser to remove. Cases alternate within each round (plain, local,
s3, plain, ...) so a neighbour slowing the machine slows all of them alike;
each figure is the median over rounds, and the ratios compare medians taken in
the same run. Three loads per case:

- ``saturated``: 16 connections for the whole duration, as many requests as
  the proxy can forward: throughput and the latency it comes with (mostly
  time spent queueing);
- ``paced``: 8 connections, each waiting 16 ms between requests (about 500
  requests/s, 40 % of what plain mitmdump forwards here): latency under a
  steady load the proxy keeps up with, as in production;
- ``one client``: one connection, one request at a time: the latency a request
  sees when nothing else is in flight, where added work shows directly.

After each case the recorder is stopped with SIGTERM and its counters are
checked against what wrk sent: a recorder that kept up by dropping would
flatter itself, so the drops are reported too.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks._harness import Result
from examples.processes import free_port, port_open, python, running

__all__ = ["WrkRun", "parse_wrk", "run"]

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_LATENCY = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_REQUESTS = re.compile(r"^\s*(\d+) requests in", re.M)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)

_SCRIPT = """
local n = 0
wrk.headers["Authorization"] = "Bearer benchmark-secret-token"
wrk.headers["Accept"] = "application/json"
request = function()
  n = n + 1
  return wrk.format("GET", "/api/items/" .. (n % {items}) .. "?page=" .. (n % 7))
end
"""
_PACED = """
delay = function()
  return {delay_ms}
end
"""
_PACED_CONNECTIONS = 8
_PACED_DELAY_MS = 16


@dataclass(frozen=True, slots=True)
class WrkRun:
    """What one wrk run printed: requests, requests/s and latency percentiles in ms."""

    requests: int
    rate: float
    p50: float
    p99: float
    errors: str | None


def parse_wrk(output: str) -> WrkRun:
    """The figures of a wrk run with ``--latency``; `errors` names socket errors or non-2xx."""
    latency = {int(p): float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(output)}
    requests, rate = _REQUESTS.search(output), _RATE.search(output)
    if requests is None or rate is None or 50 not in latency or 99 not in latency:
        raise ValueError(f"wrk printed no figures:\n{output}")
    problems = [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith(("Socket errors", "Non-2xx"))
    ]
    return WrkRun(
        int(requests.group(1)),
        float(rate.group(1)),
        latency[50],
        latency[99],
        "; ".join(problems) or None,
    )


def _wrk(url: str, script: Path, connections: int, seconds: float) -> WrkRun:
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    return parse_wrk(done.stdout)


@dataclass(frozen=True, slots=True)
class _Case:
    name: str
    store: str | None  # None: plain mitmdump without the recorder
    writer: str = "process"
    mitmdump: str | None = None  # another mitmdump for a plain case; None: this venv's


def _other_mitmdumps() -> list[_Case]:
    """Plain cases for each mitmdump named in PARITY_BENCH_MITMDUMPS (paths, separated by
    the path separator), named by their mitmproxy and Python versions: mitmproxy lines
    compared in one run, under the same load as this venv's plain mitmdump."""
    cases = []
    for path in filter(None, os.environ.get("PARITY_BENCH_MITMDUMPS", "").split(os.pathsep)):
        said = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
        versions = dict(re.findall(r"^(Mitmproxy|Python):\s*(\S+)", said.stdout, re.M))
        name = f"plain {versions.get('Mitmproxy', '?')} on {versions.get('Python', '?')}"
        cases.append(_Case(name, None, mitmdump=path))
    return cases


def _command(case: _Case, upstream_port: int, port: int, work: Path) -> list[str]:
    if case.store is None:
        mitmdump = case.mitmdump or Path(sys.executable).with_name("mitmdump")
        return [
            str(mitmdump),
            "--mode",
            f"reverse:http://127.0.0.1:{upstream_port}",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--set",
            "connection_strategy=lazy",
            "--set",
            "flow_detail=0",
        ]
    return python(
        "-m",
        "parity.cli",
        "record",
        "--upstream",
        f"http://127.0.0.1:{upstream_port}",
        "--listen",
        f"127.0.0.1:{port}",
        "--store",
        case.store,
        "--recorder-id",
        "bench",
        "--spool-dir",
        str(work / "spool"),
        "--set",
        "parity_stats_interval=0",
        "--set",
        "parity_flush_grace=120",
        "--set",
        f"parity_writer={case.writer}",
    )


def _counter(output: str, name: str) -> int:
    values = re.findall(rf"\b{name} (\d+)", output)
    return int(values[-1]) if values else 0


@contextmanager
def _moto() -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).create_bucket(Bucket="bench")
        yield endpoint
    finally:
        server.stop()


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by the proxy and by its child processes."""
    import psutil

    proxy = psutil.Process(pid)
    own = proxy.cpu_times()
    children = sum(c.cpu_times().user + c.cpu_times().system for c in proxy.children(True))
    return own.user + own.system, children


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def run(quick: bool) -> list[Result]:
    if shutil.which("wrk") is None:
        raise RuntimeError("the proxy benchmark needs wrk: apt-get install wrk")
    rounds, seconds, warmup = (2, 3.0, 1.0) if quick else (3, 10.0, 2.0)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    from benchmarks.upstream import ITEMS

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="parity-bench-")))
        script = work / "items.lua"
        script.write_text(_SCRIPT.replace("{items}", str(ITEMS)))
        paced_script = work / "paced.lua"
        paced_script.write_text(
            script.read_text() + _PACED.replace("{delay_ms}", str(_PACED_DELAY_MS))
        )
        endpoint = stack.enter_context(_moto())
        upstream_port = free_port()
        stack.enter_context(
            running(
                "upstream",
                python("-m", "benchmarks.upstream", "--port", str(upstream_port)),
                port=upstream_port,
                log_dir=work,
                ready=port_open(upstream_port),
            )
        )
        cases = [
            _Case("plain", None),
            _Case("recorder local", str(work / "traffic")),
            _Case("recorder s3", f"s3://bench/traffic?endpoint_url={endpoint}"),
            _Case("thread writer local", str(work / "traffic-thread"), "thread"),
            *_other_mitmdumps(),
        ]
        figures: dict[tuple[str, str], list[float]] = {}
        sent: dict[str, int] = dict.fromkeys((c.name for c in cases), 0)
        captured = dict(sent)
        dropped = dict(sent)
        for number in range(rounds):
            for case in cases:
                print(f"  round {number + 1}/{rounds}: {case.name}", file=sys.stderr, flush=True)
                port = free_port()
                command = _command(case, upstream_port, port, work)
                with running(
                    f"proxy-{number}-{case.name.replace(' ', '-')}",
                    command,
                    port=port,
                    log_dir=work,
                    ready=port_open(port),
                ) as proxy:
                    url = proxy.url
                    cpu_before = _cpu_seconds(proxy.proc.pid)
                    runs = [_wrk(url, script, 16, warmup)]
                    saturated = _wrk(url, script, 16, seconds)
                    paced = _wrk(url, paced_script, _PACED_CONNECTIONS, seconds)
                    single = _wrk(url, script, 1, seconds)
                    runs += [saturated, paced, single]
                    cpu_after = _cpu_seconds(proxy.proc.pid)
                    proxy_cpu, writer_cpu = (
                        b - a for a, b in zip(cpu_before, cpu_after, strict=True)
                    )
                    if proxy.stop(signal.SIGTERM, timeout=180) != 0:
                        raise RuntimeError(f"{case.name} exited badly:\n{proxy.output()}")
                for wrk_run in runs:
                    if wrk_run.errors:
                        raise RuntimeError(f"{case.name}: wrk saw {wrk_run.errors}")
                sent[case.name] += sum(r.requests for r in runs)
                output = proxy.output()
                captured[case.name] += _counter(output, "captured")
                dropped[case.name] += sum(
                    _counter(output, name)
                    for name in ("dropped_queue_full", "dropped_spool_full", "hook_errors")
                )
                requests = sum(r.requests for r in runs)
                for key, value in (
                    ("proxy CPU per request", 1e6 * proxy_cpu / requests),
                    ("writer CPU per exchange", 1e6 * writer_cpu / requests),
                    ("saturated throughput", saturated.rate),
                    ("saturated p50", saturated.p50),
                    ("saturated p99", saturated.p99),
                    ("paced throughput", paced.rate),
                    ("paced p50", paced.p50),
                    ("paced p99", paced.p99),
                    ("one client throughput", single.rate),
                    ("one client p50", single.p50),
                    ("one client p99", single.p99),
                ):
                    figures.setdefault((case.name, key), []).append(value)

    return _summarise(cases, figures, sent, captured, dropped)


_METRICS = (
    "proxy CPU per request",
    "writer CPU per exchange",
    "saturated throughput",
    "saturated p50",
    "saturated p99",
    "paced throughput",
    "paced p50",
    "paced p99",
    "one client throughput",
    "one client p50",
    "one client p99",
)


def _unit(metric: str) -> str:
    if metric.endswith("throughput"):
        return "requests/s"
    return "us" if "CPU" in metric else "ms"


def _summarise(
    cases: list[_Case],
    figures: dict[tuple[str, str], list[float]],
    sent: dict[str, int],
    captured: dict[str, int],
    dropped: dict[str, int],
) -> list[Result]:
    """Medians over rounds; for plain mitmdump also the spread between rounds (the
    noise a difference must exceed); for the recorder the change against plain."""
    results: list[Result] = []
    base = {key: _median(figures[("plain", key)]) for key in _METRICS}
    for case in cases:
        for key in _METRICS:
            rounds = figures[(case.name, key)]
            value = _median(rounds)
            unit = _unit(key)
            results.append(Result("proxy", case.name, key, value, unit))
            if case.store is None:
                results.append(
                    Result("proxy", case.name, f"{key} spread", max(rounds) - min(rounds), unit)
                )
                if case.name != "plain" and unit == "requests/s" and base[key]:
                    results.append(
                        Result("proxy", case.name, f"{key} vs plain", value / base[key], "x")
                    )
            elif key == "paced throughput":
                continue  # fixed by the pacing, not by the proxy
            elif unit == "requests/s":
                loss = 100 * (1 - value / base[key]) if base[key] else 0.0
                results.append(Result("proxy", case.name, f"{key} loss", loss, "%"))
            else:
                results.append(Result("proxy", case.name, f"{key} added", value - base[key], unit))
        if case.store is not None:
            results.append(Result("proxy", case.name, "requests sent", sent[case.name], "requests"))
            results.append(Result("proxy", case.name, "captured", captured[case.name], "exchanges"))
            results.append(Result("proxy", case.name, "dropped", dropped[case.name], "exchanges"))
    return results

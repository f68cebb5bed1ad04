"""Nothing not shown safe reaches a candidate: through a real recorder, replay, noise runs
and the gateway's mirror, with a service that logs every request it receives."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest

from examples.processes import parity, port_open, python, running
from parity.traffic.exchange import Request
from tests.conftest import free_port
from tests.test_safety import SAFE, UNSAFE

pytestmark = pytest.mark.e2e

#: Every shape, tagged so that the logging service says which one it received.
SHAPES: dict[str, Request] = {
    **{f"safe:{i}": request for i, request in enumerate(SAFE.values())},
    **{f"unsafe:{i}": request for i, (request, _) in enumerate(UNSAFE.values())},
}


def send_all(base: str, shapes: dict[str, Request] = SHAPES) -> None:
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        for tag, request in shapes.items():
            headers = [(n, v) for n, v in request.headers if n.lower() != "host"]
            answer = client.request(
                request.method,
                request.path,
                params=list(request.query),
                headers=[*headers, ("X-Shape", tag)],
                content=request.body.content,
            )
            assert answer.status_code == 200, (tag, answer.status_code, answer.text)


def shadow(
    monolith: int, candidate: int, gateway: int, routes: Path, live: Path, *settings: str
) -> list[str]:
    """`parity shadow` on these loopback ports, writing live.json at every change."""
    sets = [arg for setting in ("parity_live_interval=0", *settings) for arg in ("--set", setting)]
    return parity(
        "shadow",
        "--monolith",
        f"http://127.0.0.1:{monolith}",
        "--candidate",
        f"http://127.0.0.1:{candidate}",
        "--routes",
        str(routes),
        "--listen",
        f"127.0.0.1:{gateway}",
        "--live",
        str(live),
        *sets,
    )


def received(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [json.loads(line)["shape"] for line in log.read_text().splitlines()]


def wait_for(log: Path, tags: Iterable[str], deadline: float = 20.0) -> None:
    wanted = set(tags)
    until = time.monotonic() + deadline
    while not wanted <= set(received(log)):
        assert time.monotonic() < until, f"{sorted(wanted - set(received(log)))} not received"
        time.sleep(0.1)


def logging_service(port: int, log: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    command = python("-m", "tests.e2e.logging_service", "--port", str(port), "--log", str(log))
    return running(log.stem, command, port=port, log_dir=tmp_path, ready=port_open(port))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """Every shape recorded through `parity record` in front of a logging monolith;
    sanitising off, so that what is replayed is byte for byte what was sent."""
    tmp_path = tmp_path_factory.mktemp("recorded")
    monolith, proxy = free_port(), free_port()
    traffic = tmp_path / "traffic"
    command = parity(
        "record",
        "--upstream",
        f"http://127.0.0.1:{monolith}",
        "--listen",
        f"127.0.0.1:{proxy}",
        "--store",
        str(traffic),
        "--set",
        "parity_sanitize=off",
        "--set",
        "parity_stats_interval=0",
        "--set",
        f"parity_spool_dir={tmp_path / 'spool'}",
    )
    with (
        logging_service(monolith, tmp_path / "monolith.jsonl", tmp_path),
        running("recorder", command, port=proxy, log_dir=tmp_path, ready=port_open(proxy)) as rec,
    ):
        send_all(f"http://127.0.0.1:{proxy}")
        assert rec.stop() == 0, rec.output()
    assert sorted(received(tmp_path / "monolith.jsonl")) == sorted(SHAPES)
    return traffic


def replay(store: Path, target: int, report: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--replay",
            f"--replay-from={store}",
            f"--replay-target=http://127.0.0.1:{target}",
            f"--replay-report={report}",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-q",
            *args,
        ],
        cwd=report.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_replay_and_noise_runs_send_only_what_is_shown_safe(store, tmp_path) -> None:
    candidate, log = free_port(), tmp_path / "candidate.jsonl"
    with logging_service(candidate, log, tmp_path):
        done = replay(store, candidate, tmp_path / "report", "--replay-noise-runs=2", "-rs")
    assert "parity certification" in done.stdout, done.stdout + done.stderr
    got = received(log)
    assert not [tag for tag in got if tag.startswith("unsafe:")], got
    safe = {tag for tag in SHAPES if tag.startswith("safe:")}
    assert set(got) == safe
    assert all(got.count(tag) == 3 for tag in safe)  # the replay and two noise runs
    document = json.loads((tmp_path / "report" / "certification.json").read_text())
    reasons = [reason for e in document["endpoints"] for reason in e["skip_reasons"]]
    skipped = sum(e["skipped"] for e in document["endpoints"])
    assert skipped == len(UNSAFE), done.stdout
    for _, why in UNSAFE.values():
        assert any(why in reason for reason in reasons), (why, reasons)


def test_replay_sends_each_unsafe_shape_once_declared_safe(store, tmp_path) -> None:
    candidate, log = free_port(), tmp_path / "candidate.jsonl"
    with logging_service(candidate, log, tmp_path):
        done = replay(store, candidate, tmp_path / "report", "--replay-unsafe")
    assert "parity certification" in done.stdout, done.stdout + done.stderr
    assert sorted(received(log)) == sorted(SHAPES)


@pytest.mark.parametrize("declared", [False, True], ids=["by default", "mirror_unsafe"])
def test_the_gateway_mirrors_only_what_is_shown_safe(tmp_path, declared) -> None:
    monolith, candidate, gateway = free_port(), free_port(), free_port()
    routes = tmp_path / "routes.toml"
    routes.write_text(
        'default = "monolith"\n\n[[route]]\nendpoint = "*"\nphase = "side-by-side"\n'
        + ("mirror_unsafe = true\n" if declared else "")
    )
    command = shadow(monolith, candidate, gateway, routes, tmp_path / "live.json")
    mirrored = tmp_path / "candidate.jsonl"
    with (
        logging_service(monolith, tmp_path / "monolith.jsonl", tmp_path),
        logging_service(candidate, mirrored, tmp_path),
        running("gateway", command, port=gateway, log_dir=tmp_path, ready=port_open(gateway)) as gw,
    ):
        send_all(f"http://127.0.0.1:{gateway}")
        wait_for(tmp_path / "monolith.jsonl", SHAPES)
        expected = SHAPES if declared else [tag for tag in SHAPES if tag.startswith("safe:")]
        wait_for(mirrored, expected)
        time.sleep(1.0)  # time for a mirror that should not happen to happen
        assert gw.stop() == 0, gw.output()  # and write live.json
    assert sorted(received(mirrored)) == sorted(expected)
    live = json.loads((tmp_path / "live.json").read_text())
    not_mirrored = sum(e["not_mirrored_unsafe"] for e in live["endpoints"])
    assert not_mirrored == (0 if declared else len(UNSAFE))


def test_mirrors_waiting_for_the_judge_do_not_take_the_candidates_slots(tmp_path) -> None:
    # Four slots to the candidate; twelve requests sent while the judge's process is still
    # starting. The mirrors leave their slot once the candidate has answered, so none is
    # dropped for want of one while the comparisons wait.
    monolith, candidate, gateway = free_port(), free_port(), free_port()
    routes = tmp_path / "routes.toml"
    routes.write_text('default = "side-by-side"\n')
    command = shadow(
        monolith, candidate, gateway, routes, tmp_path / "live.json", "parity_mirror_concurrency=4"
    )
    shapes = {tag: request for tag, request in SHAPES.items() if tag.startswith("safe:")}
    shapes = dict(list(shapes.items())[:12])
    assert len(shapes) == 12
    mirrored = tmp_path / "candidate.jsonl"
    with (
        logging_service(monolith, tmp_path / "monolith.jsonl", tmp_path),
        logging_service(candidate, mirrored, tmp_path),
        running("gateway", command, port=gateway, log_dir=tmp_path, ready=port_open(gateway)) as gw,
    ):
        send_all(f"http://127.0.0.1:{gateway}", shapes)
        wait_for(mirrored, shapes)
        assert gw.stop() == 0, gw.output()  # and write live.json
    live = json.loads((tmp_path / "live.json").read_text())
    assert sum(e["mirror_dropped"] for e in live["endpoints"]) == 0
    assert sum(e["mirrored"] for e in live["endpoints"]) == 12


def test_the_logging_service_is_a_real_server(tmp_path) -> None:
    port, log = free_port(), tmp_path / "log.jsonl"
    with logging_service(port, log, tmp_path):
        answer = httpx.request(
            "PURGE", f"http://127.0.0.1:{port}/x", headers={"X-Shape": "s"}, trust_env=False
        )
    assert answer.status_code == 200 and received(log) == ["s"]

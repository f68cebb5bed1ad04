"""The side-by-side gateway in a real mitmdump, in front of the real example services."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from examples.data import COURSES
from examples.processes import parity, port_open, python, running
from fixtures.record import plan
from parity.migration import LIVE_SCHEMA, RoutingTable
from parity.store import iter_exchanges, open_store
from replayer.selection import Selection
from replayer.selection import plan as plan_exchanges
from tests.conftest import free_port

pytestmark = pytest.mark.e2e

VOLATILE = ("request_id", "generated_at")


def without_volatile(content: bytes) -> object:
    try:
        document = json.loads(content)
    except ValueError:
        return content
    if isinstance(document, dict):
        for name in VOLATILE:
            document.pop(name, None)
        document.get("extensions", {}).pop("request_id", None)
        document.get("extensions", {}).pop("generated_at", None)
    return document


def send(client: httpx.Client, call) -> httpx.Response:
    return client.request(
        call.method,
        call.path,
        params=call.params or None,
        content=call.body or None,
        headers=list(call.headers),
    )


def plan_store(store: Path) -> list:
    return plan_exchanges(open_store(store), Selection())


def _writes(call) -> bool:
    return call.path.endswith("/enrolments") or b"mutation" in call.body


#: Long enough for the gateway's once-a-second look at the routing table.
ROUTES_SEEN = 2.5


def write_routes(path: Path, text: str, stamp: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(stamp, stamp))  # a new stamp, however fast the file system


def test_side_by_side_then_candidate_with_fallback_and_a_bad_table(tmp_path) -> None:
    monolith, candidate, gateway = free_port(), free_port(), free_port()
    routes = tmp_path / "routes.toml"
    write_routes(routes, 'default = "side-by-side"\n', 1)
    (tmp_path / "parity.toml").write_text('[compare]\nunordered_paths = ["$..tags"]\n')
    live = tmp_path / "live.json"
    store = tmp_path / "traffic"
    command = parity(
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
        "--config",
        str(tmp_path / "parity.toml"),
        "--store",
        str(store),
        "--set",
        "parity_live_interval=0",
        "--set",
        "parity_stats_interval=0",
        "--set",
        f"parity_spool_dir={tmp_path / 'spool'}",
    )
    with (
        running(
            "monolith",
            python("-m", "examples.monolith", "--port", str(monolith)),
            port=monolith,
            log_dir=tmp_path,
        ),
        running(
            "candidate",
            python("-m", "examples.candidate", "--port", str(candidate)),
            port=candidate,
            log_dir=tmp_path,
        ) as candidate_process,
        running(
            "gateway", command, port=gateway, log_dir=tmp_path, ready=port_open(gateway)
        ) as proxy,
        httpx.Client(base_url=proxy.url, trust_env=False, timeout=10) as client,
        httpx.Client(
            base_url=f"http://127.0.0.1:{monolith}", trust_env=False, timeout=10
        ) as direct,
    ):
        # Side by side: every answer is the monolith's, as the monolith gives it. Writes
        # come last: they reach the monolith only, and would make later reads differ.
        reads = [call for call in plan() if not _writes(call)]
        for _ in range(2):
            for call in reads:
                through = send(client, call)
                assert through.headers["server"] == "learning-monolith/1.0"
                if call.method == "GET":
                    straight = send(direct, call)
                    assert through.status_code == straight.status_code, call
                    assert without_volatile(through.content) == without_volatile(straight.content)
        enrolled = client.post("/api/users/1/enrolments", json={"course_id": COURSES[2].id})
        assert enrolled.status_code == 201 and enrolled.headers["server"] == "learning-monolith/1.0"
        time.sleep(1.0)  # the mirrors finish

        # The candidate answers; a table with an error is refused and the old one kept.
        write_routes(routes, 'default = "candidate"\n', 2)
        time.sleep(ROUTES_SEEN)
        assert client.get("/api/users/1").headers["server"] == "learning-candidate/2.0"
        write_routes(routes, 'default = "sideways"\n', 3)
        time.sleep(ROUTES_SEEN)
        assert client.get("/api/users/2").headers["server"] == "learning-candidate/2.0"

        # The candidate stops: the monolith answers instead, and the client never knows.
        assert candidate_process.stop(signal.SIGTERM) == 0
        for user in range(1, 6):
            answer = client.get(f"/api/users/{user}")
            assert answer.status_code == 200
            assert answer.headers["server"] == "learning-monolith/1.0"
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()

    output = proxy.output()
    assert (
        "default is 'sideways'" in output and "still routing by the table loaded before" in output
    )
    written = json.loads(live.read_text())
    # Written under the table routing at the end: the last good one, not the one in error.
    assert written["schema_version"] == LIVE_SCHEMA
    assert written["routing_table"] == RoutingTable.parse({"default": "candidate"}).fingerprint()
    endpoints = {e["endpoint"]: e for e in written["endpoints"]}
    mismatched = {name for name, e in endpoints.items() if e["mismatched"]}
    assert mismatched == {"GET /api/users/{id}/progress"}  # the candidate's real bug, only
    progress = endpoints["GET /api/users/{id}/progress"]
    assert {path.rsplit(".", 1)[-1] for path in progress["differing_paths"]} >= {"percent"}
    assert sum(e["noise"] for e in endpoints.values()) > 0  # request ids: noise, not mismatch
    enrol = endpoints["POST /api/users/{id}/enrolments"]
    assert enrol["mirrored"] == 0 and enrol["not_mirrored_unsafe"] > 0
    users = endpoints["GET /api/users/{id}"]
    assert users["served_by_candidate"] >= 2 and users["fallbacks"] >= 5
    assert users["latency_ms"]["monolith"]["p50"] is not None
    assert users["latency_ms"]["candidate"]["count"] >= users["served_by_candidate"]

    # Recorded beside the gateway: who answered, and the candidate's mirrored answers.
    stored = list(iter_exchanges(open_store(store)))
    answered = Counter(e.meta.get("answered_by") for e in stored if not e.meta.get("mirror"))
    assert answered["candidate"] >= 2 and answered["monolith"] > 100
    mirrors = [e for e in stored if e.meta.get("mirror")]
    assert len(mirrors) == sum(e["mirrored"] - e["candidate_errors"] for e in endpoints.values())
    progress_mirror = next(e for e in mirrors if e.endpoint == "GET /api/users/{id}/progress")
    assert "$.items[*].percent" in progress_mirror.meta["mirror"]["differences"]
    assert progress_mirror.response.headers.get("server") == "learning-candidate/2.0"
    assert not [p for p in plan_store(store) if p.id in {m.id for m in mirrors}]  # not tests

"""The gateway's candidate phase, hook by hook: when the monolith may answer instead."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from mitmproxy.test import taddons, tflow, tutils

from gateway.shadow import Shadow
from parity.proxy.naming import ENDPOINT_KEY
from tests.conftest import free_port

BUSY = b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy"
FINE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


async def candidate_answering(port: int, answer_bytes: bytes) -> asyncio.Server:
    """A candidate that answers every request with `answer_bytes`."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer_bytes)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", port)


def flow(method: str, path: str):  # type: ignore[no-untyped-def]
    return tflow.tflow(
        req=tutils.treq(
            method=method.encode(), path=path.encode(), content=b"{}" if method == "POST" else b""
        )
    )


def run_phase(
    tmp_path: Path,
    listening: bool,
    answer: bytes = BUSY,
    *,
    phase: str = "candidate",
    flows: list | None = None,
    **options: Any,
) -> tuple[list, Shadow]:
    routes = tmp_path / "routes.toml"
    routes.write_text(f'default = "{phase}"\n')
    (tmp_path / "parity.toml").write_text("[compare]\n")
    port = free_port()
    if flows is None:
        flows = [flow("GET", "/api/users/1"), flow("POST", "/api/users/1/enrolments")]
    addon = Shadow()

    async def scenario() -> None:
        server = await candidate_answering(port, answer) if listening else None
        with taddons.context(addon) as tctx:
            tctx.configure(
                addon,
                parity_candidate=f"http://127.0.0.1:{port}",
                parity_routes=str(routes),
                parity_live=str(tmp_path / "live.json"),
                parity_compare_config=str(tmp_path / "parity.toml"),
                parity_live_interval=0,
                **options,
            )
            addon.running()
            for each in flows:
                each.response = None
                await addon.request(each)
            await addon.done()
            await tctx.master.done()
        if server is not None:
            server.close()

    asyncio.run(scenario())
    return flows, addon


def test_a_failing_candidate_hands_reads_over_but_not_writes_it_may_have_done(tmp_path) -> None:
    (read, write), addon = run_phase(tmp_path, listening=True)
    assert read.response is None  # on to the monolith
    assert write.response is not None and write.response.status_code == 503
    counts = {e: s.counts for e, s in addon.scores.items()}
    assert counts["GET /api/users/{id}"]["fallbacks"] == 1
    assert counts["POST /api/users/{id}/enrolments"]["unsafe_not_repeated"] == 1


def test_a_candidate_that_refuses_the_connection_never_saw_the_write(tmp_path) -> None:
    (read, write), addon = run_phase(tmp_path, listening=False)
    assert read.response is None and write.response is None  # both on to the monolith
    assert addon.scores["POST /api/users/{id}/enrolments"].counts["fallbacks"] == 1


def test_the_candidates_answer_is_framed_by_its_length_for_keep_alive(tmp_path) -> None:
    (read, _), _ = run_phase(tmp_path, listening=True, answer=FINE)
    assert read.response is not None and read.response.status_code == 200
    assert read.response.headers["content-length"] == "2"  # no close-delimited answers
    assert read.response.content == b"{}"


def test_endpoints_are_named_by_the_recorders_templates(tmp_path) -> None:
    (read, write), addon = run_phase(
        tmp_path, listening=False, parity_template=["GET /api/users/{user}"]
    )
    assert read.metadata[ENDPOINT_KEY] == "GET /api/users/{user}"
    assert write.metadata[ENDPOINT_KEY] == "POST /api/users/{id}/enrolments"  # inferred
    assert sorted(addon.scores) == ["GET /api/users/{user}", "POST /api/users/{id}/enrolments"]


def _word(number: int) -> str:
    """A path segment of letters only, different for each number (never taken for an id)."""
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not number:
            return "page" + letters


def test_endpoints_past_the_limit_are_counted_under_one_overflow_entry(tmp_path) -> None:
    import json

    from gateway.shadow import OVERFLOW

    flows = [flow("GET", f"/{_word(i)}") for i in range(40)]
    _, addon = run_phase(
        tmp_path, listening=False, phase="monolith", flows=flows, parity_live_endpoints=5
    )
    assert len(addon.scores) == 6 and OVERFLOW in addon.scores
    assert addon.scores[OVERFLOW].counts["requests"] == 35
    live = json.loads((tmp_path / "live.json").read_text())
    entries = {e["endpoint"]: e for e in live["endpoints"]}
    assert entries[OVERFLOW]["requests"] == 35 and entries[OVERFLOW]["phase"] == "monolith"
    assert sum(e["requests"] for e in entries.values()) == 40  # nothing uncounted


def test_a_scoreboard_keeps_a_bounded_number_of_difference_sets() -> None:
    from gateway.scoreboard import MAX_SIGNATURES, OTHER_DIFFERENCES, Scoreboard

    board = Scoreboard("GET /x")
    for i in range(MAX_SIGNATURES + 50):
        board.differed((f"$.field{i}",))
    assert len(board.differing) == MAX_SIGNATURES + 1
    assert board.differing[OTHER_DIFFERENCES] == 50
    record = board.to_record({})
    assert record["mismatched"] == MAX_SIGNATURES + 50


def test_a_percentile_is_never_below_the_true_one_and_less_than_a_bucket_above() -> None:
    from gateway.scoreboard import Scoreboard

    for millis in (0.05, 0.8, 1.0, 3.7, 42.0, 999.0, 12_345.0):
        board = Scoreboard("GET /x")
        board.timed("monolith", millis / 1000)
        figures = board.to_record({})["latency_ms"]["monolith"]
        assert millis <= figures["p50"] == figures["p99"] < millis * 2 ** (1 / 16) + 0.001
    board = Scoreboard("GET /x")
    board.timed("candidate", -1.0)  # a clock that went backwards
    record = board.to_record({})
    assert record["latency_ms"]["candidate"] == {
        "p50": 0.001,
        "p99": 0.001,
        "count": 1,
        "buckets": {"0": 1},
    }
    assert record["latency_ms"]["monolith"] == {"p50": None, "p99": None, "count": 0, "buckets": {}}

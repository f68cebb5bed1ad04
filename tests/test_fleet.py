"""A fleet of side-by-side gateways: each writes its own live.json, and `parity report`
and `parity promote` add them up, exactly, or refuse files that do not add up.

The files are written by the gateway addon itself (hook by hook, as in
tests/test_shadow.py), in front of a candidate listening on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from gateway.scoreboard import Scoreboard
from gateway.shadow import Shadow
from parity.cli import main as parity_main
from parity.errors import UsageError
from parity.migration import LIVE_SCHEMA, Phase, RoutingTable, combine_live, read_live
from parity.migration.live import LIVE_COUNTS
from tests.conftest import free_port

ROUTES = """default = "monolith"

[[route]]
endpoint = "GET /api/users/{id}"
phase = "side-by-side"

[[route]]
endpoint = "GET /api/users/{id}/progress"
phase = "side-by-side"

[[route]]
endpoint = "GET /api/courses"
phase = "candidate"
"""

#: The monolith's answers; the candidate's differ at $.percent only.
USER = b'{"id": 1}'
PROGRESS = b'{"percent": 50}'


async def candidate(port: int) -> asyncio.Server:
    """A candidate that answers as the monolith does, but for progress: a wrong percent."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        body = b'{"percent": 40}' if b"/progress" in head.split(b"\r\n", 1)[0] else USER
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", port)


def monolith_answer(flow: http.HTTPFlow, millis: float) -> http.Response:
    body = PROGRESS if flow.request.path.endswith("/progress") else USER
    start = flow.request.timestamp_start
    return tutils.tresp(
        headers=http.Headers(content_type="application/json"),
        content=body,
        timestamp_start=start,
        timestamp_end=start + millis / 1000,
    )


def gateway(directory: Path, routes: str, traffic: list[tuple[str, float]]) -> Path:
    """Run one gateway over `traffic` (paths, and how many milliseconds the monolith takes
    to answer each) as mitmproxy would, and return the live.json it writes when it stops."""
    directory.mkdir()
    (directory / "routes.toml").write_text(routes)
    (directory / "parity.toml").write_text("[compare]\n")
    port = free_port()
    addon = Shadow()

    async def scenario() -> None:
        server = await candidate(port)
        with taddons.context(addon) as tctx:
            tctx.configure(
                addon,
                parity_candidate=f"http://127.0.0.1:{port}",
                parity_routes=str(directory / "routes.toml"),
                parity_live=str(directory / "live.json"),
                parity_compare_config=str(directory / "parity.toml"),
                parity_live_interval=0,
                parity_candidate_timeout=30_000,  # the judge's process starts on first use
            )
            addon.running()
            for path, millis in traffic:
                flow = tflow.tflow(req=tutils.treq(path=path.encode(), content=b""))
                flow.response = None
                await addon.request(flow)
                if flow.response is None:  # on to the monolith, as mitmproxy forwards it
                    flow.response = monolith_answer(flow, millis)
                addon.response(flow)
            await addon.done()
            await tctx.master.done()
        server.close()

    asyncio.run(scenario())
    return directory / "live.json"


def traffic(users: int, progress: int, courses: int, slow: int = 0) -> list[tuple[str, float]]:
    """`users` reads of a user (the last `slow` of them answered in 500 ms, the others in
    10 ms), `progress` reads of a user's progress, `courses` reads of the course list and
    two requests to an endpoint left with the monolith."""
    return (
        [(f"/api/users/{n}", 500.0 if n >= users - slow else 10.0) for n in range(users)]
        + [(f"/api/users/{n}/progress", 20.0) for n in range(progress)]
        + [("/api/courses", 5.0)] * courses
        + [("/health", 1.0)] * 2
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three gateways' live.json: 40 + 40 + 40 mirrored user reads (100 are needed to
    promote), 35 + 35 + 35 course reads served by the candidate."""
    root = tmp_path_factory.mktemp("fleet")
    return [
        gateway(root / "a", ROUTES, traffic(users=40, progress=5, courses=35)),
        gateway(root / "b", ROUTES, traffic(users=40, progress=5, courses=35)),
        gateway(root / "c", ROUTES, traffic(users=40, progress=5, courses=35, slow=2)),
    ]


@pytest.fixture
def routes(tmp_path: Path) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(ROUTES)
    return path


def _live_arguments(files: list[Path]) -> list[str]:
    return [argument for path in files for argument in ("--live", str(path))]


def test_each_gateway_writes_the_routing_table_it_routes_by(fleet, routes) -> None:
    fingerprint = RoutingTable.load(routes).fingerprint()
    for path in fleet:
        document = json.loads(path.read_text())
        assert document["schema_version"] == LIVE_SCHEMA
        assert document["routing_table"] == fingerprint


def test_the_fleets_sum_is_exact(fleet) -> None:
    files = [json.loads(path.read_text()) for path in fleet]
    summed = read_live(fleet)
    assert summed is not None
    assert [g["file"] for g in summed["gateways"]] == [str(path) for path in fleet]
    assert summed["generated_at"] == min(f["generated_at"] for f in files)
    entries = {e["endpoint"]: e for e in summed["endpoints"]}
    each = [{e["endpoint"]: e for e in f["endpoints"]} for f in files]
    assert set(entries) == {
        "GET /api/users/{id}",
        "GET /api/users/{id}/progress",
        "GET /api/courses",
        "GET /health",
    }
    for endpoint, entry in entries.items():
        for field in LIVE_COUNTS:
            assert entry[field] == sum(part[endpoint][field] for part in each), (endpoint, field)
        for side in ("monolith", "candidate"):
            buckets: dict[str, int] = {}
            for part in each:
                for index, count in part[endpoint]["latency_ms"][side]["buckets"].items():
                    buckets[index] = buckets.get(index, 0) + count
            assert entry["latency_ms"][side]["buckets"] == dict(sorted(buckets.items()))
            assert entry["latency_ms"][side]["count"] == sum(buckets.values())
    users, progress = entries["GET /api/users/{id}"], entries["GET /api/users/{id}/progress"]
    assert (users["requests"], users["mirrored"], users["matched"]) == (120, 120, 120)
    assert (progress["mirrored"], progress["mismatched"]) == (15, 15)
    assert progress["differing_paths"] == {"$.percent": 15}
    assert entries["GET /api/courses"]["served_by_candidate"] == 105
    assert entries["GET /api/courses"]["phase"] == "candidate"
    # Two slow answers in 120: the fleet's p99 is the slow one, to the bucket's width.
    assert 500 <= users["latency_ms"]["monolith"]["p99"] < 500 * 1.045
    assert 10 <= users["latency_ms"]["monolith"]["p50"] < 10 * 1.045
    assert each[0]["GET /api/users/{id}"]["latency_ms"]["monolith"]["p99"] < 10 * 1.045


def test_an_endpoint_with_enough_requests_only_in_the_sum_is_promoted(
    fleet, routes, capsys
) -> None:
    assert parity_main(["promote", str(routes), "--live", str(fleet[0])]) == 0
    alone = capsys.readouterr().out
    assert "40 of 40 mirrored requests matched (100.0%); 100 needed" in alone
    assert "no endpoint has the evidence to move forward" in alone

    assert parity_main(["promote", str(routes), *_live_arguments(fleet), "--write"]) == 0
    out = capsys.readouterr().out
    assert "GET /api/users/{id}: side-by-side -> candidate (live: 120 of 120 mirrored" in out
    assert "GET /api/courses: candidate -> candidate-only (live: the candidate served 105" in out
    assert "GET /api/users/{id}/progress: stays side-by-side: 0 of 15 mirrored" in out
    table = RoutingTable.load(routes)
    assert table.route_for("GET /api/users/{id}").phase is Phase.CANDIDATE
    assert table.route_for("GET /api/courses").phase is Phase.CANDIDATE_ONLY
    assert table.route_for("GET /api/users/{id}/progress").phase is Phase.SIDE_BY_SIDE


def test_parity_report_shows_the_fleets_sum(fleet, tmp_path) -> None:
    out = tmp_path / "live.html"
    assert parity_main(["report", *_live_arguments(fleet), "--out", str(out)]) == 0
    page = out.read_text()
    assert "GET /api/users/{id}</td><td>side-by-side</td><td>120</td><td>120</td>" in page
    assert "GET /api/courses</td><td>candidate</td><td>105</td>" in page


def test_latencies_add_up_to_what_one_gateway_seeing_everything_writes() -> None:
    """The sum of three scoreboards' entries is the entry of one scoreboard that saw all
    their traffic: counts, differing paths and every percentile."""
    # 0.4 ms to 1.5 s, unevenly spread, each time taken by several answers on every gateway.
    seconds = [0.0004 * 1.37 ** (n % 27) for n in range(200)]
    paths = [(), ("$.a",), ("$.a", "$.b"), ("$.b",)]
    counted = [c for c in LIVE_COUNTS if c not in ("matched", "noise", "mismatched")]
    whole, parts = Scoreboard("GET /x", "side-by-side"), []
    for gateway_index, share in enumerate((slice(0, 20), slice(20, 150), slice(150, None))):
        part = Scoreboard("GET /x", "side-by-side")
        for n, took in enumerate(seconds[share]):
            for board in (part, whole):
                board.timed("monolith", took)
                board.timed("candidate", took * (1 + n % 5))
                board.differed(paths[(n + gateway_index) % len(paths)])
                board.counts[counted[n % len(counted)]] += 1 + gateway_index
        parts.append(part)
    explained: dict[tuple[str, tuple[str, ...]], bool] = {("GET /x", ("$.b",)): True}  # noise
    documents = [
        (f"{n}.json", _document([part.to_record(explained)])) for n, part in enumerate(parts)
    ]
    (summed,) = combine_live(documents)["endpoints"]
    assert summed == whole.to_record(explained)
    medians = {part.to_record({})["latency_ms"]["monolith"]["p50"] for part in parts}
    assert summed["latency_ms"]["monolith"]["p50"] not in medians  # read again, not picked
    assert summed["noise"] > 0 and summed["mismatched"] > 0


def _document(entries: list[dict[str, Any]], **fields: object) -> dict[str, Any]:
    return {
        "schema_version": LIVE_SCHEMA,
        "generated_at": "2026-11-24T12:00:00+00:00",
        "routing_table": "0123456789abcdef",
        "endpoints": entries,
        **fields,
    }


def _refused(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert parity_main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()  # one sentence
    return line


def test_files_written_under_different_routing_tables_are_refused(
    fleet, routes, tmp_path, capsys
) -> None:
    other = gateway(tmp_path / "d", ROUTES.replace('"candidate"', '"side-by-side"'), [])
    sentence = _refused(["promote", str(routes), *_live_arguments([*fleet[:2], other])], capsys)
    fingerprint = RoutingTable.load(routes).fingerprint()
    assert sentence.startswith(
        f"parity: error: {fleet[0]} and {fleet[1]} (routing table {fingerprint})"
    )
    assert f"and {other} (routing table " in sentence
    assert "were written under different routing tables" in sentence
    assert "same routes.toml" in sentence
    _refused(["report", *_live_arguments([fleet[0], other]), "--out", str(tmp_path / "r")], capsys)
    assert not (tmp_path / "r").exists()


#: live.json as a gateway of schema 1 wrote it: no routing table, percentiles only.
OLD = {
    "schema_version": 1,
    "generated_at": "2026-11-24T12:00:00+00:00",
    "endpoints": [
        {
            "endpoint": "GET /api/users/{id}",
            "phase": "side-by-side",
            **dict.fromkeys(LIVE_COUNTS, 0),
            "requests": 150,
            "mirrored": 150,
            "matched": 150,
            "latency_ms": {
                "monolith": {"p50": 0.8, "p99": 1.2},
                "candidate": {"p50": 1.1, "p99": 2.0},
            },
            "differing_paths": {},
        }
    ],
}


def test_one_old_file_is_read_as_before_and_several_are_refused(
    fleet, routes, tmp_path, capsys
) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps(OLD))
    assert parity_main(["promote", str(routes), "--live", str(old)]) == 0
    assert "GET /api/users/{id}: side-by-side -> candidate" in capsys.readouterr().out

    sentence = _refused(["promote", str(routes), *_live_arguments([old, fleet[0]])], capsys)
    assert sentence == (
        f"parity: error: {old} (live.json schema 1) and {fleet[0]} (live.json schema "
        f"{LIVE_SCHEMA}) were written by different versions of Parity and cannot be added "
        f"up; run every gateway with this Parity, which writes schema {LIVE_SCHEMA}, and give "
        "the files they write then"
    )
    older = tmp_path / "older.json"
    shutil.copy(old, older)
    sentence = _refused(["report", *_live_arguments([old, older])], capsys)
    assert f"{old} and {older} are live.json schema 1, which does not say which routing" in (
        sentence
    )
    assert "or give one file at a time" in sentence


def test_a_file_given_twice_is_refused(fleet, routes, capsys) -> None:
    twice = fleet[0].parent / ".." / fleet[0].parent.name / "live.json"
    sentence = _refused(["promote", str(routes), *_live_arguments([*fleet, twice])], capsys)
    assert sentence == (
        f"parity: error: {twice} is given twice; give each gateway's live.json once, or its "
        "traffic is counted twice"
    )
    with pytest.raises(UsageError, match=r"^a\.json is given twice"):
        combine_live([("a.json", _document([])), ("a.json", _document([]))])


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"schema_version": 3}, "has schema version 3, which this Parity"),
        ({"routing_table": None}, "it names no routing table"),
        ({"generated_at": "noon"}, "its generated_at 'noon' is not a time"),
        ({"endpoints": {"GET /x": {}}}, "it has no list of endpoints"),
    ],
)
def test_a_file_that_is_not_what_a_gateway_writes_is_refused(change, said) -> None:
    good = ("good.json", _document([]))
    with pytest.raises(UsageError, match=rf"^b\.json.*{re.escape(said)}"):
        combine_live([good, ("b.json", _document([], **change))])


def test_entries_that_do_not_add_up_are_refused() -> None:
    entry = Scoreboard("GET /x", "side-by-side").to_record({})
    good = ("good.json", _document([entry]))
    for bad, said in [
        ({**entry, "mirrored": -1}, "GET /x's mirrored is -1, not a count"),
        ({**entry, "fallbacks": True}, "GET /x's fallbacks is True, not a count"),
        ({**entry, "retries": 3}, "GET /x has 'retries', which Parity cannot add up"),
        ({**entry, "differing_paths": {"$.a": "2"}}, "GET /x's differing paths are not counts"),
        (
            {**entry, "latency_ms": {"monolith": {"buckets": {"x": 1}}, "candidate": {}}},
            "GET /x's monolith latency buckets are not numbered",
        ),
    ]:
        with pytest.raises(
            UsageError, match=rf"^b\.json: {re.escape(said)}.*a gateway of this Parity wrote$"
        ):
            combine_live([good, ("b.json", _document([bad]))])
    with pytest.raises(UsageError, match="it lists GET /x twice"):
        combine_live([good, ("b.json", _document([entry, entry]))])


def test_endpoints_in_different_phases_on_different_gateways_are_mixed() -> None:
    """A gateway that last saw an endpoint before the table changed says its old phase."""
    before = Scoreboard("GET /x", "side-by-side").to_record({})
    after = Scoreboard("GET /x", "candidate").to_record({})
    summed = combine_live([("a.json", _document([before])), ("b.json", _document([after]))])
    assert summed["endpoints"][0]["phase"] == "mixed"

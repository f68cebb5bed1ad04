"""The recorder addon driven through mitmproxy's test helpers: no sockets, a real local store."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons, tflow, tutils

from parity.proxy.naming import ENDPOINT_KEY, META_KEY
from parity.store import iter_exchanges, open_store
from recorder.addon import Recorder


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> None:
    """The default spool lives under the cache directory: keep it out of the home directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def run_recorder(
    tmp_path: Path,
    feed: Callable[[Recorder], None],
    recorder: Recorder | None = None,
    **options: Any,
) -> tuple[Recorder, list]:
    """Configure a recorder on a fresh store, feed it flows, shut it down, read the store."""
    addon = recorder or Recorder()
    store = tmp_path / "traffic"

    async def scenario() -> None:
        with taddons.context(addon) as tctx:
            tctx.configure(
                addon,
                parity_store=str(store),
                parity_spool_dir=str(tmp_path / "spool"),
                parity_recorder_id="test-rec",
                parity_stats_interval=0,
                **options,
            )
            addon.running()
            feed(addon)
            addon.done()
            await tctx.master.done()

    asyncio.run(scenario())
    stored = list(iter_exchanges(open_store(store))) if store.exists() else []
    return addon, stored


def json_flow(path: str = "/api/users/1", body: bytes = b'{"id": 1}', **request: Any) -> Any:
    flow = tflow.tflow(
        req=tutils.treq(path=path.encode(), **request),
        resp=tutils.tresp(content=body, headers=[(b"content-type", b"application/json")]),
    )
    return flow


def test_a_finished_flow_is_recorded_faithfully(tmp_path) -> None:
    flow = json_flow(
        headers=[(b"Accept", b"application/json"), (b"X-Trace", b"a"), (b"x-trace", b"b")]
    )
    flow.request.query = [("fields", "name"), ("fields", "email")]
    addon, stored = run_recorder(tmp_path, lambda a: a.response(flow))
    (exchange,) = stored
    assert exchange.endpoint == "GET /api/users/{id}"
    assert exchange.recorder_id == "test-rec"
    assert exchange.request.path == "/api/users/1"
    assert exchange.request.query.get_all("fields") == ["name", "email"]
    assert exchange.request.headers.get_all("x-trace") == ["a", "b"]
    assert exchange.response.status == 200
    assert exchange.response.body.content == b'{"id": 1}'
    assert addon.stats()["captured"] == 1


def test_credentials_never_reach_the_store(tmp_path) -> None:
    flow = json_flow(headers=[(b"Authorization", b"Bearer secret"), (b"Cookie", b"session=s3cr3t")])
    flow.response.headers["Set-Cookie"] = "session=new"
    flow.request.headers["Proxy-Authorization"] = "Basic xyz"
    _, stored = run_recorder(tmp_path, lambda a: a.response(flow))
    (exchange,) = stored
    names = {name.lower() for name, _ in exchange.request.headers} | {
        name.lower() for name, _ in exchange.response.headers
    }
    assert not names & {"authorization", "cookie", "set-cookie", "proxy-authorization"}
    raw = b"".join(p.read_bytes() for p in (tmp_path / "traffic").rglob("*.zst"))
    assert b"s3cr3t" not in raw  # (compressed, but a short secret would survive verbatim)
    changed = exchange.meta["sanitised"]["changed"]
    assert {name for name in changed if name.startswith("header:")} == {
        "header:authorization",
        "header:cookie",
        "header:proxy-authorization",
        "header:set-cookie",
    }


def test_the_filter_expression_selects_flows(tmp_path) -> None:
    flows = [json_flow("/health"), json_flow("/api/users/2")]
    addon, stored = run_recorder(
        tmp_path, lambda a: [a.response(f) for f in flows], parity_filter="!~u /health"
    )
    assert [e.request.path for e in stored] == ["/api/users/2"]
    assert addon.stats()["filtered"] == 1


def test_sampling_keeps_each_endpoints_floor_then_the_rate(tmp_path) -> None:
    flows = [json_flow(f"/api/users/{i}") for i in range(20)] + [json_flow("/api/rare")]
    addon, stored = run_recorder(
        tmp_path,
        lambda a: [a.response(f) for f in flows],
        parity_sample_rate="0",
        parity_endpoint_floor=3,
    )
    paths = [e.request.path for e in stored]
    assert paths == ["/api/users/0", "/api/users/1", "/api/users/2", "/api/rare"]
    assert addon.stats()["sampled_out"] == 17


def test_a_cap_stops_a_hot_endpoint(tmp_path) -> None:
    flows = [json_flow(f"/api/users/{i}") for i in range(10)]
    addon, stored = run_recorder(
        tmp_path, lambda a: [a.response(f) for f in flows], parity_endpoint_cap=4
    )
    assert len(stored) == 4
    assert addon.stats()["capped"] == 6


def test_large_bodies_are_truncated_keeping_size_and_digest(tmp_path) -> None:
    import hashlib

    body = b"x" * 5000
    _, stored = run_recorder(
        tmp_path, lambda a: a.response(json_flow(body=body)), parity_max_body=100
    )
    recorded = stored[0].response.body
    assert recorded.content == body[:100]
    assert recorded.truncated
    assert recorded.size == 5000
    assert recorded.sha256 == hashlib.sha256(body).hexdigest()


def test_compressed_bodies_are_stored_decoded(tmp_path) -> None:
    flow = json_flow()
    flow.response.headers["content-encoding"] = "gzip"
    flow.response.raw_content = gzip.compress(b'{"id": 1, "title": "Algebra"}')
    _, stored = run_recorder(tmp_path, lambda a: a.response(flow))
    response = stored[0].response
    assert response.body.content == b'{"id": 1, "title": "Algebra"}'
    assert "content-encoding" not in response.headers
    assert stored[0].meta["response_content_encoding"] == "gzip"


def test_a_compression_bomb_is_kept_as_sent_not_expanded(tmp_path) -> None:
    flow = json_flow()
    bomb = gzip.compress(b"\0" * (64 << 20))
    flow.response.headers["content-encoding"] = "gzip"
    flow.response.raw_content = bomb
    _, stored = run_recorder(tmp_path, lambda a: a.response(flow), parity_max_decoded=1 << 20)
    response = stored[0].response
    assert response.body.size == len(bomb)
    assert response.headers.get("content-encoding") == "gzip"
    assert "kept as sent" in stored[0].meta["response_body_encoded"]


def test_error_flows_are_recorded_as_errors(tmp_path) -> None:
    flow = tflow.tflow(err=True)
    _, stored = run_recorder(tmp_path, lambda a: a.error(flow))
    (exchange,) = stored
    assert exchange.response is None
    assert exchange.error == flow.error.msg


def test_streamed_and_websocket_flows_are_skipped_and_counted(tmp_path) -> None:
    streamed = json_flow()
    streamed.response.stream = True
    websocket = tflow.twebsocketflow()

    def feed(addon: Recorder) -> None:
        addon.response(streamed)
        addon.response(websocket)

    addon, stored = run_recorder(tmp_path, feed)
    assert stored == []
    assert addon.stats()["skipped_streamed"] == 1
    assert addon.stats()["skipped_websocket"] == 1


def test_correlation_comes_from_traceparent_then_request_id(tmp_path) -> None:
    traced = json_flow(
        headers=[(b"traceparent", b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]
    )
    tagged = json_flow(headers=[(b"X-Request-ID", b"req-42")])
    plain = json_flow()
    _, stored = run_recorder(tmp_path, lambda a: [a.response(f) for f in (traced, tagged, plain)])
    assert [e.correlation_id for e in stored] == [
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "req-42",
        None,
    ]


def test_calls_through_a_forward_proxy_are_marked_outbound(tmp_path) -> None:
    from mitmproxy.proxy.mode_specs import ProxyMode

    forward, reverse = json_flow(), json_flow()
    forward.client_conn.proxy_mode = ProxyMode.parse("regular")
    reverse.client_conn.proxy_mode = ProxyMode.parse("reverse:http://127.0.0.1:8000")
    _, stored = run_recorder(tmp_path, lambda a: [a.response(f) for f in (forward, reverse)])
    assert [e.meta.get("outbound") for e in stored] == [True, None]
    _, stored = run_recorder(
        tmp_path / "inbound", lambda a: a.response(json_flow()), parity_direction="inbound"
    )
    assert [e.meta.get("outbound") for e in stored] == [None]


def test_graphql_requests_are_named_by_operation(tmp_path) -> None:
    query = json.dumps({"query": "query GetUser { user(id: 1) { id } }"}).encode()
    flow = json_flow("/graphql", method=b"POST", content=query)
    _, stored = run_recorder(tmp_path, lambda a: a.response(flow))
    assert stored[0].endpoint == "graphql query GetUser"


def test_beside_the_gateway_the_gateways_name_and_facts_are_kept(tmp_path) -> None:
    flow = json_flow("/api/courses/intro")
    flow.metadata[ENDPOINT_KEY] = "GET /api/courses/{slug}"  # named by the gateway's rules
    flow.metadata[META_KEY] = {"phase": "candidate", "answered_by": "candidate"}
    _, stored = run_recorder(tmp_path, lambda a: a.response(flow), parity_sample_rate="0.5")
    assert stored[0].endpoint == "GET /api/courses/{slug}"
    assert stored[0].meta["answered_by"] == "candidate"


def test_an_exception_in_the_hook_leaves_the_response_alone_and_is_counted(
    tmp_path, monkeypatch
) -> None:
    import recorder.addon

    def broken(*args: Any) -> str:
        raise RuntimeError("bug in taking the snapshot")

    monkeypatch.setattr(recorder.addon, "snapshot", broken)
    flow = json_flow()
    before = flow.response.get_state()
    addon, stored = run_recorder(tmp_path, lambda a: a.response(flow))
    assert flow.response.get_state() == before
    assert stored == []
    assert addon.stats()["hook_errors"] == 1


def broken_sanitizer(exchange: Any) -> Any:
    raise RuntimeError("bug in the sanitiser")


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_a_sanitizer_bug_stores_nothing_unsanitised_and_is_counted(tmp_path, writer) -> None:
    flow = json_flow(headers=[(b"Authorization", b"Bearer secret")])
    before = flow.response.get_state()
    addon, stored = run_recorder(
        tmp_path,
        lambda a: a.response(flow),
        recorder=Recorder(sanitizer=broken_sanitizer),
        parity_writer=writer,
    )
    assert flow.response.get_state() == before
    assert stored == []
    assert addon.stats()["prepare_errors"] == 1


def test_a_sanitizer_the_writer_process_cannot_receive_is_refused_clearly(tmp_path) -> None:
    def local(exchange: Any) -> Any:
        return exchange

    addon = Recorder(sanitizer=local)

    async def scenario() -> None:
        with taddons.context(addon) as tctx:
            try:
                with pytest.raises(exceptions.OptionsError, match="parity_writer=thread"):
                    tctx.configure(addon, parity_spool_dir=str(tmp_path / "spool"))
                tctx.configure(addon, parity_writer="thread")
            finally:
                addon.done()
                await tctx.master.done()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("parity_sample_rate", "lots", "parity_sample_rate 'lots' must be a number from 0 to 1"),
        ("parity_sample_rate", "1.5", "must be a number from 0 to 1"),
        (
            "parity_filter",
            "~q ~~ (",
            "parity_filter '~q ~~ (' is not a mitmproxy filter expression",
        ),
        ("parity_recorder_id", "../etc", "recorder id '../etc' cannot name a segment"),
        ("parity_store", "gs://bucket", "unsupported store URL 'gs://bucket'"),
        ("parity_endpoint_cap", -1, "parity_endpoint_cap cannot be negative"),
        ("parity_template", ["users/{id}"], "must start with '/'"),
        ("parity_direction", "sideways", "parity_direction is auto, inbound or outbound"),
        (
            "parity_config",
            "/no/such/parity.toml",
            "parity_config '/no/such/parity.toml' is not a file",
        ),
        (
            "parity_config",
            "{bad_policy}",
            "[sanitize] rules[0] action is 'scramble'; choose one of",
        ),
    ],
)
def test_bad_options_are_refused_naming_the_value(tmp_path, option, value, message) -> None:
    addon = Recorder()
    if value == "{bad_policy}":
        value = str(tmp_path / "parity.toml")
        Path(value).write_text('[sanitize]\nrules = [{ json = "$.a", action = "scramble" }]\n')

    async def scenario() -> None:
        with taddons.context(addon) as tctx:
            try:
                with pytest.raises(exceptions.OptionsError, match=re.escape(message)):
                    tctx.configure(addon, **{"parity_store": str(tmp_path / "t"), option: value})
            finally:
                addon.done()
                await tctx.master.done()

    asyncio.run(scenario())


def test_the_stats_command_reports_the_counters(tmp_path) -> None:
    flows = [json_flow("/health"), json_flow("/api/users/1")]
    addon, _ = run_recorder(
        tmp_path, lambda a: [a.response(f) for f in flows], parity_filter="!~u /health"
    )
    line = addon.stats_command()
    assert "captured 1" in line
    assert "filtered 1" in line
    assert "segments_uploaded 1" in line


def test_a_writer_that_fails_to_start_with_a_bug_leaves_the_proxy_serving(
    tmp_path, monkeypatch, caplog
) -> None:
    # Whatever goes wrong in Parity, the flows go on: the hooks must not raise.
    from recorder.writer import BackgroundWriter

    def broken(self: BackgroundWriter) -> None:
        self._lock_file.close()  # a thread's start cannot fail; this one lets its spool go
        raise TypeError("cannot pickle '_hashlib.HMAC' object")

    monkeypatch.setattr(BackgroundWriter, "start", broken)
    flows = [json_flow(f"/api/users/{i}") for i in range(3)]

    def feed(addon: Recorder) -> None:
        for flow in flows:
            addon.response(flow)

    addon, stored = run_recorder(tmp_path, feed, parity_writer="thread")
    assert stored == [] and addon.writer is None
    assert all(flow.response is not None and flow.error is None for flow in flows)
    assert "nothing will be recorded: the writer failed to start" in caplog.text


def test_endpoints_past_the_tracked_limit_show_in_the_counters(tmp_path, monkeypatch) -> None:
    from recorder import sampling

    monkeypatch.setattr(sampling, "MAX_TRACKED", 2)
    flows = [json_flow(f"/page{'abcdef'[i]}/items") for i in range(6)]

    def feed(addon: Recorder) -> None:
        for each in flows:
            addon.response(each)

    addon, stored = run_recorder(tmp_path, feed, parity_endpoint_cap=100)
    stats = addon.stats()
    assert stats["endpoint_overflow"] == 4
    assert stats["captured"] == 6 and len(stored) == 6

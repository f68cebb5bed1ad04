"""Flows to exchanges, with mitmproxy's own flow factories (no sockets)."""

from __future__ import annotations

import gzip
import hashlib

import pytest
from mitmproxy.test import tflow, tutils

from parity.proxy.convert import BodyLimits, correlation_id, request_of, snapshot, to_exchange
from parity.traffic.exchange import Headers


def convert(flow, limits: BodyLimits | None = None, endpoint: str | None = None):
    return to_exchange(
        snapshot(flow, endpoint),
        "rec",
        limits or BodyLimits(),
        correlation_names=["traceparent", "X-Request-ID"],
    )


def test_the_request_is_kept_as_the_client_sent_it() -> None:
    flow = tflow.tflow(
        resp=True,
        req=tutils.treq(path=b"/a%20b/c?x=1&x=2&y=%C3%A9", method=b"PUT", content=b'{"k": 1}'),
    )
    request = request_of(snapshot(flow))
    assert (request.method, request.path) == ("PUT", "/a%20b/c")
    assert request.query.fields == (("x", "1"), ("x", "2"), ("y", "é"))
    assert request.body.content == b'{"k": 1}'
    assert (request.host, request.port, request.scheme) == ("address", 22, "http")


def test_header_bytes_that_are_not_utf8_survive_as_latin1() -> None:
    flow = tflow.tflow(
        resp=True, req=tutils.treq(headers=[(b"X-Name", b"Zo\xeb"), (b"X-Ok", "Zoë".encode())])
    )
    headers = request_of(snapshot(flow)).headers
    assert headers.get("x-name") == "Zoë"
    assert headers.get("x-ok") == "Zoë"


def test_the_response_body_is_decoded_capped_and_hashed_in_full() -> None:
    body = b'{"name": "Ada"}' * 100
    flow = tflow.tflow(
        resp=tutils.tresp(content=gzip.compress(body), headers=[(b"Content-Encoding", b"gzip")])
    )
    exchange = convert(flow, BodyLimits(max_body=50))
    response = exchange.response
    assert response.body.content == body[:50]
    assert response.body.size == len(body)
    assert response.body.sha256 == hashlib.sha256(body).hexdigest()
    assert "content-encoding" not in response.headers
    assert exchange.meta == {"response_content_encoding": "gzip"}


def test_an_undecodable_body_is_kept_as_sent_and_marked() -> None:
    flow = tflow.tflow(
        resp=tutils.tresp(content=b"not gzip", headers=[(b"Content-Encoding", b"gzip")])
    )
    exchange = convert(flow)
    assert exchange.response.body.content == b"not gzip"
    assert exchange.response.headers.get("content-encoding") == "gzip"
    assert "not valid gzip" in exchange.meta["response_body_encoded"]


def test_an_error_flow_becomes_an_exchange_without_a_response() -> None:
    flow = tflow.tflow(err=True)
    exchange = convert(flow)
    assert exchange.response is None
    assert exchange.error == flow.error.msg
    assert exchange.endpoint == "GET /path"
    assert exchange.started_at == flow.request.timestamp_start


def test_correlation_headers_in_order_of_preference() -> None:
    names = ["traceparent", "X-Request-ID"]
    trace = "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"
    assert correlation_id(Headers([("traceparent", trace), ("X-Request-ID", "r")]), names) == (
        "0af7651916cd43dd8448eb211c80319c"
    )
    assert correlation_id(Headers([("x-request-id", " r-1 ")]), names) == "r-1"
    assert correlation_id(Headers([("traceparent", "garbage")]), names) == "garbage"
    assert correlation_id(Headers(), names) is None


@pytest.mark.parametrize(
    "target",
    [b"/a?x=1&x=2&y=", b"/a?q=%E2%9C%93&plus=a+b", b"/a?bad=%ff%fe", b"/a?x=1#frag", b"*", b"/a?"],
)
def test_the_request_is_decoded_as_mitmproxy_decodes_it(target: bytes) -> None:
    flow = tflow.tflow(resp=True, req=tutils.treq(path=target))
    request = request_of(snapshot(flow))
    assert request.path == flow.request.path.partition("?")[0]
    assert request.query.fields == tuple(flow.request.query.fields)
    assert request.method == flow.request.method

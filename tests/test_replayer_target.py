"""Replay targets send what was recorded, report failures as sentences, and the Replayer
sends ahead of the tests with bounded concurrency and memory.

In-process apps are defined here and named by "tests.test_replayer_target:<name>"; URL
targets talk to real servers on 127.0.0.1: a raw socket server that records the bytes it
receives (and can stay silent, close or reset), and the example candidate.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import http.server
import json
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from examples import data
from examples.processes import answers, free_port, python, running
from parity.traffic.exchange import Body
from replayer import wire
from replayer.target import (
    Replayer,
    Reply,
    TargetError,
    curl_command,
    open_target,
    outgoing,
)
from tests.factories import make_request

THIS = "tests.test_replayer_target"
this_module = sys.modules[__name__]

# A request that trips every shortcut a client could take: a percent-encoded slash,
# dot segments, a query with repeats out of order, repeated and non-ASCII headers,
# a binary body.
RAW_PATH = "/files/a%2Fb/caf%C3%A9/./x/../y"
TRICKY = make_request(
    method="PATCH",
    path=RAW_PATH,
    query=[("tag", "web"), ("q", "x y"), ("tag", "beginner")],
    headers=[
        ("Host", "monolith.test:8000"),
        ("Connection", "keep-alive, X-Hop"),
        ("X-Hop", "1"),
        ("Content-Type", "application/octet-stream"),
        ("X-Multi", "a"),
        ("Content-Length", "999"),
        ("x-multi", "b"),
        ("X-Name", "Zoë"),
    ],
    body=b"\x00\xffbinary\r\n",
)
SENT_HEADERS = [
    ("Content-Type", "application/octet-stream"),
    ("X-Multi", "a"),
    ("x-multi", "b"),
    ("X-Name", "Zoë"),
]
SENT_TARGET = f"{RAW_PATH}?tag=web&q=x+y&tag=beginner"


# -- apps ------------------------------------------------------------------------------------


async def echo_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with what it was given, as JSON."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "path": scope["path"],
        "query_string": scope["query_string"].decode("latin-1"),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "body": base64.b64encode(body).decode(),
    }
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


def echo_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with the environ's text entries and the body, as JSON."""
    seen = {k: v for k, v in environ.items() if isinstance(v, str)}
    seen["body"] = base64.b64encode(environ["wsgi.input"].read()).decode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]


class AsgiCallable:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await echo_asgi(scope, receive, send)


class Holder:
    app = echo_wsgi


async def raising_asgi(scope: Any, receive: Any, send: Any) -> None:
    raise ValueError("bad input")


def raising_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    raise ValueError("bad input")


async def sleeping_asgi(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.sleep(30)


def failing_factory() -> Any:
    raise RuntimeError("no database")


async def _boom(request: StarletteRequest) -> PlainTextResponse:
    raise RuntimeError("boom")


async def _redirect(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse("", 302, {"Location": "/elsewhere", "Set-Cookie": "s=1; Path=/"})


async def _gzipped(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse(gzip.compress(b"hello"), headers={"Content-Encoding": "gzip"})


async def _on_error(request: StarletteRequest, exc: Exception) -> PlainTextResponse:
    return PlainTextResponse("handled", 500)


# Starlette answers 500 through the handler, then re-raises for the server to log.
starlette_app = Starlette(
    routes=[Route("/boom", _boom), Route("/redirect", _redirect), Route("/gzip", _gzipped)],
    exception_handlers={Exception: _on_error},
)


class Tracker:
    """An ASGI app counting requests in flight and what it saw, answering with the path."""

    def __init__(self, delay: float = 0.002) -> None:
        self.delay = delay
        self.in_flight = 0
        self.most = 0
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        self.paths.append(scope["path"])
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})


class ThreadTracker:
    """A WSGI app counting threads in flight."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.002)
        with self.lock:
            self.in_flight -= 1
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode()]


class SlowWsgi:
    """A WSGI app that answers when released (or after 10 s)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        self.release.wait(10)
        start_response("200 OK", [])
        return [b"late"]


# -- a raw server ----------------------------------------------------------------------------


class RawServer:
    """A real HTTP/1.1 server on 127.0.0.1 that keeps the bytes of each request it gets.

    `behaviour`: "answer" (200 "ok"), "silent" (never answers), "close" (closes without
    answering) or "reset" (resets the connection).
    """

    def __init__(self, behaviour: str = "answer") -> None:
        self.behaviour = behaviour
        self.received: list[bytes] = []
        self.done = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.05)  # to notice close()
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(body) < length:
                    body += conn.recv(65536)
                self.received.append(head + b"\r\n\r\n" + body)
                if self.behaviour == "silent":
                    self.done.wait(10)
                elif self.behaviour == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif self.behaviour == "answer":
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    )
            except OSError:
                pass

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def raw_server(request: pytest.FixtureRequest) -> Iterator[RawServer]:
    server = RawServer(getattr(request, "param", "answer"))
    try:
        yield server
    finally:
        server.close()


def send(spec: str, request: Any, **options: Any) -> Reply:
    """Open `spec`, send one request, close."""

    async def go() -> Reply:
        target = open_target(spec, **options)
        try:
            return await target.send("key-1", request)
        finally:
            await target.aclose()

    return asyncio.run(go())


def echoed(outcome: Reply) -> dict[str, Any]:
    assert outcome.error is None, outcome.error
    assert outcome.response is not None
    return json.loads(outcome.response.body.content)


def wire_request(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    line, *fields = head.split(b"\r\n")
    pairs = [f.partition(b":") for f in fields]
    return line, [(name, value.strip()) for name, _, value in pairs], body


# -- outgoing() ------------------------------------------------------------------------------


def test_outgoing_rebuilds_the_target_with_the_query_in_recorded_order() -> None:
    method, target, _, body = outgoing(TRICKY)
    assert (method, target, body) == ("PATCH", SENT_TARGET, b"\x00\xffbinary\r\n")
    assert outgoing(make_request(path="/a%20b"))[1] == "/a%20b"  # no "?" without a query


def test_outgoing_drops_hop_by_hop_host_content_length_and_connection_named_headers() -> None:
    request = make_request(
        headers=[
            ("Host", "monolith.test"),
            ("Connection", "Upgrade, X-Internal-Hop"),
            ("Keep-Alive", "timeout=5"),
            ("Accept", "application/json"),
            ("Proxy-Connection", "keep-alive"),
            ("Proxy-Authenticate", "Basic"),
            ("Proxy-Authorization", "Basic eDp5"),
            ("TE", "trailers"),
            ("Trailer", "Expires"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "websocket"),
            ("x-internal-hop", "1"),
            ("Content-Length", "12"),
            ("X-Kept", "yes"),
        ]
    )
    assert outgoing(request)[2] == [("Accept", "application/json"), ("X-Kept", "yes")]
    assert outgoing(TRICKY)[2] == SENT_HEADERS


def test_outgoing_keeps_a_plain_connection_keep_alive() -> None:
    # True of the replay's connection too; an echoing service answers the same with it.
    request = make_request(headers=[("Accept", "*/*"), ("Connection", "keep-alive")])
    assert outgoing(request)[2] == [("Accept", "*/*"), ("Connection", "keep-alive")]
    closing = make_request(headers=[("Accept", "*/*"), ("Connection", "close")])
    assert outgoing(closing)[2] == [("Accept", "*/*")]


def test_extra_headers_replace_recorded_ones_in_place_and_are_appended_otherwise() -> None:
    request = make_request(
        headers=[
            ("Accept", "application/json"),
            ("Authorization", "[REDACTED]"),
            ("Cookie", "a=[REDACTED]"),
            ("cookie", "b=[REDACTED]"),
            ("X-Last", "1"),
        ]
    )
    extra = [("authorization", "Bearer test-token"), ("Cookie", "a=1; b=2"), ("X-Tenant", "t1")]
    assert outgoing(request, extra)[2] == [
        ("Accept", "application/json"),
        ("authorization", "Bearer test-token"),
        ("Cookie", "a=1; b=2"),
        ("X-Last", "1"),
        ("X-Tenant", "t1"),
    ]


@pytest.mark.parametrize(
    ("codings", "recorded", "sent"),
    [
        (
            {"identity", "gzip", "deflate", "br", "zstd"},
            "gzip, deflate, br, zstd",
            "gzip, deflate, br, zstd",
        ),
        (
            {"identity", "gzip", "deflate", "br", "zstd"},
            "gzip;q=1.0, compress, BR;q=0.5, *;q=0",
            "gzip;q=1.0, BR;q=0.5",
        ),
        ({"identity", "gzip", "deflate"}, "br, zstd, gzip", "gzip"),
        ({"identity", "gzip", "deflate"}, "br, zstd", None),
    ],
)
def test_accept_encoding_keeps_only_codings_the_replayer_decodes(
    monkeypatch, codings, recorded, sent
) -> None:
    monkeypatch.setattr(wire, "decodable_codings", lambda: frozenset(codings))
    request = make_request(headers=[("Accept-Encoding", recorded), ("Accept", "*/*")])
    expected = (
        [("Accept", "*/*")] if sent is None else [("Accept-Encoding", sent), ("Accept", "*/*")]
    )
    assert outgoing(request)[2] == expected


def test_decodable_codings_are_those_the_replayer_decodes() -> None:
    assert {"identity", "gzip", "x-gzip", "deflate", "br", "zstd"} == wire.decodable_codings()


# -- what the target receives ----------------------------------------------------------------


@pytest.mark.parametrize("spec", [f"{THIS}:echo_asgi", f"{THIS}:AsgiCallable()"])
def test_an_asgi_app_receives_the_recorded_request(spec) -> None:
    seen = echoed(send(spec, TRICKY))
    assert seen["method"] == "PATCH"
    assert seen["raw_path"] == RAW_PATH  # percent-encoding and dot segments as recorded
    assert seen["path"] == "/files/a/b/café/./x/../y"
    assert seen["query_string"] == "tag=web&q=x+y&tag=beginner"
    headers = [(k, v.encode("latin-1").decode()) for k, v in seen["headers"]]
    assert headers == [
        ("host", "monolith.test:8000"),  # in-process: the host it was recorded on
        *((name.lower(), value) for name, value in SENT_HEADERS),
        ("content-length", "10"),
    ]
    assert base64.b64decode(seen["body"]) == TRICKY.body.content


@pytest.mark.parametrize("spec", [f"{THIS}:echo_wsgi", f"{THIS}:Holder.app"])
def test_a_wsgi_app_receives_the_recorded_request(spec) -> None:
    seen = echoed(send(spec, TRICKY))
    assert seen["REQUEST_METHOD"] == "PATCH"
    assert seen["RAW_URI"] == seen["REQUEST_URI"] == SENT_TARGET
    assert seen["PATH_INFO"] == "/files/a/b/café/./x/../y".encode().decode("latin-1")  # PEP 3333
    assert seen["QUERY_STRING"] == "tag=web&q=x+y&tag=beginner"
    assert seen["CONTENT_TYPE"] == "application/octet-stream"
    assert seen["CONTENT_LENGTH"] == "10"
    assert seen["HTTP_X_MULTI"] == "a,b"  # repeats joined, as WSGI servers do
    assert seen["HTTP_X_NAME"] == "Zoë".encode().decode("latin-1")
    assert seen["HTTP_HOST"] == "monolith.test:8000"
    assert not {"HTTP_X_HOP", "HTTP_CONNECTION", "HTTP_USER_AGENT", "HTTP_ACCEPT"} & seen.keys()
    assert base64.b64decode(seen["body"]) == TRICKY.body.content


def test_a_url_target_receives_the_recorded_request_byte_for_byte(raw_server) -> None:
    outcome = send(raw_server.url + "/base/", TRICKY)
    assert outcome.error is None
    assert outcome.response is not None
    assert (outcome.response.status, outcome.response.body.content) == (200, b"ok")
    line, headers, body = wire_request(raw_server.received[0])
    assert line == f"PATCH /base{SENT_TARGET} HTTP/1.1".encode()
    assert headers == [
        (b"Host", f"127.0.0.1:{raw_server.port}".encode()),
        *((name.encode(), value.encode()) for name, value in SENT_HEADERS),
        (b"Content-Length", b"10"),
    ]
    assert body == TRICKY.body.content


def test_a_host_given_as_an_extra_header_replaces_the_targets_never_joins_it(raw_server) -> None:
    outcome = send(raw_server.url, make_request(), headers=[("Host", "api.example.test")])
    assert outcome.error is None, outcome.error
    _, headers, _ = wire_request(raw_server.received[0])
    assert [value for name, value in headers if name.lower() == b"host"] == [b"api.example.test"]


def test_extra_headers_reach_the_app() -> None:
    request = make_request(headers=[("Authorization", "[REDACTED]"), ("Accept", "*/*")])
    seen = echoed(send(f"{THIS}:echo_asgi", request, headers=[("Authorization", "Bearer t")]))
    assert seen["headers"] == [
        ["host", "monolith.test:8000"],
        ["authorization", "Bearer t"],
        ["accept", "*/*"],
    ]


def test_redirects_are_answers_and_cookies_are_never_sent_back() -> None:
    async def go() -> list[Reply]:
        target = open_target(f"{THIS}:starlette_app")
        try:
            return [await target.send(str(i), make_request(path="/redirect")) for i in range(2)]
        finally:
            await target.aclose()

    for outcome in asyncio.run(go()):
        assert outcome.response is not None
        assert outcome.response.status == 302
        assert outcome.response.headers.get("location") == "/elsewhere"
    seen = echoed(send(f"{THIS}:echo_asgi", make_request(headers=[])))
    assert seen["headers"] == [["host", "monolith.test:8000"]]  # no cookie, no httpx defaults


def test_a_decoded_body_drops_its_content_encoding_like_a_recording() -> None:
    response = send(f"{THIS}:starlette_app", make_request(path="/gzip")).response
    assert response is not None
    assert response.body.content == b"hello"
    assert "content-encoding" not in response.headers
    assert response.reason == "OK"
    assert response.timestamp_start is not None and response.timestamp_end is not None


# -- open_target() ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("examples.candidate:app", "ASGI"),
        ("examples.candidate:create_app()", "ASGI"),
        ("examples.monolith:app", "WSGI"),
        ("examples.monolith:create_app()", "WSGI"),
        (f"{THIS}:echo_asgi", "ASGI"),
        (f"{THIS}:AsgiCallable()", "ASGI"),
        (f"{THIS}:Holder.app", "WSGI"),
    ],
)
def test_open_target_detects_asgi_and_wsgi_apps(spec, kind) -> None:
    outcome = send(spec, make_request(path="/health"))
    assert outcome.response is not None and outcome.response.status in (200, 404)
    target = open_target(spec)
    assert target.description == f"{spec} ({kind}, in-process)"
    asyncio.run(target.aclose())


def test_open_target_describes_a_url_target() -> None:
    target = open_target("http://127.0.0.1:8002/")
    assert target.description == "http://127.0.0.1:8002"
    asyncio.run(target.aclose())


def test_an_app_is_imported_from_the_working_directory(tmp_path, monkeypatch) -> None:
    (tmp_path / "parity_cwd_app.py").write_text(
        "from tests.test_replayer_target import echo_wsgi as app\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "parity_cwd_app", raising=False)
    assert echoed(send("parity_cwd_app:app", make_request()))["PATH_INFO"] == "/api/users/1"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "foo",
            "--replay-target 'foo' is neither a URL (http://host:port) nor an app (module:attr)",
        ),
        (
            "127.0.0.1:8002",
            "--replay-target '127.0.0.1:8002' is neither a URL (http://host:port) nor an app (module:attr)",
        ),
        (
            "no_such_module_xyz:app",
            "cannot import module 'no_such_module_xyz' for --replay-target (ModuleNotFoundError: No module named 'no_such_module_xyz')",
        ),
        (
            "examples.candidate:nope",
            "'examples.candidate:nope' names nothing: module examples.candidate has no attribute nope",
        ),
        (
            "examples.candidate:app.nope",
            "'examples.candidate:app.nope' names nothing: module examples.candidate has no attribute app.nope",
        ),
        ("examples.data:COURSES", "'examples.data:COURSES' is neither an ASGI nor a WSGI app"),
        ("examples.data:Store", "'examples.data:Store' is neither an ASGI nor a WSGI app"),
        (
            f"{THIS}:failing_factory()",
            f"calling failing_factory() for --replay-target '{THIS}:failing_factory()' failed (RuntimeError: no database)",
        ),
        (
            "ftp://example.test",
            "--replay-target 'ftp://example.test' is not a service URL: write it as http://host:port",
        ),
        ("http://", "--replay-target 'http://' is not a service URL"),
    ],
)
def test_bad_specs_are_one_sentence(spec, message) -> None:
    with pytest.raises(TargetError) as raised:
        open_target(spec)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_a_module_that_fails_to_import_is_named(tmp_path, monkeypatch) -> None:
    (tmp_path / "parity_broken_app.py").write_text("raise RuntimeError('missing setting')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(
        TargetError,
        match=r"^cannot import module 'parity_broken_app' for --replay-target \(RuntimeError: missing setting\)$",
    ):
        open_target("parity_broken_app:app")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "--replay-timeout must be more than 0 seconds"),
        ({"concurrency": 0}, "--replay-concurrency must be at least 1"),
        ({"headers": [("Bad Name", "x")]}, "the extra header 'Bad Name'"),
        ({"headers": [("X-Ok", "a\r\nX-Injected: 1")]}, "the extra header 'X-Ok'"),
    ],
)
def test_bad_options_are_refused(options, message) -> None:
    with pytest.raises(TargetError, match=f"^{message}"):
        open_target("examples.candidate:app", **options)


# -- failures become outcomes ----------------------------------------------------------------


def test_a_target_that_is_down_is_reported_as_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    outcome = send(url, make_request())
    assert outcome.response is None
    assert outcome.error == f"connection refused by {url} (is the candidate running?)"
    assert outcome.key == "key-1"


@pytest.mark.parametrize("raw_server", ["silent"], indirect=True)
def test_a_url_target_that_does_not_answer_in_time_times_out(raw_server) -> None:
    outcome = send(raw_server.url, make_request(), timeout=0.3)
    assert (outcome.response, outcome.error) == (
        None,
        "no answer within 0.3 s (raise --replay-timeout)",
    )


@pytest.mark.parametrize(
    ("raw_server", "error"),
    [
        ("reset", "connection reset by http://127.0.0.1:{port}"),
        ("close", "http://127.0.0.1:{port} closed the connection"),
    ],
    indirect=["raw_server"],
)
def test_a_url_target_that_breaks_the_connection_is_reported(raw_server, error) -> None:
    outcome = send(raw_server.url, make_request())
    assert outcome.response is None
    assert outcome.error is not None and outcome.error.startswith(
        error.format(port=raw_server.port)
    )


def test_in_process_apps_that_do_not_answer_in_time_time_out(monkeypatch) -> None:
    message = "no answer within 0.2 s (raise --replay-timeout)"
    assert send(f"{THIS}:sleeping_asgi", make_request(), timeout=0.2).error == message
    slow = SlowWsgi()
    monkeypatch.setattr(this_module, "slow_wsgi", slow, raising=False)
    try:
        assert send(f"{THIS}:slow_wsgi", make_request(), timeout=0.2).error == message
    finally:
        slow.release.set()


@pytest.mark.parametrize("spec", [f"{THIS}:raising_asgi", f"{THIS}:raising_wsgi"])
def test_an_app_that_raises_before_answering_is_reported(spec) -> None:
    outcome = send(spec, make_request())
    assert (outcome.response, outcome.error) == (None, "the app raised ValueError: bad input")


def test_an_app_that_answered_before_raising_gives_its_answer_as_a_server_would() -> None:
    response = send(f"{THIS}:starlette_app", make_request(path="/boom")).response
    assert response is not None
    assert (response.status, response.body.content) == (500, b"handled")


def test_a_truncated_recorded_body_is_not_sent() -> None:
    request = make_request(method="POST", body=Body.of(b"x" * 100, limit=10))
    outcome = send(f"{THIS}:echo_asgi", request)
    assert outcome.response is None
    assert outcome.error == (
        "the recorded request body was cut to 10 of 100 bytes, so it cannot be replayed "
        "(record with a larger parity_max_body)"
    )


def test_a_body_dropped_by_the_sanitiser_is_not_sent_and_the_reason_is_named() -> None:
    # What the sanitiser stores for a body it could not read whole: no bytes, no digest.
    request = make_request(method="POST", body=Body(b"", 120, ""))
    outcome = send(f"{THIS}:echo_asgi", request)
    assert outcome.response is None
    assert outcome.error is not None
    assert outcome.error.startswith("the recorded request body (120 bytes) was dropped when it")
    assert "meta.sanitised.dropped_bodies" in outcome.error


# -- curl_command() --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"", b'{"course_id": "x"}', b"@/etc/passwd", b"\x00\xff\x80 binary"]
)
def test_curl_command_sends_the_same_request(raw_server, body) -> None:
    headers = [("Content-Type", "application/json"), ("X-Empty", ""), ("X-Quote", 'it\'s "q"')]
    command = curl_command(raw_server.url + "/", "PUT", "/a%2Fb/../c?x=1&x=2", headers, body)
    subprocess.run(["bash", "-c", command], check=True, capture_output=True, timeout=10)
    line, received, sent_body = wire_request(raw_server.received[0])
    assert line == b"PUT /a%2Fb/../c?x=1&x=2 HTTP/1.1"
    assert received[1:] == [
        (b"Content-Type", b"application/json"),
        (b"X-Empty", b""),
        (b"X-Quote", b'it\'s "q"'),
        *([(b"Content-Length", str(len(body)).encode())] if body else []),
    ]
    assert sent_body == body


def test_curl_command_of_a_get_is_short() -> None:
    command = curl_command("http://h:1", "GET", "/x?q=a b", [("Accept", "*/*")], b"")
    assert (
        command
        == "curl --silent --show-error --include --globoff --path-as-is --header 'Accept: */*' --header User-Agent: 'http://h:1/x?q=a b'"
    )


# -- Replayer --------------------------------------------------------------------------------


def requests(count: int) -> list[tuple[str, Any]]:
    return [(f"k{i}", make_request(path=f"/r/{i}")) for i in range(count)]


def replayer(spec: str, items: Any, **options: Any) -> Replayer:
    concurrency = options.get("concurrency", 8)
    return Replayer(lambda: open_target(spec, concurrency=concurrency), items, **options)


def body_of(outcome: Reply) -> bytes:
    assert outcome.response is not None, outcome.error
    return outcome.response.body.content


def wait_until(check: Any, deadline: float = 10.0) -> None:
    until = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < until, "gave up waiting"
        time.sleep(0.01)


def test_many_requests_complete_in_order_with_bounded_concurrency(monkeypatch) -> None:
    tracker = Tracker()
    monkeypatch.setattr(this_module, "tracker", tracker, raising=False)
    with replayer(f"{THIS}:tracker", requests(300), concurrency=4, lookahead=32) as replay:
        for i in range(300):
            outcome = replay.outcome(f"k{i}", timeout=10)
            assert (outcome.key, body_of(outcome)) == (f"k{i}", f"/r/{i}".encode())
    assert tracker.paths == [f"/r/{i}" for i in range(300)]  # each sent once, in order
    assert 1 < tracker.most <= 4


def test_a_wsgi_app_gets_at_most_concurrency_threads(monkeypatch) -> None:
    tracker = ThreadTracker()
    monkeypatch.setattr(this_module, "thread_tracker", tracker, raising=False)
    with replayer(f"{THIS}:thread_tracker", requests(60), concurrency=3, lookahead=16) as replay:
        assert [body_of(replay.outcome(f"k{i}", 10)) for i in range(60)] == [
            f"/r/{i}".encode() for i in range(60)
        ]
    assert tracker.most <= 3


def test_outcomes_can_be_taken_in_any_order(monkeypatch) -> None:
    tracker = Tracker(delay=0)
    monkeypatch.setattr(this_module, "tracker", tracker, raising=False)
    keys = [f"k{i}" for i in range(60)]
    random.Random(7).shuffle(keys)
    with replayer(f"{THIS}:tracker", requests(60), concurrency=4, lookahead=8) as replay:
        for key in keys:
            assert body_of(replay.outcome(key, timeout=10)) == f"/r/{key[1:]}".encode()
    assert set(tracker.paths) == {f"/r/{i}" for i in range(60)}


def test_keys_never_asked_for_do_not_block_the_window(monkeypatch) -> None:
    tracker = Tracker(delay=0)
    monkeypatch.setattr(this_module, "tracker", tracker, raising=False)
    with replayer(f"{THIS}:tracker", requests(200), concurrency=2, lookahead=4) as replay:
        for i in range(0, 200, 25):  # as under -k: most tests deselected
            assert body_of(replay.outcome(f"k{i}", timeout=10)) == f"/r/{i}".encode()
        # a passed-over key asked late is still answered
        assert body_of(replay.outcome("k3", timeout=10)) == b"/r/3"
    assert len(tracker.paths) < 200  # passed-over keys beyond the window were never sent


def test_lookahead_bounds_what_is_sent_ahead_of_the_tests(monkeypatch) -> None:
    tracker = Tracker(delay=0)
    monkeypatch.setattr(this_module, "tracker", tracker, raising=False)
    pulled: list[str] = []

    def source() -> Iterator[tuple[str, Any]]:
        for key, request in requests(100):
            pulled.append(key)
            yield key, request

    with replayer(f"{THIS}:tracker", source(), concurrency=2, lookahead=5) as replay:
        time.sleep(0.1)
        assert (len(tracker.paths), len(pulled)) == (0, 0)  # nothing goes before an ask
        assert body_of(replay.outcome("k0")) == b"/r/0"
        assert 2 <= len(tracker.paths) <= 6  # sent ahead, within the window
        for i in range(1, 20):
            assert body_of(replay.outcome(f"k{i}")) == f"/r/{i}".encode()
            # never more than the key asked for and `lookahead` after it
            assert len(tracker.paths) <= i + 6 and len(pulled) <= i + 6
        sent = len(tracker.paths)
        time.sleep(0.1)
        assert len(tracker.paths) == sent  # between asks, nothing new goes out


def test_a_replayer_is_used_only_from_the_thread_that_started_it() -> None:
    with replayer(f"{THIS}:echo_asgi", requests(3)) as replay:
        failed: list[BaseException] = []

        def ask() -> None:
            try:
                replay.outcome("k0", timeout=5)
            except BaseException as exc:
                failed.append(exc)

        other = threading.Thread(target=ask)
        other.start()
        other.join()
        assert [str(e) for e in failed] == [
            "a Replayer is used only from the thread that started it"
        ]
        assert replay.outcome("k0", timeout=5).key == "k0"


class _SlowEcho(http.server.BaseHTTPRequestHandler):
    """Answers with the path after 50 ms, but at once for /r/0."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path != "/r/0":
            time.sleep(0.05)
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_answers_that_come_while_a_test_is_busy_are_not_called_late() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowEcho)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with Replayer(lambda: open_target(url, timeout=0.5), requests(8)) as replay:
            assert body_of(replay.outcome("k0", timeout=5)) == b"/r/0"
            time.sleep(1.0)  # a test twice as long as the timeout, seven answers in flight
            for i in range(1, 8):
                assert body_of(replay.outcome(f"k{i}", timeout=5)) == f"/r/{i}".encode()
    finally:
        server.shutdown()
        server.server_close()


def test_the_next_outcome_follows_the_order_requests_were_given() -> None:
    with replayer(f"{THIS}:echo_asgi", requests(40), concurrency=3, lookahead=4) as replay:
        keys = []
        while (outcome := replay.next_outcome(timeout=5)) is not None:
            keys.append(outcome.key)
        assert keys == [f"k{i}" for i in range(40)]
        assert replay.next_outcome(timeout=5) is None  # and stays at the end


def test_unknown_and_taken_keys_raise_key_error() -> None:
    with replayer(f"{THIS}:echo_asgi", requests(5)) as replay:
        with pytest.raises(
            KeyError, match="'nope' is not one of the requests given to the Replayer"
        ):
            replay.outcome("nope", timeout=10)
        replay.outcome("k1", timeout=10)
        with pytest.raises(KeyError, match=r"'k1' is not one .* or its outcome was taken already"):
            replay.outcome("k1", timeout=10)


def test_a_target_that_cannot_open_is_raised_by_outcome() -> None:
    with replayer("examples.candidate:nope", requests(3)) as replay:
        with pytest.raises(TargetError, match="names nothing"):
            replay.outcome("k0", timeout=10)


def test_a_failing_source_is_raised_once_its_good_requests_are_taken() -> None:
    def source() -> Iterator[tuple[str, Any]]:
        yield from requests(2)
        raise OSError("segment unreadable")

    with replayer(f"{THIS}:echo_asgi", source()) as replay:
        assert replay.outcome("k1", timeout=10).response is not None
        with pytest.raises(OSError, match="segment unreadable"):
            replay.outcome("k2", timeout=10)


def test_close_is_idempotent_and_safe_before_start() -> None:
    never_started = replayer(f"{THIS}:echo_asgi", requests(3))
    never_started.close()
    never_started.close()
    with pytest.raises(RuntimeError, match="start"):
        never_started.outcome("k0")
    replay = replayer(f"{THIS}:echo_asgi", requests(3))
    replay.start()
    assert replay.outcome("k0", timeout=10).response is not None
    replay.close()
    replay.close()
    with pytest.raises(RuntimeError):
        replay.start()


def test_outcome_can_time_out_and_be_asked_again(monkeypatch) -> None:
    slow = SlowWsgi()
    monkeypatch.setattr(this_module, "slow_wsgi", slow, raising=False)
    with replayer(f"{THIS}:slow_wsgi", requests(1)) as replay:
        with pytest.raises(TimeoutError, match=r"no outcome for 'k0' within 0\.1 s"):
            replay.outcome("k0", timeout=0.1)
        slow.release.set()
        assert body_of(replay.outcome("k0", timeout=10)) == b"late"


@pytest.mark.e2e
def test_the_candidate_over_http(tmp_path) -> None:
    port = free_port()
    command = python("-m", "examples.candidate", "--port", str(port))
    ready = answers(f"http://127.0.0.1:{port}/health")
    course = data.COURSES[0].id
    items = [
        ("health", make_request(path="/health")),
        (
            "search",
            make_request(
                path="/api/search", query=[("q", "py"), ("tag", "web"), ("tag", "beginner")]
            ),
        ),
        (
            "thumb",
            make_request(
                path=f"/api/courses/{course}/thumbnail.png",
                headers=[("Accept-Encoding", "gzip, br")],
            ),
        ),
        ("missing", make_request(path="/api/users/99")),
    ]
    with running("candidate", command, port=port, log_dir=tmp_path, ready=ready):
        url = f"http://127.0.0.1:{port}"
        with Replayer(lambda: open_target(url), items) as replay:
            health, search, thumb, missing = (replay.outcome(key, 30) for key, _ in items)
    assert health.response is not None and health.response.status == 200
    assert search.response is not None
    assert json.loads(search.response.body.content)["tag"] == ["web", "beginner"]
    assert thumb.response is not None
    assert thumb.response.body.content == data.thumbnail_png(course)
    assert missing.response is not None and missing.response.status == 404
    assert missing.response.headers.get("server") == "learning-candidate/2.0"

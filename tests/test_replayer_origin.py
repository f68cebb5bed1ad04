"""The candidate's own address in its answers, read as the recorded one."""

from __future__ import annotations

from parity.traffic.exchange import Body, Headers, Response
from replayer.origin import Origin, as_recorded
from tests.factories import make_request

CANDIDATE = Origin.of_url("http://127.0.0.1:8001/prefix")
RECORDED = Origin("https", "api.example.test")


def answer(body: bytes, *headers: tuple[str, str]) -> Response:
    return Response(200, "OK", Headers(list(headers)), Body.of(body), "HTTP/1.1", 0.0, 0.0)


def test_every_form_of_the_candidates_address_reads_as_the_recorded_one() -> None:
    response = answer(
        b'{"url": "http://127.0.0.1:8001/get?a=1", "headers": {"Host": "127.0.0.1:8001"},'
        b' "self": "http:\\/\\/127.0.0.1:8001\\/items\\/1"}',
        ("Location", "http://127.0.0.1:8001/next"),
        ("Link", '<http://127.0.0.1:8001/p/2>; rel="next"'),
    )
    read, places = as_recorded(response, CANDIDATE, RECORDED)
    assert places == 5
    assert read.body.content == (
        b'{"url": "https://api.example.test/get?a=1", "headers": {"Host": "api.example.test"},'
        b' "self": "https:\\/\\/api.example.test\\/items\\/1"}'
    )
    assert read.body.size == len(read.body.content)
    assert read.headers.get("location") == "https://api.example.test/next"
    assert read.headers.get("link") == '<https://api.example.test/p/2>; rel="next"'


def test_a_longer_port_is_not_read_as_the_candidates() -> None:
    candidate = Origin("http", "127.0.0.1:80")
    response = answer(b'{"other": "http://127.0.0.1:8000/x", "mine": "http://127.0.0.1:80/x"}')
    read, places = as_recorded(response, candidate, RECORDED)
    assert places == 1
    assert read.body.content == (
        b'{"other": "http://127.0.0.1:8000/x", "mine": "https://api.example.test/x"}'
    )


def test_an_answer_without_the_address_is_the_same_object() -> None:
    response = answer(b'{"id": 1}', ("Content-Type", "application/json"))
    assert as_recorded(response, CANDIDATE, RECORDED) == (response, 0)
    assert as_recorded(response, RECORDED, RECORDED) == (response, 0)


def test_a_truncated_body_is_left_alone_its_digest_is_what_was_recorded() -> None:
    body = Body.of(b"http://127.0.0.1:8001/" * 10, limit=8)
    response = Response(200, "OK", Headers([]), body, "HTTP/1.1", 0.0, 0.0)
    read, places = as_recorded(response, CANDIDATE, RECORDED)
    assert places == 0 and read.body is body


def test_the_recorded_origin_is_the_host_the_monolith_was_called_as() -> None:
    called = make_request(headers=[("Host", "monolith.test:8000")])
    assert Origin.of_request(called) == Origin("http", "monolith.test:8000")
    bare = make_request(headers=[], scheme="https", host="api.example.test", port=443)
    assert Origin.of_request(bare) == Origin("https", "api.example.test")
    odd = make_request(headers=[], scheme="http", host="::1", port=8080)
    assert Origin.of_request(odd) == Origin("http", "[::1]:8080")

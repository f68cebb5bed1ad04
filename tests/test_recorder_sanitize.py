from __future__ import annotations

from recorder.sanitize import strip_credentials
from tests.factories import make_exchange, make_request, make_response


def test_credential_headers_are_removed_from_both_sides_and_named() -> None:
    exchange = make_exchange(
        request=make_request(headers=[("Authorization", "Bearer t"), ("COOKIE", "a=1"),
                                      ("Accept", "*/*"), ("Proxy-Authorization", "Basic x")]),
        response=make_response(headers=[("Set-Cookie", "a=2"), ("Content-Type", "text/plain")]),
    )  # fmt: skip
    clean = strip_credentials(exchange)
    assert list(clean.request.headers) == [("Accept", "*/*")]
    assert list(clean.response.headers) == [("Content-Type", "text/plain")]
    assert clean.meta["removed_headers"] == [
        "authorization",
        "cookie",
        "proxy-authorization",
        "set-cookie",
    ]


def test_an_exchange_without_credentials_is_returned_as_it_is() -> None:
    exchange = make_exchange()
    assert strip_credentials(exchange) is exchange

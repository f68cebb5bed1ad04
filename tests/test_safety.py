"""Which requests may be sent again without the user's say-so: only those shown safe."""

from __future__ import annotations

import json

import pytest

from parity.traffic.endpoint import EndpointRules, describes, identify
from parity.traffic.safety import effective_method, unsafe_reason
from replayer.selection import Selection, plan
from tests.factories import make_exchange, make_request

DIGEST = "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"
JSON = [("Content-Type", "application/json")]


def gql(body: object, *, headers=JSON, method="POST", query=(), raw: bytes | None = None):  # type: ignore[no-untyped-def]
    content = raw if raw is not None else json.dumps(body).encode()
    return make_request(
        method=method, path="/graphql", headers=headers, body=content, query=list(query)
    )


SAFE = {
    "GET": make_request(),
    "HEAD": make_request(method="HEAD"),
    "OPTIONS": make_request(method="OPTIONS"),
    "TRACE": make_request(method="trace"),
    "a query by POST": gql({"query": "query GetUser { user { id } }"}),
    "an anonymous query": gql({"query": "{ user { id } }"}),
    "a query by GET": make_request(path="/graphql", query=[("query", "{ a }")]),
    "the named query of two": gql(
        {"query": "query A { a } mutation B { b }", "operationName": "A"}
    ),
    "a batch of queries": gql([{"query": "query A { a }"}, {"query": "query B { b }"}]),
    "application/graphql": gql(
        None, headers=[("Content-Type", "application/graphql")], raw=b"query A { a }"
    ),
    "JSON sent as text/plain": gql({"query": "{ a }"}, headers=[("Content-Type", "text/plain")]),
    "a GET overridden to HEAD": make_request(headers=[("X-HTTP-Method-Override", "HEAD")]),
}

UNSAFE = {
    "POST": (make_request(method="POST"), "POST changes state"),
    "PUT": (make_request(method="PUT"), "PUT changes state"),
    "PATCH": (make_request(method="patch"), "PATCH changes state"),
    "DELETE": (make_request(method="DELETE"), "DELETE changes state"),
    "PURGE": (make_request(method="PURGE"), "PURGE is not one of HTTP's safe methods"),
    "MOVE": (make_request(method="MOVE"), "MOVE is not one of"),
    "MKCOL": (make_request(method="MKCOL"), "MKCOL is not one of"),
    "PROPPATCH": (make_request(method="PROPPATCH"), "PROPPATCH is not one of"),
    "GET with X-HTTP-Method-Override": (
        make_request(headers=[("X-HTTP-Method-Override", "DELETE")]),
        "GET overridden to DELETE by its header x-http-method-override: DELETE changes state",
    ),
    "GET with X-HTTP-Method": (make_request(headers=[("X-HTTP-Method", "put")]), "PUT changes"),
    "GET with X-Method-Override": (
        make_request(headers=[("X-Method-Override", "PATCH")]),
        "PATCH changes state",
    ),
    "an empty override header, then another": (
        make_request(headers=[("X-HTTP-Method-Override", ""), ("x-method-override", "PUT")]),
        "GET overridden to PUT by its header x-method-override: PUT changes state",
    ),
    "override headers read in their order of precedence, not as sent": (
        make_request(headers=[("X-HTTP-Method", "PUT"), ("X-HTTP-Method-Override", "DELETE")]),
        "GET overridden to DELETE by its header x-http-method-override",
    ),
    "a repeated override header, the first empty": (
        make_request(headers=[("X-HTTP-Method-Override", ""), ("X-HTTP-Method-Override", "PUT")]),
        "GET overridden to PUT by its header x-http-method-override",
    ),
    "a repeated override header, one value unsafe": (
        make_request(
            headers=[("X-HTTP-Method-Override", "GET"), ("x-http-method-override", "DELETE")]
        ),
        "GET overridden to DELETE by its header x-http-method-override",
    ),
    "GET with ?_method=": (
        make_request(query=[("_method", "DELETE")]),
        "GET overridden to DELETE by its parameter _method",
    ),
    "POST overridden to GET": (
        make_request(method="POST", headers=[("X-HTTP-Method-Override", "GET")]),
        "the method it was sent with is not",
    ),
    "a mutation": (gql({"query": "mutation M { m }"}), "a GraphQL mutation changes state (M)"),
    "a mutation over GET": (
        make_request(path="/graphql", query=[("query", "mutation M { m }")]),
        "a GraphQL mutation changes state",
    ),
    "a subscription": (gql({"query": "subscription S { s }"}), "a GraphQL subscription"),
    "a lone surrogate escape": (
        gql(None, raw=b'{"query": "mutation { a(t: \\"\\ud83d\\") }"}'),
        "cannot read",
    ),
    "a document in the URL of a POST": (
        gql({}, query=[("query", "mutation M { m }")]),
        "a GraphQL document in its URL",
    ),
    "a urlencoded body": (
        gql(
            None,
            headers=[("Content-Type", "application/x-www-form-urlencoded")],
            raw=b"query=mutation+M+%7B+m+%7D",
        ),
        "application/x-www-form-urlencoded is not read",
    ),
    "a multipart upload": (
        gql(
            None,
            headers=[("Content-Type", "multipart/form-data; boundary=x")],
            raw=b'--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            b'{"query": "mutation U($f: Upload!) { up(f: $f) }"}\r\n--x--\r\n',
        ),
        "multipart/form-data is not read",
    ),
    "Relay doc_id": (gql({"doc_id": "1234567890", "variables": {}}), "names its document by id"),
    "documentId": (gql({"documentId": "abc123"}), "names its document by id"),
    "a byte-order mark": (
        gql(None, raw=b"\xef\xbb\xbf" + json.dumps({"query": "{ a }"}).encode()),
        "byte-order mark",
    ),
    "a mutation nested too deep": (
        gql({"query": "mutation { a " + "{ a " * 3000 + "}" * 3001}),
        "nested deeper",
    ),
    "a JSON body nested too deep": (gql(None, raw=b"[" * 5000 + b"]" * 5000), "cannot read"),
    "a persisted query by POST": (
        gql({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": DIGEST}}}),
        "sent without its document",
    ),
    "a persisted query by GET": (
        make_request(
            path="/graphql",
            query=[
                ("extensions", json.dumps({"persistedQuery": {"version": 1, "sha256Hash": DIGEST}}))
            ],
        ),
        "sent without its document",
    ),
    "a batched persisted query": (
        gql(
            [
                {
                    "extensions": {"persistedQuery": {"sha256Hash": DIGEST}},
                    "operationName": "DeleteUser",
                }
            ]
        ),
        "a persisted GraphQL operation (DeleteUser in the batch)",
    ),
    "a batch with one mutation": (
        gql([{"query": "query A { a }"}, {"query": "mutation B { b }"}]),
        "a GraphQL mutation changes state (B in the batch)",
    ),
    "a batch with one part unread": (
        gql([{"query": "query A { a }"}, {"query": "{ oops"}]),
        "cannot read",
    ),
    "a query and a mutation, no operationName": (
        gql({"query": "query A { a } mutation B { b }"}),
        "2 operations and the request names none",
    ),
    "a mismatched operationName": (
        gql({"query": "mutation B { b }", "operationName": "ListUsers"}),
        "operationName 'ListUsers' names no operation",
    ),
    "an empty body": (
        gql(None, raw=b""),
        "cannot read",
    ),
}


@pytest.mark.parametrize("request_", SAFE.values(), ids=SAFE.keys())
def test_requests_shown_safe(request_) -> None:
    assert unsafe_reason(request_) is None


@pytest.mark.parametrize(("request_", "why"), UNSAFE.values(), ids=UNSAFE.keys())
def test_requests_not_shown_safe_say_why(request_, why) -> None:
    reason = unsafe_reason(request_)
    assert reason is not None and why in reason, reason


def test_the_stored_name_is_never_consulted() -> None:
    # A HAR can carry any _parity.endpoint: safety reads the request, not the label.
    for method in ("DELETE", "POST"):
        request = make_request(method=method, path="/api/users/1")
        exchange = make_exchange(request=request, endpoint="graphql query ListUsers")
        assert unsafe_reason(exchange.request) == f"{method} changes state"
        assert not describes("graphql query ListUsers", request)


def test_graphql_is_read_only_on_the_paths_the_rules_name() -> None:
    query = gql({"query": "{ a }"})
    elsewhere = EndpointRules(graphql_paths=("/api/gql",))
    assert unsafe_reason(query) is None
    assert unsafe_reason(query, elsewhere) == "POST changes state"


def test_the_effective_method_says_what_overrode_it() -> None:
    assert effective_method(make_request()) == ("GET", None)
    request = make_request(headers=[("X-HTTP-Method-Override", " delete ")])
    assert effective_method(request) == ("DELETE", "header x-http-method-override")


def test_a_stored_name_fits_its_request_or_is_replaced_for_the_safe_list() -> None:
    request = make_request(method="POST", path="/api/users/7/enrolments")
    assert describes("POST /api/users/{id}/enrolments", request)
    assert describes("POST /api/users/{user_id}/enrolments", request)  # a recorder's template
    assert not describes("POST /api/search", request)
    assert not describes("GET /api/users/{id}/enrolments", request)
    assert identify(request) == "POST /api/users/{id}/enrolments"


def test_a_forged_name_does_not_open_the_safe_list(tmp_path) -> None:
    from parity.store import LocalStore, write_exchanges

    store = LocalStore(tmp_path)
    forged = make_exchange(
        request=make_request(method="DELETE", path="/api/users/1"),
        endpoint="graphql query ListUsers",
    )
    write_exchanges(store, [forged], "rec")
    allow = lambda endpoint: endpoint == "graphql query ListUsers"  # noqa: E731
    [planned] = plan(store, Selection(), allow_unsafe=allow)
    assert planned.unsafe == "DELETE changes state"
    assert planned.skip is not None
    assert "DELETE changes state" in planned.skip
    assert "as 'DELETE /api/users/{id}'" in planned.skip
    assert "does not fit the request" in planned.skip
    declared = plan(store, Selection(), allow_unsafe=lambda e: e == "DELETE /api/users/{id}")
    assert declared[0].skip is None and declared[0].unsafe == "DELETE changes state"

"""Endpoint identity: REST routes, GraphQL operations, rule validation, globs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.errors import UsageError
from parity.traffic.endpoint import DEFAULT_RULES, EndpointRules, identify, matches
from parity.traffic.exchange import Body, Headers, Query, Request

JSON = (("Content-Type", "application/json"),)


def req(
    method: str = "GET",
    path: str = "/",
    query: Iterable[tuple[str, str]] = (),
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Request:
    return Request(
        method, "http", "example.test", 80, path, Query(query), Headers(headers), Body.of(body)
    )


def gql(payload: object, path: str = "/graphql", rules: EndpointRules = DEFAULT_RULES) -> str:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return identify(req("POST", path, headers=JSON, body=body), rules)


# REST inference


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/users/42", "GET /api/users/{id}"),
        ("/api/users/42/progress/7", "GET /api/users/{id}/progress/{id}"),
        ("/api/users/550e8400-e29b-41d4-a716-446655440000", "GET /api/users/{uuid}"),
        ("/api/users/550E8400-E29B-41D4-A716-446655440000", "GET /api/users/{uuid}"),
        ("/api/users/550e8400e29b41d4a716446655440000", "GET /api/users/{uuid}"),
        ("/blobs/da39a3ee5e6b4b0d3255bfef95601890afd80709", "GET /blobs/{hash}"),
        ("/objects/507f1f77bcf86cd799439011", "GET /objects/{hash}"),
        ("/files/" + "ab" * 32, "GET /files/{hash}"),
        ("/share/Xk9_pQ2-vLm8Rt4Zw7Yb3n", "GET /share/{token}"),
        ("/auth/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIz", "GET /auth/{token}"),
        ("/api/v2/users", "GET /api/v2/users"),
        ("/api/courses/thumbnail.png", "GET /api/courses/thumbnail.png"),
        ("/api/items/abc123", "GET /api/items/abc123"),
        ("/api/internationalization", "GET /api/internationalization"),
        (
            "/api/some-very-long-words-without-digits",
            "GET /api/some-very-long-words-without-digits",
        ),
        ("/api/items/%31%32%33", "GET /api/items/{id}"),
        ("/api/caf%C3%A9", "GET /api/caf%C3%A9"),
        ("/api/bad%zz%", "GET /api/bad%zz%"),
    ],
)
def test_inference_replaces_identifier_like_segments(path: str, expected: str) -> None:
    assert identify(req(path=path)) == expected


def test_method_is_upper_cased_and_query_string_ignored() -> None:
    assert identify(req("get", "/api/users/7", query=[("page", "2")])) == "GET /api/users/{id}"
    assert identify(req("delete", "/api/users/7")) == "DELETE /api/users/{id}"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/users/", "GET /api/users"),
        ("//api///users//", "GET /api/users"),
        ("/", "GET /"),
        ("", "GET /"),
        ("///", "GET /"),
    ],
)
def test_trailing_and_repeated_slashes_do_not_make_new_endpoints(path: str, expected: str) -> None:
    assert identify(req(path=path)) == expected


# Declared templates


def test_declared_templates_win_over_inference_and_keep_their_names() -> None:
    rules = EndpointRules(
        templates=("/api/courses/{course_id}/thumbnail.png", "/api/users/{login}")
    )
    assert identify(req(path="/api/courses/9/thumbnail.png"), rules) == (
        "GET /api/courses/{course_id}/thumbnail.png"
    )
    assert identify(req(path="/api/users/alice"), rules) == "GET /api/users/{login}"
    assert identify(req(path="/api/users/alice/"), rules) == "GET /api/users/{login}"
    assert (
        identify(req(path="/api/users/alice/posts/3"), rules) == "GET /api/users/alice/posts/{id}"
    )


def test_the_first_matching_template_wins() -> None:
    rules = EndpointRules(templates=("/api/users/me", "/api/users/{id}"))
    assert identify(req(path="/api/users/me"), rules) == "GET /api/users/me"
    assert identify(req(path="/api/users/bob"), rules) == "GET /api/users/{id}"


def test_method_qualified_templates_only_match_their_method() -> None:
    rules = EndpointRules(templates=("GET /api/users/{id}/progress", "/api/users/{user}/notes"))
    assert identify(req("GET", "/api/users/x/progress"), rules) == "GET /api/users/{id}/progress"
    assert identify(req("PUT", "/api/users/x/progress"), rules) == "PUT /api/users/x/progress"
    assert identify(req("PUT", "/api/users/x/notes"), rules) == "PUT /api/users/{user}/notes"
    assert identify(req("BREW", "/api/users/x/notes"), rules) == "BREW /api/users/{user}/notes"
    assert identify(req("BREW", "/api/users/x/progress"), rules) == "BREW /api/users/x/progress"


def test_path_placeholder_matches_one_or_more_segments() -> None:
    rules = EndpointRules(templates=("/static/{rest:path}",))
    assert identify(req(path="/static/css/site.css"), rules) == "GET /static/{rest:path}"
    assert identify(req(path="/static/app.js"), rules) == "GET /static/{rest:path}"
    assert identify(req(path="/static/"), rules) == "GET /static"


def test_placeholder_matches_exactly_one_non_empty_segment() -> None:
    rules = EndpointRules(templates=("/api/users/{id}",))
    assert identify(req(path="/api/users/a/b"), rules) == "GET /api/users/a/b"
    assert identify(req(path="/api/users"), rules) == "GET /api/users"


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("api/users/{id}", "must start with '/'"),
        ("GET api/users", "must start with '/'"),
        ("/api/users/{id", "unbalanced brace"),
        ("/api/users/id}", "unbalanced brace"),
        ("/api/{{id}}", "unbalanced brace"),
        ("/api/users/{}", "invalid placeholder"),
        ("/api/users/{1st}", "invalid placeholder"),
        ("/api/users/{user id}", "invalid placeholder"),
        ("/api/{id}/posts/{id}", "twice"),
        ("/api/{id:int}", "unknown kind"),
        ("/api/{rest:path}/more", "last segment"),
        ("/api/x{rest:path}", "last segment"),
        ("FETCH /api/users", "unknown method"),
    ],
)
def test_invalid_templates_are_usage_errors_naming_the_template(
    template: str, fragment: str
) -> None:
    with pytest.raises(UsageError) as caught:
        EndpointRules(templates=(template,))
    message = str(caught.value)
    assert repr(template) in message
    assert fragment in message


def test_rules_reject_a_bare_string_and_bad_graphql_paths() -> None:
    with pytest.raises(UsageError, match="list of strings"):
        EndpointRules(templates="/api/users/{id}")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="'graphql'"):
        EndpointRules(graphql_paths=("graphql",))


def test_rules_compare_by_their_configuration() -> None:
    assert EndpointRules(templates=("/a/{b}",)) == EndpointRules(templates=("/a/{b}",))
    assert hash(EndpointRules()) == hash(DEFAULT_RULES)
    assert EndpointRules(templates=["/a/{b}"]).templates == ("/a/{b}",)  # type: ignore[arg-type]


# GraphQL


def test_named_query_and_mutation() -> None:
    assert gql({"query": "query GetUser { user { id } }"}) == "graphql query GetUser"
    assert gql({"query": "mutation EnrolUser { enrol { ok } }", "variables": {"a": 1}}) == (
        "graphql mutation EnrolUser"
    )
    assert gql({"query": "subscription OnTick { tick }"}) == "graphql subscription OnTick"


def test_anonymous_operations_are_named_by_their_normalised_document() -> None:
    tight = gql({"query": "{ user { id } }"})
    loose = gql({"query": "# fetch the user\nquery {\n  user {\n    id\n  }\n}\n"})
    other = gql({"query": "{ user { name } }"})
    assert tight.startswith("graphql query anonymous-")
    assert len(tight.rsplit("-", 1)[1]) == 8
    assert tight == loose
    assert other != tight


def test_operation_name_selects_from_several_operations() -> None:
    document = "query GetUser { user { id } } mutation EnrolUser { enrol { ok } }"
    assert gql({"query": document, "operationName": "EnrolUser"}) == "graphql mutation EnrolUser"
    assert gql({"query": document, "operationName": "GetUser"}) == "graphql query GetUser"
    assert gql({"query": document}) == "graphql invalid: several operations"
    assert gql({"query": document, "operationName": None}) == "graphql invalid: several operations"
    assert gql({"query": document, "operationName": "Missing"}) == (
        "graphql invalid: no such operation"
    )
    assert gql({"query": "query A { a }", "operationName": "B"}) == (
        "graphql invalid: no such operation"
    )


def test_get_requests_carry_the_operation_in_query_parameters() -> None:
    document = "query GetUser { user { id } } query ListCourses { courses { id } }"
    params = [("query", document), ("operationName", "ListCourses")]
    assert identify(req("GET", "/graphql", query=params)) == "graphql query ListCourses"
    assert identify(req("GET", "/graphql/", query=[("query", "query A { a }")])) == (
        "graphql query A"
    )
    assert identify(req("GET", "/graphql")) == "graphql invalid: no document"


def test_application_graphql_body_is_the_document() -> None:
    headers = [("content-type", "application/graphql; charset=utf-8")]
    body = b"query GetUser { user { id } }"
    assert identify(req("POST", "/graphql", headers=headers, body=body)) == "graphql query GetUser"
    assert identify(req("POST", "/graphql", headers=headers, body=b"\xff\xfe")) == (
        "graphql invalid: not UTF-8"
    )


def test_batches_name_each_operation_in_order() -> None:
    batch = [
        {"query": "query GetUser { user { id } }"},
        {"query": "query ListCourses { courses { id } }"},
    ]
    assert gql(batch) == "graphql batch query:GetUser+query:ListCourses"
    # A batch is named by every part, or not at all: one part unread and it is not read.
    assert gql([batch[1], {"query": "{ oops"}]) == "graphql invalid: syntax error"
    assert gql([]) == "graphql invalid: empty batch"


def test_persisted_queries_are_named_by_operation_or_hash() -> None:
    digest = "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"
    persisted = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    assert gql(persisted) == "graphql persisted ecf4edb4"
    assert gql({**persisted, "operationName": "GetUser"}) == "graphql persisted GetUser"
    params = [("extensions", json.dumps(persisted["extensions"]))]
    assert identify(req("GET", "/graphql", query=params)) == "graphql persisted ecf4edb4"
    assert gql({"extensions": {"persistedQuery": {"sha256Hash": "not hex"}}}) == (
        "graphql invalid: no document"
    )


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "not JSON"),
        (b"", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b'"just a string"', "not an object"),
        (b"42", "not an object"),
        (b"null", "not an object"),
        (json.dumps({"variables": {}}).encode(), "no document"),
        (json.dumps({"query": 42}).encode(), "document type"),
        (json.dumps({"query": ["query A { a }"]}).encode(), "document type"),
        (json.dumps({"query": "query A { a "}).encode(), "syntax error"),
        (json.dumps({"query": "fragment F on User { id }"}).encode(), "no operation"),
        (json.dumps({"query": "query A { a }", "operationName": 7}).encode(), "operationName"),
        (json.dumps({"query": "{ a }" * 2}).encode(), "several operations"),
        (b"[" * 5000 + b"]" * 5000, "not JSON"),
        (json.dumps({"query": "{ a " + "{ a " * 3000 + "}" * 3001}).encode(), "too deep"),
        (b'{"query": "mutation { a(t: \\"\\ud83d\\") }"}', "not JSON"),
        (b"\xef\xbb\xbf" + json.dumps({"query": "{ a }"}).encode(), "byte-order mark"),
        (json.dumps({"doc_id": "1234567890"}).encode(), "document id"),
    ],
)
def test_malformed_graphql_is_invalid_and_says_why(body: bytes, why: str) -> None:
    assert gql(body) == f"graphql invalid: {why}"


def test_graphql_paths_are_configurable_and_other_methods_stay_rest() -> None:
    rules = EndpointRules(graphql_paths=("/api/graphql/",))
    assert gql({"query": "query A { a }"}, "/api/graphql", rules) == "graphql query A"
    assert gql({"query": "query A { a }"}, "/graphql", rules) == "POST /graphql"
    assert identify(req("OPTIONS", "/graphql")) == "OPTIONS /graphql"


def test_a_graphql_looking_body_elsewhere_stays_rest() -> None:
    assert gql({"query": "query GetUser { user { id } }"}, "/api/users/5") == (
        "POST /api/users/{id}"
    )


# Never raises


_paths = st.one_of(
    st.text(),
    st.lists(st.sampled_from(["api", "", "42", "%", "%zz", "%C3", "{x}", "graphql", "é"])).map(
        "/".join
    ),
    st.binary().map(lambda raw: quote(raw, safe="/%")),
)


@settings(max_examples=300, deadline=None)
@given(method=st.text(max_size=10), path=_paths, query=st.lists(st.tuples(st.text(), st.text())))
def test_rest_identification_never_raises(
    method: str, path: str, query: list[tuple[str, str]]
) -> None:
    rules = EndpointRules(templates=("/api/{a}/x", "GET /api/{rest:path}"))
    for chosen in (DEFAULT_RULES, rules):
        identity = identify(req(method, path, query=query), chosen)
        assert isinstance(identity, str)
        assert identity


_documents = st.sampled_from(
    ["query A { a }", "{ a }", "mutation M { m }", "query A { a } query B { b }", "{ oops", ""]
)
_payloads = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(), _documents),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["query", "operationName", "extensions", "persistedQuery"]), inner
        ),
    ),
    max_leaves=8,
)
_bodies = st.one_of(st.binary(), _payloads.map(lambda value: json.dumps(value).encode()))


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "post", "PUT"]),
    content_type=st.sampled_from(["application/json", "application/graphql", "text/plain", ""]),
    body=_bodies,
    query=st.lists(st.tuples(st.sampled_from(["query", "operationName", "extensions"]), st.text())),
)
def test_graphql_identification_never_raises(
    method: str, content_type: str, body: bytes, query: list[tuple[str, str]]
) -> None:
    request = req(
        method, "/graphql", query=query, headers=[("Content-Type", content_type)], body=body
    )
    identity = identify(request)
    assert isinstance(identity, str)
    assert identity


# Globs


@pytest.mark.parametrize(
    ("identity", "pattern", "expected"),
    [
        ("GET /api/users/{id}", "GET /api/users/*", True),
        ("GET /api/users/{id}/progress", "GET /api/users/*", True),
        ("POST /api/users/{id}", "GET /api/users/*", False),
        ("GET /api/users/{id}", "get /api/users/*", False),
        ("graphql query GetUser", "graphql query *", True),
        ("graphql mutation EnrolUser", "graphql query *", False),
        ("graphql mutation EnrolUser", "graphql *", True),
        ("GET /api/users/{id}", "GET /api/users/{id}", True),
        ("GET /api/users/{id}", "* /api/users/{id}", True),
        ("GET /api/v1", "GET /api/v?", True),
        ("GET /api/v10", "GET /api/v?", False),
    ],
)
def test_matches_is_a_case_sensitive_glob(identity: str, pattern: str, expected: bool) -> None:
    assert matches(identity, pattern) is expected

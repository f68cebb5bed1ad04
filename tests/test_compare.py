"""Comparing responses: typed differences by path, normalisation rules, hostile bodies."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from parity.compare.differences import Comparison, Difference, DiffKind
from parity.compare.engine import compare
from parity.compare.rules import Rules, RuleSet
from parity.errors import UsageError
from parity.traffic.exchange import Body, Headers, Response, media_type
from tests.factories import make_response

JSON = [("Content-Type", "application/json")]


def json_response(document: Any, **overrides: Any) -> Response:
    return make_response(body=orjson.dumps(document), **overrides)


def diffs(comparison: Comparison) -> list[tuple[str, str, Any, Any]]:
    return [(d.path, d.kind.value, d.expected, d.actual) for d in comparison.differences]


def paths(comparison: Comparison) -> list[tuple[str, str]]:
    return [(d.path, d.kind.value) for d in comparison.differences]


def compare_json(expected: Any, actual: Any, **rules: Any) -> Comparison:
    return compare(json_response(expected), json_response(actual), Rules(**rules))


def digest(content: bytes) -> dict[str, Any]:
    body = Body.of(content)
    return {"sha256": body.sha256, "size": body.size}


# JSON bodies


@pytest.mark.parametrize(
    ("expected", "actual", "found"),
    [
        ({"a": 1, "b": [1, {"c": 2, "d": 3}]}, {"b": [1, {"d": 3, "c": 2}], "a": 1}, []),
        (
            {"users": [{"email": "a@x.test"}]},
            {"users": [{"email": "b@x.test"}]},
            [("$.users[0].email", "changed", "a@x.test", "b@x.test")],
        ),
        ({"id": 1}, {"id": 1, "name": "Ada"}, [("$.name", "added", None, "Ada")]),
        ({"id": 1, "name": "Ada"}, {"id": 1}, [("$.name", "removed", "Ada", None)]),
        ({"id": 1}, {"id": "1"}, [("$.id", "type_changed", 1, "1")]),
        ({"id": 1}, {"id": 1.0}, []),
        ({"percent": 41.7}, {"percent": 41}, [("$.percent", "changed", 41.7, 41)]),
        ({"ok": True}, {"ok": 1}, [("$.ok", "type_changed", True, 1)]),
        ([True, 2], [1, 2], [("$[0]", "type_changed", True, 1)]),
        ([1, 2], [1.0, 2], []),
        ({"a": None}, {"a": {}}, [("$.a", "type_changed", None, {})]),
        ({"a": {"x": 1}}, {"a": [1]}, [("$.a", "type_changed", {"x": 1}, [1])]),
        ([1, 2], [1, 2, 3], [("$[2]", "added", None, 3)]),
        ([1, 2, 3], [0, 1, 2, 3], [("$[0]", "added", None, 0)]),
        (
            [{"id": 1}, {"id": 2}, {"id": 3}],
            [{"id": 1}, {"id": 3}],
            [("$[1]", "removed", {"id": 2}, None)],
        ),
        (
            [{"id": 1}, {"id": 2}, {"id": 3}],
            [{"id": 1}, {"id": 2, "x": 0}, {"id": 3}],
            [("$[1].x", "added", None, 0)],
        ),
        (1, 2, [("$", "changed", 1, 2)]),
        (
            {"odd key": 1, "a.b": 1, "it's": 1, "x[0]": 1, "7": 1},
            {"odd key": 2, "a.b": 2, "it's": 2, "x[0]": 2, "7": 2},
            [
                ("$['7']", "changed", 1, 2),
                ("$['a.b']", "changed", 1, 2),
                ("$['it\\'s']", "changed", 1, 2),
                ("$['odd key']", "changed", 1, 2),
                ("$['x[0]']", "changed", 1, 2),
            ],
        ),
    ],
    ids=[
        "key-order",
        "changed",
        "added-key",
        "removed-key",
        "int-to-str",
        "int-to-float",
        "float-to-smaller-int",
        "bool-to-int",
        "bool-to-int-in-list",
        "int-to-float-in-list",
        "null-to-object",
        "object-to-list",
        "item-appended",
        "item-prepended",
        "item-removed",
        "item-changed",
        "root-scalar",
        "odd-keys",
    ],
)
def test_json_differences(expected: Any, actual: Any, found: list[tuple[str, str, Any, Any]]):
    comparison = compare_json(expected, actual)
    assert diffs(comparison) == found
    assert comparison.matched == (not found)


@pytest.mark.parametrize(
    ("expected", "actual", "found"),
    [
        # JSON has one number type: the same number written three ways.
        (b'{"n": 100}', b'{"n": 100.0}', []),
        (b'{"n": 100}', b'{"n": 1e2}', []),
        (b'{"n": 100.0}', b'{"n": 1E+2}', []),
        # Integers beyond what a double holds compare exactly, written as floats too.
        (b'{"n": 9007199254740993}', b'{"n": 9007199254740992}', [("$.n", "changed")]),
        (b'{"n": 9007199254740993}', b'{"n": 9007199254740992.0}', [("$.n", "changed")]),
        (b'{"n": 9007199254740993}', b'{"n": 9007199254740993}', []),
        # Beyond 64 bits too (orjson would read these as floats and lose the last digits).
        (
            b'{"n": 123456789012345678901234567890}',
            b'{"n": 123456789012345678901234567891}',
            [("$.n", "changed")],
        ),
        (b"[123456789012345678901234567890]", b"[1.2345678901234568e+29]", [("$[0]", "changed")]),
        # Representation only: escapes, key order, a trailing newline.
        ('{"s": "é", "a": 1}'.encode(), b'{"a": 1, "s": "\\u00e9"}\n', []),
        # A change of kind stays a type change.
        (b'{"n": 1}', b'{"n": "1"}', [("$.n", "type_changed")]),
        (b'{"n": []}', b'{"n": null}', [("$.n", "type_changed")]),
        (b'{"n": 0}', b'{"n": false}', [("$.n", "type_changed")]),
    ],
    ids=[
        "int-float",
        "int-exponent",
        "float-exponent",
        "beyond-2^53",
        "beyond-2^53-float",
        "beyond-2^53-equal",
        "beyond-64-bits",
        "beyond-64-bits-float",
        "escapes-order-newline",
        "number-to-string",
        "list-to-null",
        "zero-to-false",
    ],
)
def test_numbers_compare_by_value_as_json_has_one_number_type(
    expected: bytes, actual: bytes, found: list[tuple[str, str]]
) -> None:
    comparison = compare(make_response(body=expected), make_response(body=actual))
    assert paths(comparison) == found


def test_strict_number_types_tells_an_int_from_a_float() -> None:
    rules = Rules(strict_number_types=True)
    comparison = compare(
        make_response(body=b'{"n": 100}'), make_response(body=b'{"n": 100.0}'), rules
    )
    assert diffs(comparison) == [("$.n", "type_changed", 100, 100.0)]
    assert RuleSet.from_config({"strict_number_types": True}).default == rules
    merged = RuleSet.from_config({"endpoints": {"GET /a": {"strict_number_types": True}}})
    assert merged.for_endpoint("GET /a").strict_number_types
    assert not merged.for_endpoint("GET /b").strict_number_types
    with pytest.raises(UsageError, match="strict_number_types must be true or false, not 'yes'"):
        RuleSet.from_config({"strict_number_types": "yes"})
    tolerant = Rules(strict_number_types=True, numeric_tolerance=0.5)
    assert compare(make_response(body=b"[1.0]"), make_response(body=b"[1.2]"), tolerant).matched
    assert not compare(make_response(body=b"[1]"), make_response(body=b"[1.2]"), tolerant).matched


def test_an_inserted_object_is_one_addition_not_a_change_at_every_later_index() -> None:
    rows = [{"n": i, "word": f"w{i}"} for i in range(50)]
    changed = [*rows[:10], {"n": -1, "word": "new"}, *rows[10:]]
    changed[30] = {**changed[30], "word": "renamed"}
    assert diffs(compare_json({"rows": rows}, {"rows": changed})) == [
        ("$.rows[10]", "added", None, {"n": -1, "word": "new"}),
        ("$.rows[29].word", "changed", "w29", "renamed"),
    ]


GRAPHQL = [("Content-Type", "application/json")]


def graphql_answer(document: Any, status: int = 200) -> Any:
    return json_response(document, status=status, headers=GRAPHQL)


STRAWBERRY = {
    "data": {"user": None},
    "errors": [
        {
            "message": "User 7 not found",
            "locations": [{"line": 1, "column": 9}],
            "path": ["user"],
            "extensions": {"code": "NOT_FOUND"},
        }
    ],
}
APOLLO = {
    "data": {"user": None},
    "errors": [
        {
            "message": "No user with id 7",
            "path": ["user"],
            "extensions": {"code": "NOT_FOUND", "serviceName": "users"},
        }
    ],
}


def test_graphql_errors_compare_by_what_clients_act_on_and_wording_only_strictly() -> None:
    comparison = compare(graphql_answer(STRAWBERRY), graphql_answer(APOLLO), graphql=True)
    assert comparison.matched
    relaxed = {(d.path, rule.split(":")[0]) for d, rule in comparison.ignored}
    assert relaxed == {
        ("$.errors[0].message", "graphql"),
        ("$.errors[0].locations", "graphql"),
        ("$.errors[0].extensions.serviceName", "graphql"),
    }
    strict = compare(
        graphql_answer(STRAWBERRY), graphql_answer(APOLLO), Rules(graphql_strict=True), graphql=True
    )
    assert {d.path for d in strict.differences} == {d for d, _ in relaxed}
    # Not a GraphQL endpoint: compared as JSON, every difference counts.
    assert not compare(graphql_answer(STRAWBERRY), graphql_answer(APOLLO)).matched


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (lambda d: d["errors"][0].update(path=["account"]), [("$.errors[0].path[0]", "changed")]),
        (
            lambda d: d["errors"][0]["extensions"].update(code="FORBIDDEN"),
            [("$.errors[0].extensions.code", "changed")],
        ),
        (
            lambda d: d["errors"].append({"message": "also", "path": ["x"]}),
            [("$.errors[1]", "added")],
        ),
        (lambda d: d.update(data={"user": {"id": "7"}}), [("$.data.user", "type_changed")]),
        (lambda d: d.pop("errors"), [("$.errors", "removed")]),
    ],
    ids=["path", "code", "count", "data", "no-errors"],
)
def test_what_graphql_clients_act_on_still_counts(change, found) -> None:
    actual = orjson.loads(orjson.dumps(APOLLO))
    change(actual)
    comparison = compare(graphql_answer(STRAWBERRY), graphql_answer(actual), graphql=True)
    assert paths(comparison) == found


def test_data_null_and_no_data_say_the_same_to_a_graphql_client() -> None:
    # Strawberry answers a document that did not validate with "data": null, Yoga without.
    refused = [{"message": "Cannot query field 'nope' on type 'Course'."}]
    with_null = graphql_answer({"data": None, "errors": refused})
    without = graphql_answer(
        {"errors": [{"message": 'Cannot query field "nope" on type "Course".'}]}
    )
    assert compare(with_null, without, graphql=True).matched
    assert ("$.data", "removed") in paths(
        compare(with_null, without, Rules(graphql_strict=True), graphql=True)
    )


def test_a_code_only_one_side_gives_is_not_compared() -> None:
    bare = {"data": {"user": None}, "errors": [{"message": "boom", "path": ["user"]}]}
    assert compare(graphql_answer(STRAWBERRY), graphql_answer(bare), graphql=True).matched


def test_200_against_400_for_an_invalid_document_is_its_own_kind() -> None:
    invalid = {"errors": [{"message": 'Cannot query field "nope" on type "Query".'}]}
    worded = {
        "errors": [
            {"message": "Unknown field nope", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
        ]
    }
    lenient = compare(graphql_answer(invalid, 200), graphql_answer(worded, 400), graphql=True)
    assert lenient.matched
    (status, rule) = next((d, r) for d, r in lenient.ignored if d.path == "status")
    assert status.kind is DiffKind.GRAPHQL_STATUS and "GraphQL over HTTP" in rule
    strict = compare(
        graphql_answer(invalid, 200),
        graphql_answer(worded, 400),
        Rules(graphql_strict=True),
        graphql=True,
    )
    assert ("status", "graphql_status") in paths(strict)
    # A 400 with data, or a 500, is an ordinary status change.
    failed = compare(graphql_answer(invalid, 200), graphql_answer(worded, 500), graphql=True)
    assert ("status", "changed") in paths(failed)


def test_a_graphql_error_that_changed_is_a_difference():
    headers = [("Content-Type", "application/graphql-response+json")]
    before = {"data": {"user": None}, "errors": [{"message": "Not found", "path": ["user"]}]}
    after = {"data": {"user": None}, "errors": [{"message": "User not found", "path": ["user"]}]}
    comparison = compare(
        json_response(before, headers=headers), json_response(after, headers=headers)
    )
    assert diffs(comparison) == [("$.errors[0].message", "changed", "Not found", "User not found")]


def test_differences_are_sorted_by_path_with_indices_in_numeric_order():
    expected = json_response({"items": list(range(12))}, status=200)
    actual = json_response({"items": [-1] * 12}, status=500)
    found = [path for path, _ in paths(compare(expected, actual))]
    assert found == [f"$.items[{i}]" for i in range(12)] + ["status"]


# Bodies that are not JSON, or not whole


@pytest.mark.parametrize(
    ("content_type", "before", "after", "found"),
    [
        ("text/plain", b"hello", b"hello", []),
        (
            "text/html; charset=utf-8",
            b"<p>a</p>",
            b"<p>b</p>",
            [("body", "changed", "<p>a</p>", "<p>b</p>")],
        ),
        ("application/xml", b"<a/>", b"<b/>", [("body", "changed", "<a/>", "<b/>")]),
        (None, b"plain words", b"other words", [("body", "changed", "plain words", "other words")]),
        ("image/png", b"\x89PNG\x00\x01", b"\x89PNG\x00\x01", []),
        (
            "image/png",
            b"\x89PNG\x00\x01",
            b"\x89PNG\x00\x02",
            [("body", "changed", digest(b"\x89PNG\x00\x01"), digest(b"\x89PNG\x00\x02"))],
        ),
        ("application/json", b"{oops", b"{}", [("body", "changed", "{oops", "{}")]),
        ("application/json", b"{oops", b"{oops", []),
        ("application/json", b"{oops", b"{oops!", [("body", "changed", "{oops", "{oops!")]),
        ("application/json", b"", b"{}", [("body", "changed", "", "{}")]),
        ("application/json; charset=utf-8", b'{"a": 1}', b'{"a":1}', []),
        ("application/problem+json", b'{"a": 1}', b'{"a": 2}', [("$.a", "changed", 1, 2)]),
    ],
)
def test_bodies_are_compared_by_media_type(
    content_type: str | None, before: bytes, after: bytes, found: list[Any]
):
    headers = [] if content_type is None else [("Content-Type", content_type)]
    comparison = compare(
        make_response(headers=headers, body=before), make_response(headers=headers, body=after)
    )
    assert diffs(comparison) == found


def test_the_expected_media_type_decides_and_the_actual_one_is_the_fallback():
    as_text = compare(
        make_response(headers=[("Content-Type", "text/plain")], body=b'{"a": 1}'),
        make_response(headers=[("Content-Type", "text/plain")], body=b'{"a":1}'),
    )
    assert paths(as_text) == [("body", "changed")]
    as_json = compare(make_response(headers=[], body=b'{"a": 1}'), make_response(body=b'{"a":1}'))
    assert paths(as_json) == [("header:content-type", "added")]


@pytest.mark.parametrize(
    ("actual", "found"),
    [
        (b'{"items": [1, 2, 3], "more": true}', []),
        (b'{"items": [1, 2, 3], "more": false}', [("body", "changed")]),
    ],
)
def test_a_truncated_recording_compares_by_digest_and_size(actual: bytes, found: list[Any]):
    full = b'{"items": [1, 2, 3], "more": true}'
    recorded = make_response(body=Body.of(full, limit=10))  # b'{"items": ' does not parse
    assert recorded.body.truncated
    comparison = compare(recorded, make_response(body=actual))
    assert paths(comparison) == found
    if found:
        assert comparison.differences[0].expected == digest(full)
        assert comparison.differences[0].actual == digest(actual)


def test_a_body_dropped_at_recording_fails_closed_and_says_why() -> None:
    # What the sanitiser stores for a body it could not read whole: no bytes, no digest.
    recorded = make_response(body=Body(b"", 4096, ""))
    comparison = compare(recorded, make_response(body=b"anything"))
    assert paths(comparison) == [("body", "changed")]
    expected = comparison.differences[0].expected
    assert expected["size"] == 4096 and "could not be read whole" in expected["dropped"]
    assert comparison.differences[0].actual == digest(b"anything")


# Status and headers


@pytest.mark.parametrize(
    ("compare_status", "found"),
    [(True, [("status", "changed", 200, 503)]), (False, [])],
)
def test_status(compare_status: bool, found: list[Any]):
    comparison = compare(
        make_response(status=200), make_response(status=503), Rules(compare_status=compare_status)
    )
    assert diffs(comparison) == found


@pytest.mark.parametrize(
    ("names", "before", "after", "found"),
    [
        (
            ("content-type",),
            [("Content-Type", "application/json; charset=utf-8")],
            [("content-type", "Application/JSON")],
            [],
        ),
        (
            ("content-type",),
            [("Content-Type", "application/json")],
            [("Content-Type", "text/html")],
            [("header:content-type", "changed", "application/json", "text/html")],
        ),
        (("content-type",), [("X-Request-Id", "a")], [("X-Request-Id", "b")], []),
        (
            ("Content-Type", "ETag"),
            [("ETag", '"1"')],
            [("etag", '"2"')],
            [("header:etag", "changed", '"1"', '"2"')],
        ),
        (("etag",), [], [("ETag", '"2"')], [("header:etag", "added", None, '"2"')]),
        (("etag",), [("ETag", '"1"')], [], [("header:etag", "removed", '"1"', None)]),
        (
            ("vary",),
            [("Vary", "Accept"), ("Vary", "Origin")],
            [("Vary", "Accept")],
            [("header:vary", "changed", ["Accept", "Origin"], "Accept")],
        ),
        (
            ("vary",),
            [("Vary", "Accept"), ("Vary", "Origin")],
            [("vary", "Accept"), ("VARY", "Origin")],
            [],
        ),
    ],
    ids=[
        "charset",
        "media-type",
        "unlisted",
        "listed",
        "added",
        "removed",
        "repeated",
        "repeated-same",
    ],
)
def test_only_listed_headers_are_compared(
    names: tuple[str, ...], before: list[Any], after: list[Any], found: list[Any]
):
    comparison = compare(
        make_response(headers=before, body=b"x"),
        make_response(headers=after, body=b"x"),
        Rules(headers=names),
    )
    assert diffs(comparison) == found


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Application/JSON; charset=utf-8", "application/json"),
        (" text/html ", "text/html"),
        (None, ""),
    ],
)
def test_media_type(value: str | None, expected: str):
    assert media_type(Headers([] if value is None else [("Content-Type", value)])) == expected


# Normalisation rules


@pytest.mark.parametrize(
    ("pattern", "expected", "actual", "remaining", "ignored"),
    [
        ("$.meta.*", {"meta": {"t": 1}, "x": 1}, {"meta": {"t": 2}, "x": 2}, ["$.x"], ["$.meta.t"]),
        ("$.meta.*", {"meta": {"a": {"b": 1}}}, {"meta": {"a": {"b": 2}}}, [], ["$.meta.a.b"]),
        ("$.meta.*", {"x": 1}, {"x": 1, "meta": {}}, ["$.meta"], []),
        (
            "$.items[*].updatedAt",
            {"items": [{"updatedAt": 1, "name": "a"}, {"updatedAt": 2, "name": "b"}]},
            {"items": [{"updatedAt": 3, "name": "a"}, {"updatedAt": 4, "name": "c"}]},
            ["$.items[1].name"],
            ["$.items[0].updatedAt", "$.items[1].updatedAt"],
        ),
        (
            "$..requestId",
            {"requestId": 1, "a": {"b": [0, 0, 0, {"requestId": 1}]}, "id": 1},
            {"requestId": 2, "a": {"b": [0, 0, 0, {"requestId": 2}]}, "id": 2},
            ["$.id"],
            ["$.a.b[3].requestId", "$.requestId"],
        ),
        (
            "re:At$",
            {"createdAt": 1, "x": {"updatedAt": 1}, "Atlas": 1},
            {"createdAt": 2, "x": {"updatedAt": 2}, "Atlas": 2},
            ["$.Atlas"],
            ["$.createdAt", "$.x.updatedAt"],
        ),
        (
            "$.meta",
            {"meta": {"generatedAt": 1}, "metadata": 1},
            {"meta": {"generatedAt": 2}, "metadata": 2},
            ["$.metadata"],
            ["$.meta.generatedAt"],
        ),
        (
            "$['odd key']",
            {"odd key": 1, "odd": 1},
            {"odd key": 2, "odd": 2},
            ["$.odd"],
            ["$['odd key']"],
        ),
    ],
    ids=[
        "star",
        "star-covers-below",
        "star-is-one-step",
        "any-index",
        "any-depth",
        "regex",
        "prefix",
        "quoted",
    ],
)
def test_ignore_paths_move_differences_to_ignored_with_their_rule(
    pattern: str, expected: Any, actual: Any, remaining: list[str], ignored: list[str]
):
    comparison = compare_json(expected, actual, ignore_paths=[pattern])
    assert [d.path for d in comparison.differences] == remaining
    assert [(d.path, rule) for d, rule in comparison.ignored] == [
        (path, f"ignore_paths: {pattern}") for path in ignored
    ]
    assert comparison.matched == (not remaining)


def test_a_regex_ignore_rule_can_hide_the_status_too():
    comparison = compare(
        make_response(status=200), make_response(status=201), Rules(ignore_paths=("re:^status$",))
    )
    assert comparison.matched
    assert [(d.path, rule) for d, rule in comparison.ignored] == [
        ("status", "ignore_paths: re:^status$")
    ]


@pytest.mark.parametrize(
    ("patterns", "expected", "actual", "found"),
    [
        (["$"], [3, 1, 2], [1, 2, 3], []),
        (["$.tags"], {"tags": ["b", "a"]}, {"tags": ["a", "b"]}, []),
        (
            ["$.tags"],
            {"tags": ["b", "a"], "other": [1, 2]},
            {"tags": ["a", "b"], "other": [2, 1]},
            [("$.other[0]", "added"), ("$.other[1]", "removed")],
        ),
        (["$"], [{"a": 1, "b": 2}, {"c": 3}], [{"c": 3}, {"b": 2, "a": 1}], []),
        (
            ["$.users", "$.users[*].roles"],
            {"users": [{"id": 2, "roles": ["b", "a"]}, {"id": 1, "roles": []}]},
            {"users": [{"id": 1, "roles": []}, {"id": 2, "roles": ["a", "b"]}]},
            [],
        ),
        (["$"], [1, 1, 2], [2, 1, 2], [("$[1]", "removed"), ("$[2]", "added")]),
        (["$.tags"], {"tags": ["c", "a"]}, {"tags": ["b", "c", "a"]}, [("$.tags[1]", "added")]),
    ],
    ids=["root", "nested", "only-named-lists", "objects", "nested-twice", "multiset", "extra-item"],
)
def test_unordered_paths_compare_lists_as_multisets(
    patterns: list[str], expected: Any, actual: Any, found: list[tuple[str, str]]
):
    assert paths(compare_json(expected, actual, unordered_paths=patterns)) == found


@pytest.mark.parametrize(
    ("tolerance", "expected", "actual", "found"),
    [
        (0.01, 1.0, 1.005, []),
        (0.01, 1.0, 1.01, []),
        (0.01, 1.0, 1.02, [("$", "changed")]),
        (0.01, 1, 1.0, []),
        (0.01, 10, 10.5, [("$", "changed")]),
        (0.0, 1, 1.0, []),
        (0.5, True, 1, [("$", "type_changed")]),
        (0.5, "1.0", "1.2", [("$", "changed")]),
        (0.1, [1.0, 2.0, 3.0], [1.05, 2.05], [("$[2]", "removed")]),
    ],
)
def test_numeric_tolerance(tolerance: float, expected: Any, actual: Any, found: list[Any]):
    assert paths(compare_json(expected, actual, numeric_tolerance=tolerance)) == found


@pytest.mark.parametrize(
    ("patterns", "expected", "actual", "found"),
    [
        (["$.email"], {"email": "Ada@X.test"}, {"email": "ada@x.TEST"}, []),
        (
            ["$.email"],
            {"email": "Ada", "name": "Ada"},
            {"email": "ada", "name": "ada"},
            [("$.name", "changed")],
        ),
        (
            ["$.user"],
            {"user": {"tags": ["A"], "n": {"x": "B"}}},
            {"user": {"tags": ["a"], "n": {"x": "b"}}},
            [],
        ),
        (["$"], "ABC", "abc", []),
        (["$.email"], {"email": "Ada"}, {"email": "Bob"}, [("$.email", "changed")]),
    ],
)
def test_ignore_case_paths(patterns: list[str], expected: Any, actual: Any, found: list[Any]):
    assert paths(compare_json(expected, actual, ignore_case_paths=patterns)) == found


# Rule sets


RULE_SET = RuleSet(
    Rules(ignore_paths=("$.a",), numeric_tolerance=0.1, headers=("content-type", "etag")),
    (
        ("GET /api/users/*", Rules(ignore_paths=("$.b", "$.a"), numeric_tolerance=0.05)),
        (
            "GET /api/*",
            Rules(unordered_paths=("$.c",), numeric_tolerance=0.5, compare_status=False),
        ),
        ("graphql query *", Rules(headers=("x-cache",))),
        ("graphql query GetUser", Rules(headers=("etag",), ignore_case_paths=("$.d",))),
    ),
)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("DELETE /api", RULE_SET.default),
        (
            "GET /api/users/{id}",
            Rules(
                ("$.a", "$.b"), ("$.c",), 0.5, (), ("content-type", "etag"), compare_status=False
            ),
        ),
        ("GET /api/courses", Rules(("$.a",), ("$.c",), 0.5, (), ("content-type", "etag"), False)),
        ("graphql query GetUser", Rules(("$.a",), (), 0.1, ("$.d",), ("etag",))),
        ("graphql query Other", Rules(("$.a",), (), 0.1, (), ("x-cache",))),
    ],
)
def test_rule_sets_merge_the_rules_of_every_matching_endpoint(endpoint: str, expected: Rules):
    assert RULE_SET.for_endpoint(endpoint) == expected
    assert RULE_SET.for_endpoint(endpoint) == expected  # memoised, still the same


def test_rule_set_from_config():
    rules = RuleSet.from_config(
        {
            "ignore_paths": ["$.meta"],
            "numeric_tolerance": 0.01,
            "headers": ["Content-Type", "ETag"],
            "endpoints": {"GET /api/users/{id}": {"unordered_paths": ["$.roles"]}},
        }
    )
    assert rules.for_endpoint("GET /api/users/{id}") == Rules(
        ignore_paths=("$.meta",),
        unordered_paths=("$.roles",),
        numeric_tolerance=0.01,
        headers=("content-type", "etag"),
    )
    assert RuleSet.from_config({}) == RuleSet()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"ignore_path": ["$.x"]},
            "[compare] has unknown key(s) ignore_path; the keys are compare_status, endpoints, graphql_strict, headers, ignore_case_paths,",
        ),
        (
            {"endpoints": {"GET /x": {"endpoints": {}}}},
            "[compare] endpoints 'GET /x' has unknown key(s) endpoints; the keys are compare_status, graphql_strict, headers,",
        ),
        ({"ignore_paths": "$.meta"}, "ignore_paths must be a list of strings, not '$.meta'"),
        ({"headers": [1]}, "headers must hold only non-empty strings, not [1]"),
        (
            {"numeric_tolerance": "0.1"},
            "numeric_tolerance must be a number of at least 0, such as 0.01, not '0.1'",
        ),
        ({"numeric_tolerance": -1}, "numeric_tolerance must be a number of at least 0"),
        ({"compare_status": "no"}, "compare_status must be true or false, not 'no'"),
        (
            {"endpoints": ["GET /x"]},
            "comparison setting 'endpoints' must be a table of endpoint pattern to settings",
        ),
        (
            {"endpoints": {"GET /x": {"ignore_paths": 1}}},
            "in the comparison rules for endpoint 'GET /x', ignore_paths must be a list of strings, not 1",
        ),
        (
            {"ignore_paths": ["meta.id"]},
            "ignore_paths pattern 'meta.id' must start with '$' (as in '$.meta.id') or 're:'",
        ),
        (
            {"unordered_paths": ["$.a*"]},
            "unordered_paths pattern '$.a*' has '*' inside the name 'a*'",
        ),
        ({"ignore_case_paths": ["$[x]"]}, "ignore_case_paths pattern '$[x]' has an unexpected '['"),
        ({"ignore_paths": ["$.."]}, "ignore_paths pattern '$..' must name a step after '..'"),
        (
            {"ignore_paths": ["re:("]},
            "ignore_paths pattern 're:(' is not a valid regular expression",
        ),
    ],
)
def test_bad_config_is_a_usage_error_naming_the_setting(table: dict[str, Any], message: str):
    with pytest.raises(UsageError) as raised:
        RuleSet.from_config(table)
    assert message in str(raised.value)


# Hostile and large bodies


def nested(depth: int, leaf: bytes, pad: bytes = b"") -> bytes:
    return (b"[" + pad) * depth + leaf + (pad + b"]") * depth


@pytest.mark.parametrize(
    ("before", "after", "found"),
    [
        (nested(100_000, b""), nested(100_000, b""), []),
        (nested(100_000, b""), nested(99_999, b""), [("body", "changed")]),
        (nested(1000, b"1"), nested(1000, b"1", pad=b" "), []),
        # Deeper than the difference engine recurses: compared whole.
        (nested(1000, b"1"), nested(1000, b"2"), [("body", "changed")]),
    ],
    ids=["too-deep-equal", "too-deep-different", "deep-equal", "deep-changed"],
)
@pytest.mark.parametrize(
    "rules",
    [
        Rules(),
        Rules(unordered_paths=("$..[*]", "$"), ignore_case_paths=("$",), numeric_tolerance=1e-6),
    ],
    ids=["plain", "normalised"],
)
def test_deeply_nested_documents_do_not_crash(
    before: bytes, after: bytes, found: list[Any], rules: Rules
):
    comparison = compare(make_response(body=before), make_response(body=after), rules)
    assert paths(comparison) == found
    orjson.dumps(comparison.to_record())


def test_a_deep_value_added_at_the_top_is_found_where_it_is() -> None:
    comparison = compare(make_response(body=b"[]"), make_response(body=nested(600, b"")))
    assert paths(comparison) == [("$[0]", "added")]
    orjson.dumps(comparison.to_record())


def test_a_large_body_compares():
    document = {
        "items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(45_000)]
    }
    before = orjson.dumps(document)
    assert len(before) > 2_000_000
    document["items"][30_000]["name"] = "renamed"
    del document["items"][100]
    comparison = compare(make_response(body=before), make_response(body=orjson.dumps(document)))
    assert paths(comparison) == [("$.items[100]", "removed"), ("$.items[30000].name", "changed")]


# Records


def test_records_are_json():
    comparison = compare(
        make_response(
            status=200,
            headers=[("Content-Type", "application/json"), ("Vary", "a"), ("Vary", "b")],
            body=b'{"a": [1, {"b": null}], "t": 1}',
        ),
        make_response(status=404, headers=JSON, body=b'{"a": [2], "t": 2}'),
        Rules(headers=("content-type", "vary"), ignore_paths=("$.t",)),
    )
    record = orjson.loads(orjson.dumps(comparison.to_record()))
    assert record == {
        "matched": False,
        "differences": [
            {"path": "$.a[0]", "kind": "changed", "expected": 1, "actual": 2},
            {"path": "$.a[1]", "kind": "removed", "expected": {"b": None}, "actual": None},
            {"path": "header:vary", "kind": "removed", "expected": ["a", "b"], "actual": None},
            {"path": "status", "kind": "changed", "expected": 200, "actual": 404},
        ],
        "ignored": [
            {
                "path": "$.t",
                "kind": "changed",
                "expected": 1,
                "actual": 2,
                "rule": "ignore_paths: $.t",
            }
        ],
    }
    assert Difference("body", DiffKind.CHANGED, "a", "b").to_record()["kind"] == "changed"

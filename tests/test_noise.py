"""Noise: learned from answers that disagree with themselves, and subtracted with care."""

from __future__ import annotations

import json
import tomllib
import uuid
from typing import Any

import pytest

from parity.compare.differences import Comparison, Difference, DiffKind
from parity.compare.engine import compare
from parity.compare.evidence import Evidence, NoiseSettings, Source, explains, generalised
from parity.compare.noise import NoiseModel
from parity.compare.repeats import RecordedNoise, fingerprint
from parity.compare.rules import Rules
from parity.compare.shapes import volatile_shape
from parity.compare.suggest import hint, suggestions
from parity.errors import UsageError
from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic.exchange import Exchange
from tests.factories import T0, make_exchange, make_request, make_response

RULES = Rules()


def answer(document: Any, status: int = 200) -> Any:
    return make_response(status=status, body=json.dumps(document).encode())


def envelope(**fields: Any) -> dict[str, Any]:
    return {"id": 1, "name": "Ada", "request_id": str(uuid.uuid4()), **fields}


def learned_from_repeats(repeats: int = 4, **fields: Any) -> NoiseModel:
    model = NoiseModel()
    previous = answer(envelope(**fields))
    for _ in range(repeats):
        current = answer(envelope(**fields))
        model.observe(Source.RECORDED, "GET /users/{id}", previous, current, RULES)
        previous = current
    return model


def differences_of(expected: Any, actual: Any) -> Comparison:
    return compare(answer(expected), answer(actual), RULES)


@pytest.mark.parametrize(
    ("path", "general"),
    [
        ("$.items[3].id", "$.items[*].id"),
        ("$['a[1]'][2]", "$['a[1]'][*]"),
        ("status", "status"),
        ("$[0][12]", "$[*][*]"),
    ],
)
def test_paths_are_generalised_over_list_indices_only(path, general) -> None:
    assert generalised(path) == general


def test_a_field_that_varies_between_repeats_is_absorbed_with_its_evidence() -> None:
    model = learned_from_repeats()
    comparison, used = model.absorb("GET /users/{id}", differences_of(envelope(), envelope()))
    assert comparison.matched
    assert [evidence.path for evidence in used] == ["$.request_id"]
    assert used[0].describe() == "varied in 4 of 4 recorded repeats of the same request"
    assert comparison.ignored[0][1].startswith("noise: $.request_id varied in 4 of 4")


def test_a_field_that_only_the_candidate_changes_is_never_noise() -> None:
    model = learned_from_repeats()
    comparison, used = model.absorb(
        "GET /users/{id}", differences_of(envelope(), envelope(name="Bob"))
    )
    assert [d.path for d in comparison.differences] == ["$.name"]
    assert [e.path for e in used] == ["$.request_id"]


def test_status_added_removed_and_type_changes_are_not_absorbed_unless_asked() -> None:
    model = NoiseModel()
    first, second = answer({"a": 1, "b": 1}, 200), answer({"a": "1", "c": 1}, 503)
    for _ in range(3):
        model.observe(Source.RECORDED, "GET /x", first, second, RULES)
    seen = compare(first, second, RULES)
    assert {d.kind for d in seen.differences} == {
        DiffKind.CHANGED,
        DiffKind.TYPE_CHANGED,
        DiffKind.ADDED,
        DiffKind.REMOVED,
    }
    kept, used = model.absorb("GET /x", seen)
    assert kept.differences == seen.differences and not used
    lenient = NoiseModel(NoiseSettings(absorb=("status", "type_changed", "added", "removed")))
    for _ in range(3):
        lenient.observe(Source.RECORDED, "GET /x", first, second, RULES)
    assert lenient.absorb("GET /x", seen)[0].matched


def test_noise_needs_min_count_pairs_that_varied() -> None:
    assert not learned_from_repeats(repeats=1).absorb(
        "GET /users/{id}", differences_of(envelope(), envelope())
    )[1]
    capped = learned_from_repeats(repeats=6)
    capped.settings = NoiseSettings(max_pairs=3)
    capped.observe(
        Source.RECORDED, "GET /users/{id}", answer(envelope()), answer(envelope()), RULES
    )
    assert capped.pairs("GET /users/{id}", Source.RECORDED) == 6  # past the cap: not compared


def test_the_candidates_own_variation_does_not_count_where_the_monolith_was_stable() -> None:
    model = NoiseModel()
    stable = answer({"id": 1, "created": "2026-01-01T00:00:00Z"})
    for _ in range(3):
        model.observe(Source.RECORDED, "GET /x", stable, stable, RULES)
        model.observe(
            Source.CANDIDATE,
            "GET /x",
            answer({"id": 1, "created": "2026-11-24T10:00:00Z"}),
            answer({"id": 1, "created": "2026-11-24T10:00:01Z"}),
            RULES,
        )
    assert model.evidence("GET /x", "$.created") is None
    alone = NoiseModel()
    alone.observe(Source.CANDIDATE, "GET /x", answer({"t": 1}), answer({"t": 2}), RULES)
    alone.observe(Source.CANDIDATE, "GET /x", answer({"t": 2}), answer({"t": 3}), RULES)
    assert alone.evidence("GET /x", "$.t") == Evidence(
        "$.t", Source.CANDIDATE, 2, 2, ((1, 2), (2, 3))
    )


def test_endpoints_never_repeated_borrow_noise_only_for_volatile_looking_values() -> None:
    model = NoiseModel()
    for endpoint in ("GET /a", "GET /b"):
        for _ in range(2):
            model.observe(
                Source.RECORDED,
                endpoint,
                answer(envelope(total=1)),
                answer(envelope(total=2)),
                RULES,
            )
    fresh = differences_of(envelope(total=1), envelope(total=9))
    kept, used = model.absorb("GET /never-repeated", fresh)
    assert [d.path for d in kept.differences] == ["$.total"]  # a number: not borrowed
    assert [e.path for e in used] == ["$.request_id"]  # a UUID on both sides, as learned
    assert used[0].describe().endswith("on 2 endpoints")


def test_a_path_stable_on_one_repeated_endpoint_is_not_borrowed() -> None:
    model = NoiseModel()
    for endpoint in ("GET /a", "GET /b"):
        model.observe(Source.RECORDED, endpoint, answer(envelope()), answer(envelope()), RULES)
        model.observe(Source.RECORDED, endpoint, answer(envelope()), answer(envelope()), RULES)
    same = {"id": 1, "request_id": "0b0c0d0e-0000-4000-8000-000000000000"}
    model.observe(Source.RECORDED, "GET /c", answer(same), answer(same), RULES)
    model.observe(Source.RECORDED, "GET /c", answer(same), answer(same), RULES)
    assert model.shared("$.request_id") is None


@pytest.mark.parametrize(
    ("noise_varied", "differed", "explained"),
    [(20, 20, True), (20, 10, True), (1, 20, False), (15, 20, True), (5, 20, False)],
)
def test_noise_explains_differences_only_at_a_rate_close_to_theirs(
    noise_varied, differed, explained
) -> None:
    evidence = Evidence("$.x", Source.RECORDED, noise_varied, 20)
    assert explains(evidence, differed, 20, NoiseSettings()) is explained


def test_settings_are_validated_into_one_sentence() -> None:
    with pytest.raises(UsageError, match=r"\[noise\] has unknown key\(s\) minimum"):
        NoiseSettings.from_config({"minimum": 2})
    with pytest.raises(UsageError, match="min_count must be a whole number of at least 1"):
        NoiseSettings.from_config({"min_count": 0})
    with pytest.raises(UsageError, match="relative_threshold must be a number from 0 to 1"):
        NoiseSettings.from_config({"relative_threshold": 2})
    with pytest.raises(UsageError, match="absorb must be a list of added, removed"):
        NoiseSettings.from_config({"absorb": ["everything"]})
    assert NoiseSettings.from_config({"absorb": ["status"], "min_count": 3}) == NoiseSettings(
        min_count=3, absorb=("status",)
    )


def request_exchange(**request: Any) -> Exchange:
    return make_exchange(T0, request=make_request(**request))


def test_the_same_request_has_one_fingerprint_whatever_the_order_of_its_parts() -> None:
    one = request_exchange(query=[("a", "1"), ("b", "2")], body=b'{"x": 1, "y": 2}')
    two = request_exchange(query=[("b", "2"), ("a", "1")], body=b'{"y":2,"x":1}')
    assert fingerprint(one) == fingerprint(two)
    assert fingerprint(one) != fingerprint(request_exchange(query=[("a", "1")]))


def test_callers_tell_requests_apart_and_unknown_callers_are_not_learned_from() -> None:
    def asked_by(token: str) -> Exchange:
        return request_exchange(headers=[("Authorization", f"Bearer {token}")])

    assert fingerprint(asked_by("token-of-ann-0000")) != fingerprint(asked_by("token-of-bob-0000"))
    keyed = Sanitiser(Pseudonymiser(b"k"))
    ann, ann_again, bob = (
        keyed(asked_by(t)) for t in ("ann-1234567890", "ann-1234567890", "bob-1234567890")
    )
    assert "Authorization" not in ann.request.headers
    assert ann.meta["sanitised"]["credential"].startswith("hmac:")
    assert fingerprint(ann) == fingerprint(ann_again) != fingerprint(bob)
    unkeyed = Sanitiser(Pseudonymiser(None))(asked_by("ann-1234567890"))
    assert "credential" not in unkeyed.meta["sanitised"]
    assert fingerprint(unkeyed) is None


def test_a_request_differing_in_one_header_is_another_request() -> None:
    def sent(*headers: tuple[str, str]) -> Exchange:
        return request_exchange(headers=[("Host", "api.test"), *headers])

    tenant_a = sent(("X-Tenant", "a"), ("Accept", "application/json"))
    assert fingerprint(tenant_a) != fingerprint(
        sent(("X-Tenant", "b"), ("Accept", "application/json"))
    )
    assert fingerprint(tenant_a) != fingerprint(sent(("Accept", "application/json")))
    # Case and order of names do not matter, nor do transport and tracing headers.
    same = sent(
        ("accept", "application/json"),
        ("x-tenant", "a"),
        ("X-Request-ID", "r-1"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("Accept-Encoding", "gzip"),
        ("Content-Length", "0"),
    )
    assert fingerprint(tenant_a) == fingerprint(same)


def test_a_request_holding_a_value_redacted_without_a_key_is_not_learned_from() -> None:
    # Two users' requests for /users/<their email>/profile look the same once redacted.
    unkeyed = Sanitiser(Pseudonymiser(None))
    for request in (
        make_request(path="/users/ann.lee@example.com/profile"),
        make_request(query=[("email", "ann.lee@example.com")]),
        make_request(
            headers=[
                ("Host", "api.test"),
                ("X-Session-Token", "3f2c9a1e-8b7d-4c6e-9f01-2a3b4c5d6e7f"),
            ]
        ),
    ):
        sanitised = unkeyed(make_exchange(T0, request=request))
        assert fingerprint(sanitised) is None, sanitised.request


def test_noise_is_never_suggested_for_a_path_a_differing_header_changed() -> None:
    # httpbin's /headers echoes the request's headers: requests that differ in one header
    # are answered differently, and that is no noise.
    model = NoiseModel()
    learner = RecordedNoise(model, lambda endpoint: RULES, lambda exchange, endpoint: True)
    for value in ("one", "two", "three", "four"):
        request = make_request(path="/headers", headers=[("Host", "api.test"), ("X-Test", value)])
        echo = answer({"headers": {"Host": "api.test", "X-Test": value}})
        learner.add(make_exchange(T0, request=request, response=echo), "GET /headers")
    assert learner.repeats == 0
    assert "X-Test" not in suggestions(model, "the store")


def test_recorded_repeats_are_paired_and_state_changing_requests_skipped() -> None:
    model = NoiseModel()
    learner = RecordedNoise(
        model, lambda endpoint: RULES, lambda exchange, endpoint: exchange.request.method == "GET"
    )
    for _ in range(3):
        learner.add(make_exchange(T0, response=answer(envelope())), "GET /users/{id}")
        learner.add(
            make_exchange(
                T0, request=make_request(method="POST", body=b"{}"), response=answer(envelope())
            ),
            "POST /users",
        )
    assert (learner.seen, learner.repeats) == (3, 2)
    assert model.pairs("GET /users/{id}", Source.RECORDED) == 2
    assert model.pairs("POST /users", Source.RECORDED) == 0


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ("2026-11-24T10:00:00.123Z", "a timestamp"),
        ("Tue, 24 Nov 2026 10:00:00 GMT", "a timestamp"),
        (1795428000, "a timestamp"),
        ("0b0c0d0e-1234-4abc-8def-000000000000", "a UUID"),
        ('W/"2d680ac5a66bf90e"', "an ETag"),
        ("req_01M86E3XB49F0HY54W03", "a request id"),
        ("Ada Lovelace", None),
        (42, None),
        (True, None),
        ("ORD-1", None),
    ],
)
def test_volatile_shapes(value, shape) -> None:
    assert volatile_shape(value) == shape


def test_hints_name_likely_noise_and_nothing_else() -> None:
    changed = Difference("$.at", DiffKind.CHANGED, "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z")
    assert hint(changed) == (
        "likely noise: both values look like a timestamp; confirm with --replay-noise-runs"
    )
    assert hint(Difference("$.name", DiffKind.CHANGED, "Ada", "Bob")) is None
    assert hint(Difference("$.at", DiffKind.REMOVED, "2026-11-24T10:00:00Z", None)) is None


def test_suggestions_are_toml_with_evidence_and_leave_out_what_rules_cannot_say() -> None:
    model = NoiseModel()
    for endpoint in ("GET /a", "GET /b"):
        for _ in range(2):
            model.observe(
                Source.RECORDED, endpoint, answer(envelope(n=1)), answer(envelope(n=2)), RULES
            )
    for _ in range(2):
        model.observe(Source.RECORDED, "GET /c", answer({"v": 1}), answer({"v": "1"}), RULES)
    text = suggestions(model, "a test store")
    assert text.startswith("# Learned from a test store: 6 recorded repeats of the same request.")
    assert "# $.request_id: varied in 4 of 4 recorded repeats" in text
    assert "#   not suggested: it was also type_changed" in text
    document = tomllib.loads(text)["tool"]["parity"]["compare"]
    assert document["ignore_paths"] == ["$.request_id"]
    assert document["endpoints"]["GET /a"]["ignore_paths"] == ["$.n"]
    assert "GET /c" not in document.get("endpoints", {}) or not document["endpoints"]["GET /c"]
    assert Rules(ignore_paths=document["ignore_paths"])  # the patterns compile
    assert "no rules to suggest" in suggestions(NoiseModel(), "nothing")

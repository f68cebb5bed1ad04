"""The recorded fixtures cover the example services and stay small and readable."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from fixtures.record import main as record_fixtures
from parity.store import iter_exchanges, open_store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "traffic"

EXPECTED_ENDPOINTS = {
    "GET /health",
    "GET /api/users",
    "GET /api/users/{id}",
    "GET /api/users/{id}/progress",
    "POST /api/users/{id}/enrolments",
    "GET /api/courses",
    "GET /api/courses/{uuid}",
    "GET /api/courses/{uuid}/thumbnail.png",
    "GET /api/search",
    "graphql query GetUser",
    "graphql query ListCourses",
    "graphql query SearchCourses",
    "graphql query UserProgress",
    "graphql query GetCourse",
    "graphql query ListUsers",
    "graphql mutation EnrolUser",
    "graphql invalid: not JSON",
    "graphql invalid: syntax error",
}


def endpoint_counts(store_dir: Path) -> Counter[str]:
    return Counter(e.endpoint for e in iter_exchanges(open_store(store_dir)) if e.endpoint)


def test_the_fixtures_cover_every_route_and_operation_and_stay_small() -> None:
    counts = endpoint_counts(FIXTURES)
    assert set(counts) >= EXPECTED_ENDPOINTS
    assert any(name.startswith("graphql query anonymous-") for name in counts)
    assert 200 <= sum(counts.values()) <= 1000
    size = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert size < 1_000_000


def test_the_fixtures_hold_repeats_failures_and_binary_bodies() -> None:
    exchanges = list(iter_exchanges(open_store(FIXTURES)))
    statuses = Counter(e.response.status for e in exchanges if e.response)
    assert {200, 201, 400, 404} <= set(statuses)
    targets = Counter(
        (e.request.method, e.request.target, e.request.body.content) for e in exchanges
    )
    assert max(targets.values()) >= 2  # the same request answered more than once
    thumbnails = [e for e in exchanges if e.request.path.endswith(".png")]
    assert thumbnails
    assert all(e.response and e.response.body.text() is None for e in thumbnails)


def test_the_documented_command_regenerates_an_equivalent_store(tmp_path, capsys) -> None:
    out = tmp_path / "traffic"
    assert record_fixtures(["--out", str(out)]) == 0
    assert "exchanges in 1 segment(s)" in capsys.readouterr().out
    assert endpoint_counts(out) == endpoint_counts(FIXTURES)
    assert not (out / ".parity-tmp").exists()


def test_named_graphql_operations_were_answered_with_data_not_errors() -> None:
    """If the plan drifts from the example schema, the fixtures would hold only errors."""
    for exchange in iter_exchanges(open_store(FIXTURES)):
        name = exchange.endpoint or ""
        if (
            name.split(" ")[0] != "graphql"
            or name.startswith("graphql invalid")
            or name
            in {
                "graphql query NoSuchField",
            }
        ):
            continue
        assert exchange.response is not None
        if exchange.request.method == "GET" and name.startswith("graphql mutation"):
            assert exchange.response.status == 405  # mutations are refused over GET
            continue
        body = json.loads(exchange.response.body.content)
        assert "errors" not in body, (name, body)
        assert body["data"], name

"""Selection: what a run replays, sampled reproducibly, and what it must not replay."""

from __future__ import annotations

import dataclasses

import pytest

from parity.store import LocalStore, write_exchanges
from replayer.selection import Selection, plan
from tests.factories import T0, make_exchange, make_request


def store_of(tmp_path, count: int = 30) -> LocalStore:
    store = LocalStore(tmp_path / "traffic")
    exchanges = []
    for i in range(count):
        path = f"/api/users/{i}" if i % 3 else f"/api/courses/{i}"
        exchanges.append(
            make_exchange(
                T0 + i, request=make_request(path=path, timestamp_start=T0 + i), endpoint=None
            )
        )
    write_exchanges(store, exchanges, "rec")
    return store


def test_everything_in_store_order_with_endpoints_named(tmp_path) -> None:
    planned = plan(store_of(tmp_path), Selection())
    assert [p.position for p in planned] == list(range(30))
    assert {p.endpoint for p in planned} == {"GET /api/users/{id}", "GET /api/courses/{id}"}
    assert planned[0].recorded_host == "monolith.test:8000"


def test_endpoint_globs_and_time_range(tmp_path) -> None:
    from datetime import UTC, datetime

    store = store_of(tmp_path)
    courses = plan(store, Selection(endpoints=("GET /api/courses/*",)))
    assert len(courses) == 10
    early = plan(store, Selection(until=datetime.fromtimestamp(T0 + 5, UTC)))
    assert len(early) == 5


def test_per_endpoint_sample_is_stratified_reproducible_and_seeded(tmp_path) -> None:
    store = store_of(tmp_path)
    first = plan(store, Selection(per_endpoint=4, seed=7))
    assert sorted(p.endpoint for p in first).count("GET /api/users/{id}") == 4
    assert sorted(p.endpoint for p in first).count("GET /api/courses/{id}") == 4
    assert [p.id for p in plan(store, Selection(per_endpoint=4, seed=7))] == [p.id for p in first]
    assert [p.id for p in plan(store, Selection(per_endpoint=4, seed=8))] != [p.id for p in first]
    assert [p.position for p in first] == sorted(p.position for p in first)
    # A larger sample with the same seed contains the smaller one.
    larger = {p.id for p in plan(store, Selection(per_endpoint=6, seed=7))}
    assert {p.id for p in first} <= larger


def test_unsafe_and_unanswered_exchanges_are_planned_as_skips(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    post = make_exchange(T0, request=make_request(method="POST", path="/api/users"), endpoint=None)
    failed = make_exchange(T0 + 1, response=None, error="connection refused")
    write_exchanges(store, [post, failed], "rec")
    planned = plan(store, Selection())
    assert "POST changes state" in planned[0].skip
    assert "gave no answer" in planned[1].skip
    allowed = plan(store, Selection(), allow_unsafe=lambda endpoint: endpoint == "POST /api/users")
    assert allowed[0].skip is None


def test_a_cursor_reads_planned_exchanges_in_store_order_holding_none(tmp_path) -> None:
    from parity.errors import ParityError
    from replayer.ondemand import Cursor

    store = store_of(tmp_path)
    planned = plan(store, Selection())
    cursor = Cursor(store, Selection())
    # A worker's share: increasing positions with gaps, then one earlier (a rescan).
    for index in [1, 2, 7, 20, 29, 3]:
        assert cursor.get(planned[index]).id == planned[index].id
    wrong = dataclasses.replace(planned[5], id="01NOTTHEREXXXXXXXXXXXXXXXX")
    with pytest.raises(ParityError, match="the store changed during the run"):
        cursor.get(wrong)
    assert cursor.get(planned[6]).id == planned[6].id

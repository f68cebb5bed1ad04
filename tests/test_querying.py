"""docs/QUERYING.md, run: every DuckDB query in it, read from the document itself, against a
store built from the fixtures, in a directory and in S3 (moto's server on 127.0.0.1), each
answer checked against what Parity's own reader says of the same store. The Athena statements
are checked in tests/test_querying_athena.py."""

from __future__ import annotations

import gzip
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from parity.store import iter_exchanges, iter_records, open_store
from parity.store.inventory import take_inventory
from parity.store.segments import SegmentKey
from parity.traffic.exchange import Exchange
from parity.traffic.ids import exchange_id_time
from replayer.aggregate import percentile
from replayer.judge import answer_ms
from tests.querying import (
    QUERIES,
    Connect,
    TestStore,
    build_store,
    connect,
    load_httpfs,
    local_connection,
    record_fields,
    run,
    s3_connection,
    substituted,
    utc,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> TestStore:
    return build_store(tmp_path_factory.mktemp("querying") / "traffic")


@pytest.fixture(params=["directory", pytest.param("s3", marks=pytest.mark.s3)])
def db(request: pytest.FixtureRequest, built: TestStore) -> Iterator[Connect]:
    """A connection with the document's set-up run and `exchanges` naming the test store,
    beside the same store opened by Parity: a directory, or the same segments in S3."""
    if request.param == "directory":
        connected = local_connection(built.path)
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        client = request.getfixturevalue("s3_client")
        connected = s3_connection(built.path, endpoint, bucket, client)
    try:
        yield connected
    finally:
        connected.con.close()


def test_every_sql_block_of_the_document_is_named_and_run_here() -> None:
    sources = Path(__file__).read_text() + Path(__file__).with_name("querying.py").read_text()
    athena = Path(__file__).with_name("test_querying_athena.py").read_text()
    used = set(re.findall(r'(?:QUERIES\[|parsed\(|in_duckdb\()"([a-z0-9-]+)"', sources + athena))
    assert set(QUERIES) == used


def test_overview_is_what_parity_ls_says(db: Connect) -> None:
    inventory = take_inventory(db.store)
    ((exchanges, endpoints, segments, first, last, body_bytes, versions),) = run(
        db.con, QUERIES["overview"]
    )
    assert (exchanges, endpoints, segments, body_bytes) == (
        inventory.exchanges,
        len(inventory.endpoints),
        inventory.segments,
        inventory.body_bytes,
    )
    assert utc(first) == pytest.approx(inventory.first, abs=1e-6)
    assert utc(last) == pytest.approx(inventory.last, abs=1e-6)
    assert versions == [1]
    # The store spans partitions, recorders, both compressions and multi-frame segments.
    assert exchanges > 800 and segments >= 8


def test_exchanges_per_endpoint_are_parity_ls_counts(db: Connect) -> None:
    inventory = take_inventory(db.store)
    rows = run(db.con, QUERIES["per-endpoint"])
    expected = sorted(inventory.endpoints.values(), key=lambda s: (-s.exchanges, s.endpoint))
    assert [(r[0], r[1]) for r in rows] == [(s.endpoint, s.exchanges) for s in expected]
    for (_, _, first, last), summary in zip(rows, expected, strict=True):
        assert utc(first) == pytest.approx(summary.first, abs=1e-6)
        assert utc(last) == pytest.approx(summary.last, abs=1e-6)


def test_exchanges_per_hour_count_each_exchange_in_the_hour_it_started(db: Connect) -> None:
    counts: Counter[tuple[str, int]] = Counter()
    endpoints: defaultdict[tuple[str, int], set[str]] = defaultdict(set)
    for exchange in iter_exchanges(db.store):
        started = datetime.fromtimestamp(exchange.started_at, UTC)
        hour = (started.strftime("%Y-%m-%d"), started.hour)
        counts[hour] += 1
        endpoints[hour].add(str(exchange.endpoint))
    rows = run(db.con, QUERIES["per-hour"])
    assert [(d.isoformat(), h, n, e) for d, h, n, e in rows] == [
        (*hour, counts[hour], len(endpoints[hour])) for hour in sorted(counts)
    ]
    assert len({date for date, *_ in rows}) == 2  # hours on both sides of a midnight


def test_status_mix_is_parity_ls_status_column(db: Connect) -> None:
    inventory = take_inventory(db.store)
    rows = {r[0]: r[1:] for r in run(db.con, QUERIES["status-mix"])}
    assert set(rows) == set(inventory.endpoints)
    for endpoint, summary in inventory.endpoints.items():
        exchanges, no_answer, ok, redirect, client, server, statuses = rows[endpoint]
        by_class: Counter[int] = Counter()
        for code, n in summary.statuses.items():
            by_class[code // 100] += n
        assert (exchanges, no_answer) == (summary.exchanges, summary.errors)
        assert (ok, redirect, client, server) == (
            by_class[2],
            by_class[3],
            by_class[4],
            by_class[5],
        )
        # An endpoint that was never answered has no histogram at all.
        assert (statuses or {}) == dict(summary.statuses)
    assert any(r[-1] is None for r in rows.values())  # the store holds such an endpoint


def test_slowest_endpoints_use_the_reports_answer_times(db: Connect) -> None:
    exchanges = list(iter_exchanges(db.store))
    queried = dict(run(db.con, "SELECT id, answer_ms FROM exchanges"))
    for exchange in exchanges:  # the view's answer_ms is the report's, unrounded
        reported = answer_ms(exchange)
        assert (queried[exchange.id] is None) == (reported is None)
        if reported is not None:
            assert queried[exchange.id] == pytest.approx(reported, abs=5e-4)
    times: defaultdict[str, list[float]] = defaultdict(list)
    for exchange in exchanges:
        if queried[exchange.id] is not None:
            times[str(exchange.endpoint)].append(queried[exchange.id])
    expected = []
    for endpoint, answered in times.items():
        p50, p99 = percentile(answered, 0.5), percentile(answered, 0.99)
        assert p50 is not None and p99 is not None
        expected.append((endpoint, len(answered), p50, p99, max(answered)))
    expected.sort(key=lambda row: (-row[3], row[0]))
    assert run(db.con, QUERIES["slowest"]) == expected[:20]


def test_largest_bodies_are_the_largest_recorded(db: Connect) -> None:
    def largest(exchange: Exchange) -> int:
        response = exchange.response.body.size if exchange.response else 0
        return max(exchange.request.body.size, response)

    exchanges = sorted(iter_exchanges(db.store), key=lambda e: (-largest(e), e.id))[:20]
    rows = run(db.con, QUERIES["largest-bodies"])
    assert [r[0] for r in rows] == [e.id for e in exchanges]
    for (_, endpoint, status, size, truncated, content_type, request_bytes), exchange in zip(
        rows, exchanges, strict=True
    ):
        response = exchange.response
        assert endpoint == exchange.endpoint and request_bytes == exchange.request.body.size
        if response is None:
            assert (status, size, truncated, content_type) == (None, None, None, None)
        else:
            assert (status, size, truncated) == (
                response.status,
                response.body.size,
                response.body.truncated,
            )
            assert content_type == response.headers.get("content-type")
    assert rows[0][4] is True  # the largest body was kept only in part


def _window(db: Connect, since: datetime, until: datetime, endpoint: str) -> None:
    db.con.execute("SET VARIABLE since = $1", [since])
    db.con.execute("SET VARIABLE until = $1", [until])
    db.con.execute("SET VARIABLE endpoint = $1", [endpoint])


def _expected_window(db: Connect) -> list[str]:
    since, until, endpoint = run(
        db.con, "SELECT getvariable('since'), getvariable('until'), getvariable('endpoint')"
    )[0]
    chosen = iter_exchanges(db.store, since.replace(tzinfo=UTC), until.replace(tzinfo=UTC))
    return [
        e.id for e in sorted(chosen, key=lambda e: (e.started_at, e.id)) if e.endpoint == endpoint
    ]


def test_one_endpoint_in_a_time_window(db: Connect, built: TestStore) -> None:
    run(db.con, QUERIES["window-parameters"])
    as_documented = _expected_window(db)
    assert as_documented  # the document's own window holds requests in the test store
    assert [r[0] for r in run(db.con, QUERIES["endpoint-window"])] == as_documented

    # A window across midnight: partitions of two dates.
    _window(
        db,
        built.midnight - timedelta(minutes=10),
        built.midnight + timedelta(minutes=20),
        "GET /api/users/{id}",
    )
    across = _expected_window(db)
    rows = run(db.con, QUERIES["endpoint-window"])
    assert [r[0] for r in rows] == across
    assert {r[1].date() for r in rows} == {
        built.midnight.date() - timedelta(days=1),
        built.midnight.date(),
    }


def test_what_an_exchange_id_names(db: Connect, built: TestStore) -> None:
    run(db.con, QUERIES["id-parameters"])
    documented = run(db.con, "SELECT getvariable('id')")[0][0]
    assert run(db.con, "SELECT epoch(id_time(getvariable('id')))")[0][0] == exchange_id_time(
        documented
    )

    db.con.execute("SET VARIABLE id = $1", [built.inbound_id])
    records = {r["id"]: r for r in iter_records(db.store)}
    named = records[built.inbound_id]
    expected = {}
    for exchange_id, record in records.items():
        if exchange_id == named["id"]:
            expected[exchange_id] = "the exchange"
        elif record["parent_id"] == named["id"]:
            expected[exchange_id] = "a call it made"
        elif record["correlation_id"] == named["correlation_id"]:
            expected[exchange_id] = "same correlation id"
    rows = run(db.con, QUERIES["id-names"])
    assert {r[1]: r[0] for r in rows} == expected
    assert Counter(expected.values()) == {
        "the exchange": 1,
        "a call it made": 2,
        "same correlation id": 1,
    }
    assert [r[1] for r in rows] == sorted(
        expected, key=lambda i: (records[i]["request"]["timestamp_start"], i)
    )
    # The calls it made started after midnight too: the hour after it was read.
    started = {r[1]: r[3] for r in rows}
    assert len({s.date() for s in started.values()}) == 2
    itself = next(r for r in rows if r[1] == built.inbound_id)
    partition = SegmentKey.for_time(named["request"]["timestamp_start"], "x", 0).partition
    assert f"/{partition}/" in itself[5]


def test_every_id_carries_its_start_time(db: Connect) -> None:
    rows = run(db.con, "SELECT id, epoch(id_time(id)), request.timestamp_start FROM exchanges")
    for exchange_id, decoded, started in rows:
        assert decoded == exchange_id_time(exchange_id)
        assert abs(decoded - started) < 1e-3


def test_a_correlation_id_names_one_user_request(db: Connect, built: TestStore) -> None:
    run(db.con, QUERIES["correlation-parameters"])
    db.con.execute("SET VARIABLE correlation = $1", [built.correlation_id])
    expected = sorted(
        (r["request"]["timestamp_start"], r["id"])
        for r in iter_records(db.store)
        if r["correlation_id"] == built.correlation_id
    )
    assert [r[0] for r in run(db.con, QUERIES["correlation"])] == [i for _, i in expected]
    assert len(expected) == 4


def test_window_and_id_queries_read_only_their_partitions(built: TestStore, tmp_path: Path) -> None:
    """A corrupt segment far from the window fails any query that reads it: the window
    and id queries do not."""
    store = tmp_path / "traffic"
    shutil.copytree(built.path, store)
    far = store / "date=2020-01-01" / "hour=00"
    far.mkdir(parents=True)
    (far / "rec-z-000000.jsonl.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\xff" * 64)
    with local_connection(built.path) as clean, local_connection(store) as damaged:
        with pytest.raises(duckdb.Error):
            run(damaged.con, QUERIES["per-endpoint"])
        for connected in (clean, damaged):
            run(connected.con, QUERIES["window-parameters"])
            connected.con.execute("SET VARIABLE id = $1", [built.inbound_id])
        window = run(damaged.con, QUERIES["endpoint-window"])
        assert window == run(clean.con, QUERIES["endpoint-window"]) != []
        named = run(damaged.con, QUERIES["id-names"])  # without the segments' paths
        assert [r[:5] for r in named] == [r[:5] for r in run(clean.con, QUERIES["id-names"])] != []


def test_a_parquet_copy_answers_every_question_as_the_store_does(
    built: TestStore, tmp_path: Path
) -> None:
    out = tmp_path / "traffic-parquet"
    questions = [
        "per-endpoint",
        "per-hour",
        "status-mix",
        "slowest",
        "largest-bodies",
        "correlation",
    ]
    with local_connection(built.path) as store, local_connection(built.path) as copy:
        run(store.con, substituted(QUERIES["parquet-copy"], "'traffic-parquet'", f"'{out}'"))
        run(copy.con, substituted(QUERIES["parquet-view"], "'traffic-parquet/", f"'{out}/"))
        for connected in (store, copy):
            run(connected.con, QUERIES["window-parameters"])
            run(connected.con, QUERIES["correlation-parameters"])
            connected.con.execute("SET VARIABLE correlation = $1", [built.correlation_id])
        for name in [*questions, "endpoint-window"]:
            assert run(copy.con, QUERIES[name]) == run(store.con, QUERIES[name]), name
        (segments,) = run(copy.con, "SELECT count(DISTINCT filename) FROM exchanges")[0]
    partitions = {info.key.partition for info in open_store(built.path).list_segments()}
    files = [p.relative_to(out) for p in out.rglob("*.parquet")]
    assert {f.parent.as_posix() for f in files} == partitions
    assert segments == len(files)


def test_damage_is_as_the_document_says(built: TestStore, tmp_path: Path) -> None:
    """Cut short: read to the cut without a word. A corrupt frame, a line that is not JSON:
    the query fails."""
    segment = next(p for p in sorted(built.path.rglob("*.jsonl.zst")) if "replica" in p.name)
    whole = segment.read_bytes()

    def store_of(store: str, data: bytes, name: str = segment.name) -> Path:
        partition = tmp_path / store / "date=2026-01-01" / "hour=00"
        partition.mkdir(parents=True)
        (partition / name).write_bytes(data)
        return tmp_path / store

    with local_connection(store_of("whole", whole)) as connected:
        (total,) = run(connected.con, "SELECT count(*) FROM exchanges")[0]
    with local_connection(store_of("cut", whole[: len(whole) // 2])) as connected:
        (cut,) = run(connected.con, "SELECT count(*) FROM exchanges")[0]
    assert 0 < cut < total
    flipped = bytearray(whole)
    flipped[len(whole) // 2] ^= 0xFF
    lines = gzip.compress(b'{"v": 1, "id": "x"}\n{not json\n')
    for store, data, name in (
        ("corrupt", bytes(flipped), segment.name),
        ("not-json", lines, "rec-a-000000.jsonl.gz"),
    ):
        with local_connection(store_of(store, data, name)) as connected:
            with pytest.raises(duckdb.Error):
                run(connected.con, "SELECT count(*) FROM exchanges")


def test_the_schema_holds_every_field_of_a_record(db: Connect) -> None:
    """read_json drops keys its columns do not name: every field Parity writes is named."""

    def fields(kind: Any) -> Any:
        return {n: fields(c) for n, c in kind.children} if kind.id == "struct" else None

    relation = db.con.sql("FROM exchanges")
    described = {n: fields(k) for n, k in zip(relation.columns, relation.types, strict=True)}
    derived = {"filename", "date", "hour", "started", "answer_ms"}
    assert {k: v for k, v in described.items() if k not in derived} == record_fields()


def test_the_aws_secret_covers_the_store_and_nothing_else() -> None:
    con = connect()
    try:
        load_httpfs(con)
        run(con, QUERIES["s3-secret"])
        which = "SELECT name FROM which_secret($1, 's3')"
        assert con.execute(
            which, ["s3://bucket/traffic/date=2026-12-03/hour=08/a-000000.jsonl.zst"]
        ).fetchall() == [("traffic",)]
        assert con.execute(which, ["s3://other/traffic/x"]).fetchall() == []
    finally:
        con.close()

"""The Athena statements of docs/QUERYING.md. Athena cannot run here, so the table is parsed as
Athena DDL and held against the records and the layout Parity writes, and the queries are
parsed as Athena SQL, translated to DuckDB by the same parser, and run on the test store
shaped as the table (partitions as strings), where they must answer as Parity's reader does."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from parity.store import SegmentKey, iter_exchanges, open_store
from tests.querying import (
    FIXTURES,
    QUERIES,
    Connect,
    TestStore,
    build_store,
    local_connection,
    record_fields,
    run,
)


def parsed(name: str) -> exp.Expr:
    return sqlglot.parse_one(QUERIES[name], read="athena", error_level=sqlglot.ErrorLevel.RAISE)


def table() -> exp.Create:
    ddl = parsed("athena-table")
    assert isinstance(ddl, exp.Create) and ddl.kind == "TABLE"
    assert ddl.find(exp.ExternalProperty) is not None
    return ddl


def fields(kind: exp.DataType) -> Any:
    if kind.is_type(exp.DataType.Type.STRUCT):
        return {column.name: fields(column.args["kind"]) for column in kind.expressions}
    return None


def properties(ddl: exp.Create) -> dict[str, str]:
    return {
        p.this.name: p.args["value"].name
        for p in ddl.find_all(exp.Property)
        if type(p) is exp.Property
    }


def test_the_table_has_every_field_of_a_record_but_free_form_meta() -> None:
    ddl = table()
    assert isinstance(ddl.this, exp.Schema)
    columns = {column.name: column.args["kind"] for column in ddl.this.expressions}
    assert {name: fields(kind) for name, kind in columns.items()} == {
        k: v for k, v in record_fields().items() if k != "meta"
    }
    # Typed as the DuckDB schema that reads the fixtures' records (names unquoted).
    with local_connection(FIXTURES) as connected:
        relation = connected.con.sql("FROM exchanges")
        duckdb_types = {
            name: exp.DataType.build(str(kind), dialect="duckdb").sql("duckdb").replace('"', "")
            for name, kind in zip(relation.columns, relation.types, strict=True)
        }
    assert {name: kind.sql("duckdb").replace('"', "") for name, kind in columns.items()} == {
        name: duckdb_types[name] for name in columns
    }
    serde = ddl.find(exp.RowFormatSerdeProperty)
    assert serde is not None and serde.this.name == "org.apache.hive.hcatalog.data.JsonSerDe"


def _java_date_format(pattern: str) -> str:
    """The strftime equivalent of the Java date pattern a date projection names."""
    converted = pattern
    for java, python in (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d")):
        converted = converted.replace(java, python)
    assert re.fullmatch(r"(%[Ymd]|[^A-Za-z%])*", converted), f"unexpected pattern {pattern}"
    return converted


def test_partition_projection_yields_the_directories_parity_writes() -> None:
    ddl = table()
    by_name = properties(ddl)
    partitioned = ddl.find(exp.PartitionedByProperty)
    assert partitioned is not None
    keys = [column.name for column in partitioned.this.expressions]
    sample = SegmentKey(datetime(2026, 12, 3, 8, tzinfo=UTC), "rec-a", 0)
    assert keys == [part.split("=")[0] for part in sample.partition.split("/")]
    assert all(
        column.args["kind"].is_type(exp.DataType.Type.TEXT)
        for column in partitioned.this.expressions
    )

    assert by_name["projection.enabled"] == "true"
    assert (by_name["projection.date.type"], by_name["projection.hour.type"]) == ("date", "integer")
    day_format = _java_date_format(by_name["projection.date.format"])
    first, last = by_name["projection.date.range"].split(",")
    assert last == "NOW"
    assert (by_name["projection.date.interval"], by_name["projection.date.interval.unit"]) == (
        "1",
        "DAYS",
    )
    low, high = (int(n) for n in by_name["projection.hour.range"].split(","))
    digits = int(by_name["projection.hour.digits"])

    location = ddl.find(exp.LocationProperty)
    assert location is not None
    template = by_name["storage.location.template"]
    assert template.startswith(location.this.name)

    start = datetime.strptime(first, day_format).replace(tzinfo=UTC).date()
    today = datetime.now(UTC).date()
    projected = set()
    for n in range((today - start).days + 1):
        day = start + timedelta(days=n)
        for hour in range(low, high + 1):
            directory = template.replace("${date}", day.strftime(day_format))
            directory = directory.replace("${hour}", f"{hour:0{digits}d}")
            key = SegmentKey(datetime(day.year, day.month, day.day, hour, tzinfo=UTC), "rec-a", 0)
            assert directory == f"{location.this.name}{key.partition}/"
            projected.add(key.partition)
    assert len(projected) == 24 * ((today - start).days + 1)  # every hour of every day
    recorded = {info.key.partition for info in open_store(FIXTURES).list_segments()}
    assert recorded <= projected  # the fixtures were recorded inside the range


@pytest.fixture(scope="module")
def shaped(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestStore, Connect]:
    """The test store as the Athena table sees it: the partitions as strings, no `meta`."""
    built = build_store(tmp_path_factory.mktemp("athena") / "traffic")
    connected = local_connection(built.path)
    connected.con.execute(
        """CREATE VIEW athena_table AS
        SELECT * EXCLUDE (date, hour, meta, filename, started, answer_ms),
            strftime(date, '%Y-%m-%d') AS "date", lpad(CAST(hour AS VARCHAR), 2, '0') AS "hour"
        FROM exchanges"""
    )
    return built, connected


def in_duckdb(name: str) -> str:
    """The Athena query `name`, on the DuckDB view shaped as the table."""
    query = parsed(name)
    assert query.find(exp.Table) is not None
    query = query.transform(
        lambda node: (
            exp.to_table("athena_table")
            if isinstance(node, exp.Table) and node.name == "parity_exchanges"
            else node
        )
    )
    return query.sql("duckdb")


def test_per_endpoint_on_one_day_answers_as_parity(shaped: tuple[TestStore, Connect]) -> None:
    built, connected = shaped
    (day,) = re.findall(r"\"date\" = '(\d{4}-\d{2}-\d{2})'", QUERIES["athena-per-endpoint"])
    chosen = [
        e
        for e in iter_exchanges(open_store(built.path))
        if datetime.fromtimestamp(e.started_at, UTC).date() == date.fromisoformat(day)
    ]
    assert chosen
    counts = Counter(str(e.endpoint) for e in chosen)
    rows = run(connected.con, in_duckdb("athena-per-endpoint"))
    assert [r[0] for r in rows] == sorted(counts, key=lambda k: (-counts[k], k))
    for endpoint, exchanges, no_answer, server_errors, p99 in rows:
        mine = [e for e in chosen if e.endpoint == endpoint]
        answered = [e.response for e in mine if e.response is not None]
        assert (exchanges, no_answer) == (len(mine), len(mine) - len(answered))
        assert server_errors == sum(1 for r in answered if r.status >= 500)
        times = [
            (r.timestamp_end - e.request.timestamp_end) * 1000
            for e in mine
            if (r := e.response) is not None
            and r.timestamp_end is not None
            and e.request.timestamp_end is not None
        ]
        assert min(times) <= p99 <= max(times)


def test_one_endpoint_in_a_window_answers_as_the_duckdb_query(
    shaped: tuple[TestStore, Connect],
) -> None:
    built, connected = shaped
    sql = QUERIES["athena-window"]
    run(connected.con, QUERIES["window-parameters"])
    since, until, endpoint = run(
        connected.con, "SELECT getvariable('since'), getvariable('until'), getvariable('endpoint')"
    )[0]
    # The Athena example asks what the DuckDB example asks.
    assert re.findall(r"TIMESTAMP '([^']+)'", sql) == [str(since), str(until)]
    assert re.findall(r"endpoint = '([^']+)'", sql) == [endpoint]
    assert re.findall(r"\"date\" = '([^']+)'", sql) == [since.date().isoformat()]
    assert re.findall(r"\"hour\" BETWEEN '(\d\d)' AND '(\d\d)'", sql) == [
        (f"{since.hour:02d}", f"{until.hour:02d}")
    ]
    chosen = sorted(
        (
            e
            for e in iter_exchanges(
                open_store(built.path), since.replace(tzinfo=UTC), until.replace(tzinfo=UTC)
            )
            if e.endpoint == endpoint
        ),
        key=lambda e: (e.started_at, e.id),
    )
    # The answer's times as seconds: DuckDB hands TIMESTAMPTZ to Python only through pytz.
    rows = run(
        connected.con,
        f"SELECT * REPLACE (epoch(started) AS started) FROM ({in_duckdb('athena-window')})",
    )
    assert chosen and [r[0] for r in rows] == [e.id for e in chosen]
    for (_, started, method, path, status), exchange in zip(rows, chosen, strict=True):
        assert started == pytest.approx(exchange.started_at, abs=1e-6)
        assert (method, path) == (exchange.request.method, exchange.request.path)
        assert status == (exchange.response.status if exchange.response else None)
    assert [r[0] for r in run(connected.con, QUERIES["endpoint-window"])] == [r[0] for r in rows]

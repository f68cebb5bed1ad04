"""What the tests of docs/QUERYING.md share: the document's queries by name, the store they
run on, and DuckDB connections to it as a directory or in S3."""

from __future__ import annotations

import importlib.resources
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import duckdb

from parity.store import Compression, SegmentKey, Store, iter_exchanges, open_store, write_exchanges
from parity.store.writer import SegmentWriter
from parity.traffic.exchange import Body, Exchange, Headers
from parity.traffic.ids import new_exchange_id
from tests.factories import make_exchange, make_request, make_response

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "QUERYING.md"
FIXTURES = ROOT / "fixtures" / "traffic"

_NAMED = re.compile(r"<!-- query: ([a-z0-9-]+) -->\n```sql\n(.*?)```", re.DOTALL)


def _queries() -> dict[str, str]:
    """Every ```sql block of the document, by the name in the comment before it. A block
    without a name would go untested, so there is none."""
    text = DOC.read_text(encoding="utf-8")
    named = _NAMED.findall(text)
    names = [name for name, _ in named]
    if text.count("```sql") != len(named) or len(set(names)) != len(names):
        raise AssertionError(f"{DOC}: every ```sql block needs its own <!-- query: NAME -->")
    return dict(named)


QUERIES = _queries()


def substituted(sql: str, old: str, new: str) -> str:
    """`sql` with the document's placeholder `old` replaced; the placeholder must be there."""
    if old not in sql:
        raise AssertionError(f"the document's query no longer holds {old!r}")
    return sql.replace(old, new)


def run(con: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    """Run every statement of `sql`, and return the rows of the last."""
    statements = duckdb.extract_statements(sql)
    for statement in statements[:-1]:
        con.execute(statement)
    return con.execute(statements[-1]).fetchall()


def utc(moment: datetime) -> float:
    """A DuckDB TIMESTAMP (UTC, naive) in seconds since the epoch."""
    return moment.replace(tzinfo=UTC).timestamp()


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never downloads an extension (nothing leaves the machine):
    what is not built in is loaded from a package, as `load_httpfs` does."""
    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


def load_httpfs(con: duckdb.DuckDBPyConnection) -> None:
    """Load the httpfs build for this DuckDB that the duckdb-extension-httpfs package ships."""
    package = importlib.resources.files("duckdb_extension_httpfs")
    path = Path(str(package)) / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if not path.is_file():
        raise AssertionError(
            f"duckdb-extension-httpfs has no build for DuckDB {duckdb.__version__}; "
            "install the release matching duckdb"
        )
    con.execute(f"LOAD '{path}'")


@dataclass
class TestStore:
    """A store built from the fixtures, and what the tests look for in it."""

    __test__ = False

    path: Path
    midnight: datetime
    inbound_id: str
    correlation_id: str


def _moved(exchange: Exchange, start: float, recorder_id: str) -> Exchange:
    """`exchange` as if it had started at `start`, with an id of that time."""
    shift = start - exchange.started_at

    def at(moment: float | None) -> float | None:
        return None if moment is None else moment + shift

    request = replace(
        exchange.request, timestamp_start=start, timestamp_end=at(exchange.request.timestamp_end)
    )
    response = exchange.response and replace(
        exchange.response,
        timestamp_start=at(exchange.response.timestamp_start),
        timestamp_end=at(exchange.response.timestamp_end),
    )
    return replace(
        exchange,
        id=new_exchange_id(start),
        request=request,
        response=response,
        recorder_id=recorder_id,
    )


def _write_framed(
    store: Store, exchanges: Iterable[Exchange], recorder_id: str, compression: Compression
) -> None:
    """One segment an hour, in frames of a few KiB: many frames to a segment."""
    hours = groupby(exchanges, key=lambda e: SegmentKey.for_time(e.started_at, recorder_id, 0).hour)
    for seq, (_, group) in enumerate(hours):
        first = next(group)
        key = SegmentKey.for_time(first.started_at, recorder_id, seq, compression)
        with (
            store.create_segment(key) as stream,
            SegmentWriter(stream, compression, frame_bytes=4096) as writer,
        ):
            for exchange in (first, *group):
                writer.write(exchange)


def _calls(midnight: float) -> tuple[list[Exchange], str, str]:
    """An inbound request just before midnight, two calls it made to a dependency (one
    after midnight), a retry of it, one request never answered, one body kept in part."""
    correlation = "4bf92f3577b34da6a3ce929d0e0e4736"

    def call(at: float, path: str, **overrides: Any) -> Exchange:
        return make_exchange(
            at,
            request=make_request(
                host="grades.internal", path=path, timestamp_start=at, timestamp_end=at + 0.001
            ),
            response=make_response(timestamp_start=at + 0.02, timestamp_end=at + 0.05),
            recorder_id="deps",
            correlation_id=correlation,
            **overrides,
        )

    inbound = call(midnight - 0.5, "/api/users/7", endpoint="GET /api/users/{id}")
    made = [
        call(midnight + d, f"/grades/{n}", endpoint="GET /grades/{id}", parent_id=inbound.id)
        for n, d in ((1, -0.2), (2, 0.2))
    ]
    retry = call(midnight + 30, "/api/users/7", endpoint="GET /api/users/{id}")
    unanswered = make_exchange(
        midnight + 40,
        request=make_request(
            path="/api/reports/3", timestamp_start=midnight + 40, timestamp_end=midnight + 40.001
        ),
        response=None,
        error="connection refused",
        recorder_id="deps",
        endpoint="GET /api/reports/{id}",
    )
    large = make_exchange(
        midnight + 50,
        recorder_id="deps",
        endpoint="GET /api/export",
        response=make_response(
            headers=Headers([("Content-Type", "text/csv")]),
            body=Body.of(b"id,name\n" * 40_000, limit=4096),
            timestamp_start=midnight + 50.01,
            timestamp_end=midnight + 50.9,
        ),
    )
    return [inbound, *made, retry, unanswered, large], inbound.id, correlation


def build_store(path: Path) -> TestStore:
    """The fixtures' segment as recorded; its exchanges again as another recorder wrote them
    in the document's example window (zstd, many frames a segment) and across the next
    midnight (gzip); and a user request whose calls cross that midnight."""
    shutil.copytree(FIXTURES, path)
    recorded = sorted(iter_exchanges(open_store(FIXTURES)), key=lambda e: e.started_at)
    con = connect()
    run(con, QUERIES["window-parameters"])
    since = con.execute("SELECT getvariable('since')").fetchone()[0]  # type: ignore[index]
    con.close()
    store = open_store(path)
    start = since.replace(tzinfo=UTC).timestamp() - 20 * 60
    replica = [_moved(e, start + 20 * i, "replica") for i, e in enumerate(recorded)]
    _write_framed(store, replica, "replica", Compression.ZSTD)
    midnight = datetime.combine(since.date() + timedelta(days=1), time(0), UTC)
    start = midnight.timestamp() - 30 * 60
    late = [_moved(e, start + 20 * i, "late") for i, e in enumerate(recorded)]
    _write_framed(store, late, "late", Compression.GZIP)
    calls, inbound_id, correlation = _calls(midnight.timestamp())
    write_exchanges(store, calls, "deps")
    return TestStore(path, midnight.replace(tzinfo=None), inbound_id, correlation)


@dataclass
class Connect:
    """A DuckDB connection where `exchanges` is the store, and the store as Parity opens it."""

    con: duckdb.DuckDBPyConnection
    store: Store

    def __enter__(self) -> Connect:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.con.close()


def local_connection(path: Path) -> Connect:
    con = connect()
    run(con, QUERIES["setup"])
    run(con, substituted(QUERIES["local"], "'traffic'", f"'{path}'"))
    return Connect(con, open_store(path))


def s3_connection(path: Path, endpoint: str, bucket: str, client: Any) -> Connect:
    """The store's segments put into `bucket` under traffic/, read over moto's S3 API."""
    for segment in sorted(path.rglob("*.jsonl.*")):
        client.upload_file(str(segment), bucket, f"traffic/{segment.relative_to(path).as_posix()}")
    con = connect()
    load_httpfs(con)
    run(con, QUERIES["setup"])
    secret = substituted(
        QUERIES["s3-compatible"], "'127.0.0.1:9000'", f"'{endpoint.split('://')[1]}'"
    )
    run(con, substituted(secret, "s3://bucket/", f"s3://{bucket}/"))
    run(con, substituted(QUERIES["s3"], "s3://bucket/", f"s3://{bucket}/"))
    return Connect(con, open_store(f"s3://{bucket}/traffic?endpoint_url={endpoint}"))


def record_fields() -> dict[str, Any]:
    """The fields of a stored record, nested where they are objects: a body has `text` or
    `base64`, so both are there; `meta` is free-form JSON, so it has none."""

    def fields(value: Any) -> Any:
        return {k: fields(v) for k, v in value.items()} if isinstance(value, dict) else None

    text = make_exchange().to_record()
    binary = make_exchange(response=make_response(body=b"\xff\xfe")).to_record()
    both = {**fields(text["response"]["body"]), **fields(binary["response"]["body"])}
    record: dict[str, Any] = fields(text)
    record["request"]["body"] = record["response"]["body"] = both
    record["meta"] = None
    return record

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.errors import FormatVersionError, RecordError
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.ids import exchange_id_time, new_exchange_id
from parity.traffic.records import FORMAT_VERSION, MIGRATIONS
from tests.factories import T0, make_exchange, make_request

# Text that JSON can carry: anything but lone surrogates.
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
header_names = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_0123456789"),
    min_size=1,
    max_size=20,
)
pairs = st.lists(st.tuples(texts, texts), max_size=8)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@st.composite
def headers(draw: st.DrawFn) -> Headers:
    names = draw(st.lists(header_names, min_size=0, max_size=6))
    # Repeat some names in other cases, as clients do.
    names += (
        [n.swapcase() for n in draw(st.lists(st.sampled_from(names), max_size=3))] if names else []
    )
    return Headers((n, draw(texts)) for n in names)


@st.composite
def bodies(draw: st.DrawFn) -> Body:
    data = draw(st.one_of(st.binary(max_size=300), texts.map(str.encode)))
    limit = draw(st.none() | st.integers(min_value=0, max_value=300))
    return Body.of(data, limit)


@st.composite
def exchanges(draw: st.DrawFn) -> Exchange:
    start = draw(times)
    request = Request(
        method=draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])),
        scheme=draw(st.sampled_from(["http", "https"])),
        host=draw(texts),
        port=draw(st.integers(min_value=1, max_value=65535)),
        path=draw(texts),
        query=Query(draw(pairs)),
        headers=draw(headers()),
        body=draw(bodies()),
        http_version=draw(st.sampled_from(["HTTP/1.1", "HTTP/2.0"])),
        timestamp_start=start,
        timestamp_end=draw(st.none() | times),
    )
    response = draw(
        st.none()
        | st.builds(
            Response,
            status=st.integers(min_value=100, max_value=599),
            reason=texts,
            headers=headers(),
            body=bodies(),
            timestamp_start=st.none() | times,
            timestamp_end=st.none() | times,
        )
    )
    return Exchange(
        id=new_exchange_id(start),
        request=request,
        response=response,
        error=None if response else draw(st.none() | texts),
        recorder_id=draw(texts),
        endpoint=draw(st.none() | texts),
        correlation_id=draw(st.none() | texts),
        parent_id=draw(st.none() | texts),
        meta=draw(st.dictionaries(texts, st.none() | st.integers(-1000, 1000) | texts, max_size=3)),
    )


@settings(max_examples=300)
@given(exchanges())
def test_records_round_trip_losslessly_through_json(exchange: Exchange) -> None:
    record = orjson.loads(orjson.dumps(exchange.to_record()))
    assert Exchange.from_record(record) == exchange


def test_headers_keep_case_order_and_repeats_and_look_up_without_case() -> None:
    headers = Headers(
        [("Set-Cookie", "a=1"), ("content-type", "text/plain"), ("set-cookie", "b=2")]
    )
    assert headers.get("Content-Type") == "text/plain"
    assert headers.get_all("SET-COOKIE") == ["a=1", "b=2"]
    assert list(headers) == [
        ("Set-Cookie", "a=1"),
        ("content-type", "text/plain"),
        ("set-cookie", "b=2"),
    ]
    assert "CONTENT-TYPE" in headers
    assert Headers([("A", "1")]) != Headers([("a", "1")])


@pytest.mark.parametrize("bad", [[("a", 1)], [("a", "b", "c"), ("d",)], [("a", "b"), ("c", None)]])
def test_fields_refuse_anything_but_pairs_of_text(bad) -> None:
    with pytest.raises(TypeError, match=r"holds \(name, value\) pairs of str"):
        Headers(bad)


def test_query_is_an_ordered_multimap_and_encodes_in_order() -> None:
    query = Query([("tag", "web"), ("q", "py thon"), ("tag", "beginner")])
    assert query.get_all("tag") == ["web", "beginner"]
    assert query.get("Tag") is None
    assert query.encode() == "tag=web&q=py+thon&tag=beginner"
    assert make_request(path="/s", query=query).target == "/s?tag=web&q=py+thon&tag=beginner"


def test_text_bodies_are_stored_as_text_and_binary_as_base64() -> None:
    assert Body.of('{"name": "Zoë"}'.encode()).to_record()["text"] == '{"name": "Zoë"}'
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    record = Body.of(png).to_record()
    assert "text" not in record
    assert Body.from_record(record).content == png


def test_a_truncated_body_keeps_the_size_and_digest_of_the_whole() -> None:
    whole = Body.of(b"x" * 100)
    cut = Body.of(b"x" * 100, limit=10)
    assert cut.truncated and not whole.truncated
    assert (cut.size, cut.sha256) == (whole.size, whole.sha256)
    assert cut.content == b"x" * 10
    record = cut.to_record()
    assert record["truncated"] is True
    assert Body.from_record(record) == cut


def test_error_exchanges_round_trip_without_a_response() -> None:
    exchange = make_exchange(response=None, error="upstream refused the connection")
    assert Exchange.from_record(exchange.to_record()) == exchange


def test_ids_sort_by_time_and_carry_it() -> None:
    ids = [new_exchange_id(T0 + i) for i in range(50)]
    assert ids == sorted(ids)
    assert len({new_exchange_id(T0) for _ in range(1000)}) == 1000
    assert exchange_id_time(ids[3]) == pytest.approx(T0 + 3, abs=0.001)
    assert exchange_id_time("not-an-id") is None


def test_a_future_format_version_is_refused_naming_the_version() -> None:
    record = make_exchange().to_record()
    record["v"] = FORMAT_VERSION + 6
    with pytest.raises(FormatVersionError, match=f"format version {FORMAT_VERSION + 6}.*upgrade"):
        Exchange.from_record(record)


def test_older_versions_are_read_through_the_migration_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange = make_exchange()
    old = exchange.to_record()
    old["v"] = FORMAT_VERSION - 1
    old["recorder"] = old.pop("recorder_id")  # what an imagined older version called it

    def rename(record: dict[str, object]) -> dict[str, object]:
        record["recorder_id"] = record.pop("recorder")
        return record

    monkeypatch.setitem(MIGRATIONS, FORMAT_VERSION - 1, rename)
    assert Exchange.from_record(old) == exchange


def test_a_malformed_record_is_one_clear_error() -> None:
    record = make_exchange().to_record()
    del record["request"]["method"]
    with pytest.raises(RecordError, match=r"malformed.*method"):
        Exchange.from_record(record)
    with pytest.raises(RecordError, match="no format version"):
        Exchange.from_record({"id": "x"})

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from parity.errors import StoreError, UsageError
from parity.store import (
    LocalStore,
    SegmentExistsError,
    iter_exchanges,
    iter_records,
    open_store,
    write_exchanges,
)
from parity.store.segments import Compression, SegmentKey
from parity.store.writer import SegmentWriter
from tests.factories import T0, make_exchanges


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def test_open_store_understands_paths_file_urls_and_s3(tmp_path) -> None:
    assert isinstance(open_store(tmp_path), LocalStore)
    assert open_store(f"file://{tmp_path}").root == tmp_path
    s3 = open_store("s3://bucket/some/prefix/?endpoint_url=http://127.0.0.1:9")
    assert (s3.url, s3.endpoint_url) == ("s3://bucket/some/prefix", "http://127.0.0.1:9")
    with pytest.raises(UsageError, match="unsupported store URL 'gs://x'"):
        open_store("gs://x")
    with pytest.raises(UsageError, match="unknown option"):
        open_store("s3://bucket/p?region=eu")


def test_written_exchanges_come_back_in_order_across_hours(tmp_path) -> None:
    store = open_store(tmp_path)
    exchanges = make_exchanges(300, step=60)  # five hours
    keys = write_exchanges(store, exchanges, "rec-a", max_records=40)
    assert {k.partition for k in keys} == {
        f"date=2026-11-23/hour={h}" for h in ("10", "11", "12", "13", "14")
    }
    assert list(iter_exchanges(store)) == exchanges
    assert (tmp_path / "date=2026-11-23" / "hour=10" / "rec-a-000000.jsonl.zst").is_file()


def test_listing_and_reading_by_time_range(tmp_path) -> None:
    store = open_store(tmp_path)
    exchanges = make_exchanges(300, step=60)
    write_exchanges(store, exchanges, "rec-a", max_records=40)
    hours = {info.key.hour.hour for info in store.list_segments(at(3600 * 2), at(3600 * 3))}
    assert hours == {12}
    window = list(iter_exchanges(store, at(90 * 60), at(150 * 60)))
    assert window == exchanges[90:150]
    assert len(list(iter_records(store, at(90 * 60), at(150 * 60)))) == 60
    assert list(iter_exchanges(store, since=at(10**6))) == []


def test_sequence_numbers_continue_and_segments_are_never_overwritten(tmp_path) -> None:
    store = open_store(tmp_path)
    first = write_exchanges(store, make_exchanges(3), "rec-a")
    second = write_exchanges(store, make_exchanges(3), "rec-a")
    assert [k.seq for k in first + second] == [0, 1]
    with pytest.raises(SegmentExistsError, match="already exists"):
        with store.create_segment(first[0]) as stream:
            stream.write(b"")
    assert len(list(iter_exchanges(store))) == 6


def test_a_failed_write_leaves_nothing_behind(tmp_path) -> None:
    store = open_store(tmp_path)
    key = SegmentKey.for_time(T0, "rec-a", 1)
    with pytest.raises(RuntimeError), store.create_segment(key) as stream:
        SegmentWriter(stream).write(make_exchanges(1)[0])
        raise RuntimeError("writer died")
    assert list(store.list_segments()) == []
    assert os.listdir(tmp_path / ".parity-tmp") == []


def test_readers_never_see_a_partial_segment(tmp_path) -> None:
    store = open_store(tmp_path)
    key = SegmentKey.for_time(T0, "rec-a", 1)
    with store.create_segment(key) as stream:
        stream.write(b"half a segment")
        assert list(store.list_segments()) == []
    assert [info.key for info in store.list_segments()] == [key]


def test_other_files_in_the_directory_are_ignored(tmp_path) -> None:
    store = open_store(tmp_path)
    write_exchanges(store, make_exchanges(2), "rec-a", compression=Compression.GZIP)
    (tmp_path / "README.txt").write_text("notes")
    (tmp_path / "date=2026-11-23" / "hour=10" / "rec-a-000001.jsonl.zst.part").write_bytes(b"x")
    (tmp_path / "date=junk").mkdir()
    assert len(list(iter_exchanges(store))) == 2


def test_a_missing_directory_is_one_clear_sentence(tmp_path) -> None:
    with pytest.raises(StoreError, match=r"does not exist; record or import traffic into it first"):
        list(open_store(tmp_path / "nope").list_segments())


def test_an_unreadable_directory_is_one_clear_sentence(tmp_path, monkeypatch) -> None:
    store = open_store(tmp_path)
    write_exchanges(store, make_exchanges(2), "rec-a")

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(StoreError, match=r"cannot list store .* \(Permission denied\); check"):
        list(store.list_segments())

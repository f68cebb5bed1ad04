"""The background writer: never blocks, never loses or duplicates, survives a failing store."""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from parity.errors import StoreError, UsageError
from parity.store import LocalStore, iter_exchanges
from parity.store.reader import read_exchanges
from parity.store.segments import Compression, SegmentKey
from parity.traffic.exchange import Body
from recorder.writer import BackgroundWriter, WriterSettings
from tests.factories import T0, accounted, make_exchanges


class FlakyStore(LocalStore):
    """A local store whose uploads fail while `down` is set."""

    down = False

    @contextmanager
    def create_segment(self, key: SegmentKey) -> Iterator[IO[bytes]]:
        if self.down:
            raise StoreError("the store is down")
        with super().create_segment(key) as stream:
            yield stream


def settings(tmp_path, **overrides) -> WriterSettings:
    values = {
        "recorder_id": "w",
        "spool_dir": tmp_path / "spool",
        "segment_max_age": 0.2,
        "retry_initial": 0.05,
        "retry_max": 0.1,
        "flush_grace": 5.0,
    }
    values.update(overrides)
    return WriterSettings(**values)


def stored(store) -> list:
    return list(iter_exchanges(store)) if store.root.exists() else []


def wait_for(condition, timeout: float = 10.0) -> None:
    until = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < until, "timed out"
        time.sleep(0.05)


def test_everything_submitted_arrives_in_order(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    writer = BackgroundWriter(store, settings(tmp_path))
    writer.start()
    exchanges = make_exchanges(500, step=30)  # crosses hour boundaries
    assert all(writer.submit(e) for e in exchanges)
    assert writer.close()
    assert stored(store) == exchanges
    assert writer.stats["written"] == 500
    hours = {info.key.hour for info in store.list_segments()}
    assert len(hours) == 5  # a segment never spans an hour


def test_a_full_queue_drops_and_counts_without_blocking(tmp_path) -> None:
    writer = BackgroundWriter(LocalStore(tmp_path / "t"), settings(tmp_path, queue_size=100))
    started = time.monotonic()
    accepted = [writer.submit(e) for e in make_exchanges(1000)]
    assert time.monotonic() - started < 2.0
    assert accepted.count(True) == 100
    assert writer.stats["dropped_queue_full"] == 900
    writer.close()


def test_a_failing_store_spools_and_everything_arrives_once_when_it_is_back(tmp_path) -> None:
    store = FlakyStore(tmp_path / "traffic")
    store.down = True
    writer = BackgroundWriter(store, settings(tmp_path))
    writer.start()
    first = make_exchanges(100)
    for e in first:
        writer.submit(e)
    wait_for(lambda: writer.stats["segments_spooled"] >= 1)
    assert stored(store) == []
    later = make_exchanges(100, start=T0 + 200)
    assert all(writer.submit(e) for e in later)  # traffic keeps being accepted
    store.down = False
    assert writer.close()
    assert stored(store) == first + later
    assert writer.stats["upload_errors"] >= 1


def test_segments_left_by_a_stopped_writer_are_uploaded_at_the_next_start(tmp_path) -> None:
    store = FlakyStore(tmp_path / "traffic")
    store.down = True
    exchanges = make_exchanges(50)
    first = BackgroundWriter(store, settings(tmp_path, flush_grace=0.3))
    first.start()
    for e in exchanges:
        first.submit(e)
    assert not first.close()  # the store never came back: the segments stay spooled
    store.down = False
    second = BackgroundWriter(store, settings(tmp_path))
    second.start()
    assert second.close()
    assert second.stats["spool_recovered"] >= 1
    assert stored(store) == exchanges


def test_a_half_written_segment_of_a_killed_process_is_salvaged(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    exchanges = make_exchanges(400)
    killed = BackgroundWriter(store, settings(tmp_path, segment_max_age=3600))
    for e in exchanges:
        killed._write(e)  # what the thread would have done before the process died
    current = killed._open
    current.file.flush()
    data = current.path.read_bytes()
    current.file.close()
    current.path.write_bytes(data[: len(data) * 2 // 3])  # killed in the middle of a frame
    killed._lock_file.close()  # the process is gone, and so is its lock

    survivor = BackgroundWriter(store, settings(tmp_path))
    survivor.start()
    assert survivor.close()
    recovered = stored(store)
    assert 0 < len(recovered) < 400
    assert recovered == exchanges[: len(recovered)]


def test_an_upload_whose_answer_was_lost_is_not_duplicated(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    writer = BackgroundWriter(store, settings(tmp_path))
    for e in make_exchanges(10):
        writer._write(e)
    writer._close_open()
    item = writer._pending[0]
    with item.path.open("rb") as local, store.create_segment(item.key) as out:
        out.write(local.read())  # the upload went through, but we never heard back
    writer.close()
    assert len(stored(store)) == 10
    assert writer.stats["segments_uploaded"] == 1


def test_a_name_taken_by_another_process_is_replaced_not_overwritten(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    writer = BackgroundWriter(store, settings(tmp_path))
    mine = make_exchanges(10)
    for e in mine:
        writer._write(e)
    writer._close_open()
    other = BackgroundWriter(LocalStore(tmp_path / "traffic"), settings(tmp_path / "other"))
    with store.create_segment(writer._pending[0].key) as out:
        out.write(b"")  # someone else's segment under the same name
    writer.close()
    other.close()
    assert stored(store) == mine


def test_two_writers_cannot_share_a_spool_directory(tmp_path) -> None:
    first = BackgroundWriter(LocalStore(tmp_path / "t"), settings(tmp_path))
    with pytest.raises(UsageError, match="another recorder is using spool directory"):
        BackgroundWriter(LocalStore(tmp_path / "t"), settings(tmp_path))
    first.close()


def test_a_prepare_bug_is_counted_and_nothing_is_written(tmp_path) -> None:
    def broken(item: object) -> None:
        raise RuntimeError("bug")

    store = LocalStore(tmp_path / "traffic")
    writer = BackgroundWriter(store, settings(tmp_path), prepare=broken)
    writer.start()
    writer.submit(object())
    writer.close()
    assert writer.stats["prepare_errors"] == 1
    assert stored(store) == []


def test_a_record_larger_than_a_reader_holds_is_counted_not_written(tmp_path) -> None:
    from parity.store.reader import MAX_FRAME_BYTES

    store = LocalStore(tmp_path / "t")
    writer = BackgroundWriter(store, settings(tmp_path))
    small = make_exchanges(3)
    huge = dataclasses.replace(
        small[1],
        response=dataclasses.replace(small[1].response, body=Body.of(b"\x00" * MAX_FRAME_BYTES)),
    )
    writer.start()
    for exchange in (small[0], huge, small[2]):
        writer.submit(exchange)
    assert writer.close()
    assert stored(store) == [small[0], small[2]]
    stats = writer.stats.snapshot()
    assert stats["dropped_too_large"] == 1 and stats["written"] == 2


def test_written_counts_only_what_is_in_the_file_and_the_rest_is_in_flight(tmp_path) -> None:
    writer = BackgroundWriter(
        LocalStore(tmp_path / "traffic"), settings(tmp_path, segment_max_age=3600)
    )
    for e in make_exchanges(5):
        writer._write(e)  # gathered in the open frame: a kill now would lose them
    stats = writer.stats.snapshot()
    assert (stats["written"], stats["queue_depth"]) == (0, 5)
    writer._open.waiting_since = time.monotonic() - 5  # its second is up
    writer._make_durable()
    stats, ledger = writer.stats.state()
    assert (stats["written"], stats["queue_depth"]) == (5, 0)
    assert (ledger.settled, ledger.open_durable) == (5, 5)
    assert ledger.open_segment == writer._open.key.name
    writer.close()


def test_a_drop_sends_what_gathered_before_it_to_the_file_first(tmp_path) -> None:
    # Exchanges settle in the order they came, so a parent that holds the unsettled ones
    # can tell exactly which are left after any report.
    def prepare(item):
        if item is None:
            raise ValueError("unpreparable")
        return item

    reports = []
    writer = BackgroundWriter(
        LocalStore(tmp_path / "traffic"),
        settings(tmp_path, segment_max_age=3600),
        prepare=prepare,
        on_ledger=lambda: reports.append(writer.stats.state()[1]),
    )
    first, second = make_exchanges(2)
    writer._write(first)
    writer._write(None)
    writer._write(second)
    ledger = writer.stats.state()[1]
    assert ledger.settled == 2 and ledger.open_durable == 1  # the first, then the drop
    assert [r.settled for r in reports] == [0, 2]  # segment opened; the drop
    writer.close()
    stats = writer.stats.snapshot()
    assert stats["written"] == 2 and stats["prepare_errors"] == 1 and accounted(stats) == 3


def test_a_restart_says_how_many_records_it_found_beyond_those_reported(tmp_path) -> None:
    killed = BackgroundWriter(
        LocalStore(tmp_path / "traffic"), settings(tmp_path, segment_max_age=3600)
    )
    for e in make_exchanges(7):
        killed._write(e)
    killed._open.writer.flush()  # in the file, but no report said so before the kill
    name = killed._open.key.name
    killed._open.file.close()
    killed._lock_file.close()  # the process is gone, and so are its files and its lock

    survivor = BackgroundWriter(LocalStore(tmp_path / "traffic"), settings(tmp_path))
    assert survivor.recover((name, 3)) == 4
    assert survivor.close()
    assert len(stored(LocalStore(tmp_path / "traffic"))) == 7


def read_part(path: Path) -> list:
    with path.open("rb") as stream:
        return list(read_exchanges(stream, path.name, Compression.ZSTD))


def test_a_full_disk_under_the_spool_loses_only_what_is_counted(tmp_path, filesystems) -> None:
    spool = filesystems.mount(tmp_path / "spool", "2m")
    store = LocalStore(tmp_path / "traffic")
    writer = BackgroundWriter(store, settings(tmp_path, spool_dir=spool, segment_max_age=3600))
    writer.start()
    big = [
        dataclasses.replace(
            e, response=dataclasses.replace(e.response, body=Body.of(os.urandom(200_000)))
        )
        for e in make_exchanges(20)
    ]
    for e in big:
        writer.submit(e)
    writer.close()
    stats = writer.stats.snapshot()
    assert stats["dropped_write_error"] > 0
    assert accounted(stats) == 20 and stats["queue_depth"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the frame the disk could not take is cut
        left = [e for path in (spool / "open").iterdir() for e in read_part(path)]
    kept = stored(store) + left
    assert len(kept) > 0 and stats["written"] == len(kept)

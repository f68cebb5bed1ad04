"""The writer process: what the proxy hands over is written by a child process.

These tests start real child processes (`python -m recorder.worker`) talking
over pipes; no sockets.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time

import pytest
from mitmproxy.test import tflow, tutils

from parity.endpoint import EndpointRules
from parity.errors import UsageError
from parity.store import LocalStore, iter_exchanges
from recorder.convert import BodyLimits, snapshot
from recorder.worker import Preparer, WriterProcess
from recorder.writer import WriterSettings, lock_spool


def settings(tmp_path, **overrides) -> WriterSettings:
    values = {"recorder_id": "wp", "spool_dir": tmp_path / "spool", "segment_max_age": 0.2,
              "retry_initial": 0.05, "retry_max": 0.1, "flush_grace": 5.0}  # fmt: skip
    values.update(overrides)
    return WriterSettings(**values)


def flows(count: int, start: int = 0) -> list:
    return [
        snapshot(tflow.tflow(resp=True, req=tutils.treq(path=f"/api/users/{i}".encode())))
        for i in range(start, start + count)
    ]


def stored_paths(store: LocalStore) -> list[str]:
    return sorted(e.request.path for e in iter_exchanges(store)) if store.root.exists() else []


def wait_for(condition, timeout: float = 20.0) -> None:
    until = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < until, "timed out"
        time.sleep(0.05)


def test_everything_handed_over_is_written_by_the_child(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    writer = WriterProcess(str(store.root), settings(tmp_path), Preparer("wp"))
    writer.start()
    for snap in flows(50):
        assert writer.submit(snap)
    wait_for(lambda: writer.stats.snapshot()["written"] == 50)
    assert writer.close() is True

    assert stored_paths(store) == sorted(f"/api/users/{i}" for i in range(50))
    stats = writer.stats.snapshot()
    assert stats["written"] == 50
    assert stats["segments_uploaded"] >= 1
    assert stats["queue_depth"] == 0


def test_the_child_converts_with_the_addons_settings(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    prepare = Preparer(
        "wp",
        BodyLimits(max_body=4),
        ("X-Request-ID",),
        EndpointRules(templates=("/api/users/{user}",)),
    )
    assert pickle.loads(pickle.dumps(prepare)) == prepare
    flow = tflow.tflow(
        resp=True, req=tutils.treq(path=b"/api/users/7", headers=[(b"X-Request-ID", b"r-7")])
    )
    writer = WriterProcess(str(store.root), settings(tmp_path), prepare)
    writer.start()
    writer.submit(snapshot(flow))
    assert writer.close()

    (exchange,) = iter_exchanges(store)
    assert exchange.endpoint == "GET /api/users/{user}"
    assert exchange.correlation_id == "r-7"
    assert exchange.response.body.truncated
    assert len(exchange.response.body.content) == 4


def test_a_child_that_dies_is_replaced_and_later_traffic_is_written(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    writer = WriterProcess(str(store.root), settings(tmp_path), Preparer("wp"))
    writer.start()
    for snap in flows(10):
        writer.submit(snap)
    wait_for(lambda: writer.stats.snapshot()["segments_uploaded"] >= 1)
    first = writer._child
    os.kill(first.proc.pid, signal.SIGKILL)
    wait_for(lambda: writer.stats.snapshot()["writer_restarts"] == 1)
    for snap in flows(10, start=10):
        writer.submit(snap)
    assert writer.close()

    # What the first child had uploaded stays; everything handed over after it died arrives.
    assert stored_paths(store) == sorted(f"/api/users/{i}" for i in range(20))
    assert writer.stats.snapshot()["writer_restarts"] == 1


def test_a_full_queue_drops_and_counts_in_the_proxy(tmp_path) -> None:
    writer = WriterProcess(
        str(tmp_path / "traffic"), settings(tmp_path, queue_size=3), Preparer("wp")
    )
    kept = [writer.submit(snap) for snap in flows(5)]  # not started: nothing ships
    assert kept == [True, True, True, False, False]
    assert writer.stats.snapshot()["dropped_queue_full"] == 2
    assert writer.stats.snapshot()["queue_depth"] == 3
    assert writer.close()  # starts a child to write out the three it holds
    assert len(stored_paths(LocalStore(tmp_path / "traffic"))) == 3


def test_a_bad_store_url_is_refused_before_any_process_starts(tmp_path) -> None:
    with pytest.raises(UsageError, match="unsupported store URL"):
        WriterProcess("gs://bucket", settings(tmp_path), Preparer("wp"))


def test_a_spool_held_by_another_process_is_waited_for_then_refused(tmp_path) -> None:
    spool = tmp_path / "spool"
    held = lock_spool(spool)
    threading.Timer(0.3, held.close).start()
    lock_spool(spool, wait=5.0).close()  # released while waiting

    held = lock_spool(spool)
    try:
        with pytest.raises(UsageError, match="another recorder is using spool directory"):
            lock_spool(spool, wait=0.2)
    finally:
        held.close()


def test_the_last_counters_say_what_the_spool_still_holds(tmp_path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("the store cannot be created under a file")
    writer = WriterProcess(str(blocked / "traffic"), settings(tmp_path, flush_grace=1.0),
                           Preparer("wp"))  # fmt: skip
    writer.start()
    for snap in flows(5):
        writer.submit(snap)
    wait_for(lambda: writer.stats.snapshot()["upload_errors"] >= 1)
    assert writer.close() is False
    left = list((tmp_path / "spool" / "pending").iterdir())
    assert left
    assert writer.stats.snapshot()["pending_segments"] == len(left)

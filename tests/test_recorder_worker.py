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

from parity.errors import UsageError
from parity.proxy.convert import BodyLimits, snapshot
from parity.store import LocalStore, iter_exchanges
from parity.traffic.endpoint import EndpointRules
from recorder.prepare import Preparer
from recorder.process import WriterProcess
from recorder.spool import lock_spool
from recorder.writer import WriterSettings
from tests.factories import accounted


def settings(tmp_path, **overrides) -> WriterSettings:
    values = {
        "recorder_id": "wp",
        "spool_dir": tmp_path / "spool",
        "segment_max_age": 0.2,
        "retry_initial": 0.05,
        "retry_max": 0.1,
        "flush_grace": 5.0,
    }
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


def test_a_writer_killed_as_it_starts_is_started_again_not_a_refusal(tmp_path, monkeypatch) -> None:
    # Under load a writer can take seconds to start; one killed from outside by then (an
    # operator, the OOM killer) says nothing about the store: the recorder starts another
    # rather than refusing to record, which would stop the proxy.
    import recorder.process
    from recorder.child import Child

    killed: list[int] = []

    class KilledTwice(Child):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            if len(killed) < 2:
                killed.append(self.proc.pid)
                os.kill(self.proc.pid, signal.SIGKILL)

    monkeypatch.setattr(recorder.process, "Child", KilledTwice)
    store = LocalStore(tmp_path / "traffic")
    writer = WriterProcess(str(store.root), settings(tmp_path), Preparer("wp"))
    writer.start()
    for snap in flows(5):
        assert writer.submit(snap)
    assert writer.close() is True
    assert len(killed) == 2
    assert stored_paths(store) == sorted(f"/api/users/{i}" for i in range(5))
    assert writer.stats.snapshot()["writer_restarts"] == 2


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
    writer = WriterProcess(
        str(blocked / "traffic"), settings(tmp_path, flush_grace=1.0), Preparer("wp")
    )
    writer.start()
    for snap in flows(5):
        writer.submit(snap)
    wait_for(lambda: writer.stats.snapshot()["upload_errors"] >= 1)
    assert writer.close() is False
    left = list((tmp_path / "spool" / "pending").iterdir())
    assert left
    assert writer.stats.snapshot()["pending_segments"] == len(left)


def test_children_killed_mid_traffic_lose_nothing_and_duplicate_nothing(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    writer = WriterProcess(
        str(store.root), settings(tmp_path, segment_max_age=3600), Preparer("wp")
    )
    writer.start()
    sent = 0
    for round_ in range(3):
        for snap in flows(150, start=sent):
            writer.submit(snap)
            time.sleep(0.002)  # traffic, not one burst: some settled, some in flight
        sent += 150
        assert accounted(writer.stats.snapshot()) == sent  # in every counter line
        os.kill(writer._child.proc.pid, signal.SIGKILL)
        wait_for(lambda r=round_: writer.stats.snapshot()["writer_restarts"] == r + 1)
        assert accounted(writer.stats.snapshot()) == sent
    assert writer.close()

    assert stored_paths(store) == sorted(f"/api/users/{i}" for i in range(sent))
    stats = writer.stats.snapshot()
    assert stats["written"] == sent and stats["queue_depth"] == 0
    assert accounted(stats) == sent


def test_what_a_killed_child_wrote_after_its_last_report_is_not_sent_again(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    writer = WriterProcess(
        str(store.root), settings(tmp_path, segment_max_age=3600), Preparer("wp")
    )
    writer.start()
    open_dir = tmp_path / "spool" / "open"
    sent, found = 0, 0
    for _ in range(5):  # a report can come between the frame and the kill; rarely twice
        for snap in flows(10, start=sent):
            writer.submit(snap)
        sent += 10
        child = writer._child
        size = sum(p.stat().st_size for p in open_dir.glob("*.part"))
        # The kill comes as soon as the frame's second is up and it reaches the file, before
        # the child's next report (every half second) can say so.
        wait_for(lambda s=size: sum(p.stat().st_size for p in open_dir.glob("*.part")) > s)
        os.kill(child.proc.pid, signal.SIGKILL)
        wait_for(lambda c=child: writer._child not in (None, c))
        found = writer._child.found
        if found:
            break
    assert found > 0
    assert writer.close()
    assert stored_paths(store) == sorted(f"/api/users/{i}" for i in range(sent))
    assert writer.stats.snapshot()["written"] == sent


def crash_on_poison(exchange):
    """A sanitiser with a bug that takes its process down on one request."""
    if exchange.request.path == "/poison":
        os._exit(70)
    return exchange


def test_a_crash_loop_gives_up_what_the_crashing_child_held_and_counts_it(tmp_path) -> None:
    store = LocalStore(tmp_path / "traffic")
    writer = WriterProcess(
        str(store.root),
        settings(tmp_path, segment_max_age=3600),
        Preparer("wp", sanitizer=crash_on_poison),
    )
    writer.start()
    for snap in flows(5):
        writer.submit(snap)
    wait_for(lambda: writer.stats.snapshot()["written"] == 5)
    writer.submit(snapshot(tflow.tflow(resp=True, req=tutils.treq(path=b"/poison"))))
    wait_for(lambda: writer.stats.snapshot()["dropped_writer_died"] == 1)
    assert accounted(writer.stats.snapshot()) == 6
    for snap in flows(5, start=5):
        writer.submit(snap)
    assert writer.close()

    assert stored_paths(store) == sorted(f"/api/users/{i}" for i in range(10))
    stats = writer.stats.snapshot()
    assert stats["writer_restarts"] >= 2 and stats["written"] == 10
    assert accounted(stats) == 11

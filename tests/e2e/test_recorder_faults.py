"""The recorder under faults: traffic flows on, nothing is lost uncounted or duplicated.

moto's S3 server runs in this process, so its buckets survive stopping and
starting the server thread, while the real mitmdump sees the endpoint vanish
and come back. The writer process is killed on its own and with the proxy; a
local store on a filesystem of its own turns read-only and back.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import httpx
import psutil
import pytest
from moto.server import ThreadedMotoServer

from examples.processes import Process, parity, port_open, python, running
from fixtures.record import plan
from parity.store import LocalStore, iter_exchanges
from parity.store.s3 import S3Store
from tests.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.s3]


class RestartableS3:
    """A moto S3 server on a fixed loopback port that can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


@pytest.fixture
def s3() -> Iterator[RestartableS3]:
    server = RestartableS3()
    server.start()
    httpx.post(f"{server.url}/moto-api/reset").raise_for_status()
    boto3.client("s3", endpoint_url=server.url, region_name="us-east-1").create_bucket(
        Bucket="faults"
    )
    try:
        yield server
    finally:
        server.stop()


def recorder(
    port: int,
    monolith_port: int,
    s3: RestartableS3 | Path,
    spool: Path,
    age: int = 1,
    stats: int = 0,
) -> list[str]:
    store = str(s3) if isinstance(s3, Path) else f"s3://faults/traffic?endpoint_url={s3.url}"
    return parity(
        "record",
        "--upstream",
        f"http://127.0.0.1:{monolith_port}",
        "--listen",
        f"127.0.0.1:{port}",
        "--recorder-id",
        "faulty",
        "--store",
        store,
        "--spool-dir",
        str(spool),
        "--set",
        f"parity_segment_max_age={age}",
        "--set",
        "parity_retry_max=1",
        "--set",
        "parity_flush_grace=30",
        "--set",
        f"parity_stats_interval={stats}",
        # These tests follow each exchange through faults by its bodies, byte for byte.
        "--set",
        "parity_sanitize=off",
        # Some start with S3 down on purpose: the store is expected to come up later.
        "--set",
        "parity_store_check=off",
    )


@contextmanager
def recording(tmp_path: Path, store: RestartableS3 | Path, age: int = 1) -> Iterator[Process]:
    """The example monolith with a recorder in front of it, writing to `store`: the proxy."""
    monolith_port, proxy_port = free_port(), free_port()
    with (
        running(
            "monolith",
            python("-m", "examples.monolith", "--port", str(monolith_port)),
            port=monolith_port,
            log_dir=tmp_path,
        ),
        running(
            "recorder",
            recorder(proxy_port, monolith_port, store, tmp_path / "spool", age),
            port=proxy_port,
            log_dir=tmp_path,
            ready=port_open(proxy_port),
        ) as proxy,
    ):
        yield proxy


def send(proxy_url: str) -> list[tuple[object, ...]]:
    sent = []
    with httpx.Client(base_url=proxy_url, trust_env=False, timeout=10) as client:
        for call in plan():
            response = client.request(
                call.method,
                call.path,
                params=call.params or None,
                content=call.body or None,
                headers=call.headers,
            )
            url = response.request.url
            sent.append(
                (
                    call.method,
                    url.raw_path.decode().partition("?")[0],
                    tuple(url.params.multi_items()),
                    response.status_code,
                    response.content,
                )
            )
    return sent


def in_bucket(s3: RestartableS3 | Path) -> Counter[tuple[object, ...]]:
    store = (
        LocalStore(s3)
        if isinstance(s3, Path)
        else S3Store("faults", "traffic", endpoint_url=s3.url)
    )
    return Counter(
        (
            e.request.method,
            e.request.path,
            e.request.query.fields,
            e.response.status if e.response else 0,
            e.response.body.content if e.response else b"",
        )
        for e in iter_exchanges(store)
    )


def counter(output: str, name: str) -> int:
    values = re.findall(rf"\b{name} (\d+)", output)
    return int(values[-1]) if values else 0


def last_counters(output: str) -> dict[str, int]:
    """The recorder's last counter line, by name."""
    lines = [line for line in output.splitlines() if "captured " in line]
    assert lines, output
    return {name: int(value) for name, value in re.findall(r"(\w+) (\d+)", lines[-1])}


def assert_accounted(output: str, answered: int | None = None) -> dict[str, int]:
    """Every exchange answered was captured, and is written, in a named drop counter or,
    while the recorder runs, in flight (`queue_depth`); at the end nothing is in flight."""
    figures = last_counters(output)
    drops = {k: v for k, v in figures.items() if k.startswith("dropped_") or k == "prepare_errors"}
    in_flight = figures["queue_depth"]
    assert figures["captured"] == figures["written"] + sum(drops.values()) + in_flight, figures
    if answered is not None:
        assert figures["captured"] == answered, figures
        assert in_flight == 0, figures
    return figures


def children_of(pid: int, timeout: float = 10.0) -> list[psutil.Process]:
    """The processes `pid` started, once it has started any: mitmproxy listens before it
    calls its addons' `running` hook, where the recorder starts its writer process."""
    deadline = time.monotonic() + timeout
    while not (children := psutil.Process(pid).children()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return children


def test_traffic_flows_while_s3_is_down_and_everything_arrives_once(tmp_path, s3) -> None:
    with recording(tmp_path, s3) as proxy:
        before = send(proxy.url)
        deadline = time.monotonic() + 20
        while sum(in_bucket(s3).values()) < len(before):
            assert time.monotonic() < deadline, "the first exchanges never reached S3"
            time.sleep(0.5)

        s3.stop()
        during = send(proxy.url)
        # The proxy answered as before: the same statuses for every read (writes differ
        # because the monolith remembers them: enrolling twice is a conflict), no 502.
        assert 502 not in [row[3] for row in during]
        reads = [i for i, row in enumerate(before) if row[0] == "GET"]
        assert [during[i][3] for i in reads] == [before[i][3] for i in reads]
        time.sleep(3)  # segments close and their uploads fail

        s3.start()
        after = send(proxy.url)
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()

    assert in_bucket(s3) == Counter(before + during + after)
    output = proxy.output()
    assert counter(output, "segments_spooled") >= 1, output
    assert counter(output, "upload_errors") >= 1
    assert assert_accounted(output, len(before + during + after))["dropped_queue_full"] == 0


def test_a_killed_recorders_spool_is_uploaded_by_the_next_one(tmp_path, s3) -> None:
    monolith_port, first_port, second_port = free_port(), free_port(), free_port()
    spool = tmp_path / "spool"
    with running(
        "monolith",
        python("-m", "examples.monolith", "--port", str(monolith_port)),
        port=monolith_port,
        log_dir=tmp_path,
    ):
        s3.stop()
        with running(
            "first",
            recorder(first_port, monolith_port, s3, spool),
            port=first_port,
            log_dir=tmp_path,
            ready=port_open(first_port),
        ) as first:
            sent = send(first.url)
            time.sleep(3)  # the segments close, fail to upload, and wait in the spool
            # The proxy and its writer process die together, as when a machine goes down.
            for child in psutil.Process(first.proc.pid).children(recursive=True):
                child.kill()
            first.stop(signal.SIGKILL)
        assert list((spool / "faulty" / "pending").iterdir())

        s3.start()
        with running(
            "second",
            recorder(second_port, monolith_port, s3, spool),
            port=second_port,
            log_dir=tmp_path,
            ready=port_open(second_port),
        ) as second:
            assert second.stop(signal.SIGTERM) == 0, second.output()

    assert in_bucket(s3) == Counter(sent)
    assert counter(second.output(), "spool_recovered") >= 1


def test_a_killed_proxys_writer_process_still_writes_what_it_was_handed(tmp_path, s3) -> None:
    monolith_port, proxy_port = free_port(), free_port()
    with running(
        "monolith",
        python("-m", "examples.monolith", "--port", str(monolith_port)),
        port=monolith_port,
        log_dir=tmp_path,
    ):
        # Segments stay open for a minute: only the writer's own shutdown can close them.
        with running(
            "recorder",
            recorder(proxy_port, monolith_port, s3, tmp_path / "spool", 60),
            port=proxy_port,
            log_dir=tmp_path,
            ready=port_open(proxy_port),
        ) as proxy:
            (writer,) = children_of(proxy.proc.pid)
            sent = send(proxy.url)
            time.sleep(1)  # shipped to the writer process
            assert sum(in_bucket(s3).values()) == 0
            proxy.stop(signal.SIGKILL)
        writer.wait(timeout=60)

    assert in_bucket(s3) == Counter(sent)


def test_a_whole_recorder_killed_loses_at_most_the_last_second(tmp_path, s3) -> None:
    # Segments stay open for a minute, so nothing is closed or uploaded before the kill:
    # what survives is what the writer handed to the open segment's file on its timer.
    monolith_port, first_port, second_port = free_port(), free_port(), free_port()
    spool = tmp_path / "spool"
    with running(
        "monolith",
        python("-m", "examples.monolith", "--port", str(monolith_port)),
        port=monolith_port,
        log_dir=tmp_path,
    ):
        with running(
            "first",
            recorder(first_port, monolith_port, s3, spool, 60, stats=1),
            port=first_port,
            log_dir=tmp_path,
            ready=port_open(first_port),
        ) as first:
            sent = send(first.url)
            time.sleep(1 + 2)  # the frame's second, and time to ship and write
            assert sum(in_bucket(s3).values()) == 0
            # The proxy and its writer process die together, as when a machine goes down.
            for child in psutil.Process(first.proc.pid).children(recursive=True):
                child.kill()
            first.stop(signal.SIGKILL)
        assert list((spool / "faulty" / "open").iterdir())  # the open segment, not closed

        with running(
            "second",
            recorder(second_port, monolith_port, s3, spool),
            port=second_port,
            log_dir=tmp_path,
            ready=port_open(second_port),
        ) as second:
            assert second.stop(signal.SIGTERM) == 0, second.output()

    assert in_bucket(s3) == Counter(sent)  # everything older than a second, once
    # Its counter lines added up while it ran: what was not written was in flight.
    assert assert_accounted(first.output())["captured"] <= len(sent)


def test_the_writer_process_killed_mid_traffic_loses_nothing(tmp_path, s3) -> None:
    # Segments stay open, so what the killed writers had made durable sits in open
    # segments their replacements salvage, beside what they had not settled yet.
    with recording(tmp_path, s3, age=60) as proxy:
        sent: list[tuple[object, ...]] = []
        traffic = threading.Thread(target=lambda: [sent.extend(send(proxy.url)) for _ in range(3)])
        traffic.start()
        killed = []
        while traffic.is_alive() and len(killed) < 3:
            time.sleep(1.3)
            for writer in children_of(proxy.proc.pid):
                writer.kill()
                killed.append(writer.pid)
        traffic.join()
        assert len(killed) >= 2
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()

    # The clients' answers did not change: every read answered as in the first round (the
    # bodies carry request ids and times; writes differ as the monolith remembers them).
    rounds = [sent[i : i + len(plan())] for i in range(0, len(sent), len(plan()))]
    reads = [i for i, call in enumerate(plan()) if call.method == "GET"]
    for later in rounds[1:]:
        assert [later[i][3] for i in reads] == [rounds[0][i][3] for i in reads]
    assert in_bucket(s3) == Counter(sent)  # each answered exchange once
    figures = assert_accounted(proxy.output(), len(sent))
    assert figures["written"] == len(sent)
    # Each death is followed by a replacement; a kill that lands on a replacement still
    # starting is retried as one start, so there may be fewer restarts than kills.
    assert 1 <= figures["writer_restarts"] <= len(killed)


def test_a_store_that_turns_read_only_and_back_gets_everything_once(tmp_path, filesystems) -> None:
    store = filesystems.mount(tmp_path / "store", "64m")
    with recording(tmp_path, store) as proxy:
        before = send(proxy.url)
        filesystems.read_only(store)
        during = send(proxy.url)
        time.sleep(3)  # segments close and their uploads fail
        filesystems.writable(store)
        after = send(proxy.url)
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()

    assert 502 not in [row[3] for row in before + during + after]
    assert in_bucket(store) == Counter(before + during + after)
    output = proxy.output()
    assert counter(output, "upload_errors") >= 1, output
    figures = assert_accounted(output, len(before + during + after))
    assert figures["pending_segments"] == 0

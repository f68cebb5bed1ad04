"""The writer process: ``python -m recorder.worker``, started by `recorder.process`.

It reads its configuration and then batches of snapshots from stdin, runs a
`BackgroundWriter` on them (segments, spool, uploads), and reports its counters
and ledger as JSON lines on stdout. It ignores SIGINT and SIGTERM and exits when
its stdin closes, having written out what it was given: when the recorder stops,
and also when mitmproxy is killed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import pickle
import signal
import sys
import threading
import time
from typing import Any, Final

from parity.errors import ParityError
from parity.logs import logger as parity_logger
from parity.store import open_store
from recorder.pipe import lock_wait, read_frame
from recorder.writer import BackgroundWriter

# Run as a process, not imported: `main` is its entry point.
__all__: list[str] = []

_STATS_EVERY: Final = 0.5
_NICENESS: Final = 10


class _Reports:
    """JSON lines to the proxy on a pipe; silent once the proxy is gone."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._gone = False

    def emit(self, event: str, **fields: Any) -> None:
        data = (json.dumps({"event": event, **fields}) + "\n").encode()
        with self._lock:
            if self._gone:
                return
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError:
                self._gone = True


def main() -> int:
    """The writer process: frames of snapshots on stdin, reports on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Background work: when it competes with the proxy for a core, the proxy wins.
    with contextlib.suppress(OSError):
        os.nice(_NICENESS)
    # Reports own stdout; anything else printed goes to stderr with the logs.
    reports = _Reports(os.dup(1))
    os.dup2(2, 1)
    logging.basicConfig(
        level=logging.INFO,
        format="[%(asctime)s.%(msecs)03d] %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    log = parity_logger(__name__)
    source = sys.stdin.buffer
    config = read_frame(source)
    if config is None:
        return 0
    writer: BackgroundWriter | None = None

    def report(event: str = "stats", **fields: Any) -> None:
        assert writer is not None
        counters, ledger = writer.stats.state()
        reports.emit(event, counters=counters, ledger=dataclasses.asdict(ledger), **fields)

    try:
        store_url, settings, prepare, reconcile = pickle.loads(config)
        writer = BackgroundWriter(
            open_store(store_url),
            settings,
            logger=log,
            prepare=prepare,
            lock_wait=lock_wait(settings),
            on_ledger=report,
        )
    except ParityError as exc:
        reports.emit("error", message=str(exc))
        return 2
    # Salvaged before anything new is taken, so the proxy learns what is there already.
    found = writer.recover(reconcile)
    writer.start()
    reports.emit("ready", found=found)
    ended = threading.Event()

    def receive() -> None:
        while (frame := read_frame(source)) is not None:
            for item in pickle.loads(frame):
                while writer.backlog >= settings.queue_size:
                    time.sleep(0.01)  # the pipe fills up and the proxy's queue takes over
                writer.submit(item)
        ended.set()

    threading.Thread(target=receive, name="parity-receiver", daemon=True).start()
    while not ended.wait(_STATS_EVERY):
        report()
    ok = writer.close()
    report("closed", ok=ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One writer process as the proxy sees it: started, heard from, finished or killed.

A `Child` runs ``python -m recorder.worker``, sends it its configuration, and
keeps what it reports on a thread of its own: its counters, its ledger, and so
which of the exchanges shipped to it are not settled yet. `recorder.process`
ships to it, and replaces it when it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from typing import Any, Final

from parity.errors import StoreError
from parity.proxy.convert import Snapshot
from recorder.counters import Ledger
from recorder.pipe import Reconcile, send_frame

#: Exit codes of a process stopped by a signal from outside (a kill, an operator, the
#: OOM killer), not by anything it found wrong.
KILLED: Final = (-signal.SIGKILL, -signal.SIGTERM, -signal.SIGINT)


class WriterKilled(StoreError):
    """The writer process was stopped from outside while it started: nothing says that
    the next one cannot start."""


__all__ = ["Child"]

_PIPE_BYTES: Final = 1 << 20
_START_TIMEOUT: Final = 60.0


class Child:
    """One running writer process, what it has reported, and what it holds unsettled."""

    def __init__(self, config: bytes, log: logging.Logger, lock: threading.Lock) -> None:
        self._log = log
        self._lock = lock
        # The child imports what the proxy could import (the addon may run from a
        # checkout), so a custom sanitiser's module is found too.
        path = os.pathsep.join(entry for entry in sys.path if entry)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "recorder.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            env={**os.environ, "PYTHONPATH": path},
        )
        with contextlib.suppress(OSError, AttributeError):
            # A roomier pipe: a batch goes in with one write instead of many small ones.
            assert self.proc.stdin is not None
            fcntl.fcntl(self.proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        self.ready = threading.Event()
        self.exited = threading.Event()
        self.error: str | None = None
        self.closed_ok: bool | None = None
        self.counters: dict[str, int] = {}
        self.ledger = Ledger()
        #: Records the child found, salvaging its predecessor's segment, beyond those reported.
        self.found = 0
        #: Exchanges shipped to it that it has not reported settled, oldest first.
        self.unsettled: deque[Snapshot] = deque()
        self.alive = True
        threading.Thread(target=self._read, name="parity-writer-reports", daemon=True).start()
        assert self.proc.stdin is not None
        try:
            send_frame(self.proc.stdin, config)
        except OSError:
            self.alive = False

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
                event = message["event"]
            except (ValueError, KeyError, TypeError):
                continue
            if event == "ready":
                self.found = int(message.get("found", 0))
                self.ready.set()
            elif event == "error":
                self.error = str(message.get("message"))
                self.ready.set()
            elif event in ("stats", "closed"):
                self._take_report(message)
                if event == "closed":
                    self.closed_ok = bool(message.get("ok"))
        self.proc.stdout.close()
        self.alive = False
        self.ready.set()
        self.exited.set()

    def _take_report(self, message: dict[str, Any]) -> None:
        counters = {k: int(v) for k, v in message.get("counters", {}).items()}
        ledger = Ledger(**message.get("ledger", {}))
        with self._lock:
            for _ in range(min(ledger.settled - self.ledger.settled, len(self.unsettled))):
                self.unsettled.popleft()
            self.counters, self.ledger = counters, ledger

    @property
    def reconcile(self) -> Reconcile:
        ledger = self.ledger
        return None if ledger.open_segment is None else (ledger.open_segment, ledger.open_durable)

    def wait_ready(self) -> None:
        """Return once the child writes; raise with its reason when it cannot."""
        if not self.ready.wait(_START_TIMEOUT):
            self.kill()
            raise StoreError(
                f"the recorder's writer process did not start within {_START_TIMEOUT:.0f} s"
            )
        if self.error is not None:
            self.finish(5.0)
            raise StoreError(self.error)
        if not self.alive:
            self.finish(5.0)
            code = self.proc.returncode
            if code in KILLED:
                raise WriterKilled(
                    f"the recorder's writer process was stopped from outside as it started "
                    f"(code {code})"
                )
            raise StoreError(
                f"the recorder's writer process exited at start (code {code}); "
                "its output above says why"
            )

    def send(self, payload: bytes) -> None:
        assert self.proc.stdin is not None
        send_frame(self.proc.stdin, payload)

    def finish(self, timeout: float) -> bool:
        """Close its input and wait for it to write out and exit; True if all was uploaded."""
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._log.warning(
                f"parity: the writer process did not finish within {timeout:.0f} s; what it "
                "had not written stays in the spool for the next start"
            )
            self.kill()
        self.exited.wait(5.0)
        return self.closed_ok is True

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()

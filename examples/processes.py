"""Running real processes on loopback ports: the example services, a recorder.

Used by the fixture recorder and the end-to-end tests: a process is started,
waited for until it is ready, and always stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Process:
    """A started process, its port and where its output goes."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send `sig` and wait for the process to exit; kill it if it does not."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not stop within {timeout:.0f} s") from None
        return self.proc.returncode


def port_open(port: int) -> Callable[[], bool]:
    """A readiness check that sends no request: something accepts connections on `port`."""

    def check() -> bool:
        with socket.socket() as sock:
            sock.settimeout(1.0)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    return check


def answers(url: str) -> Callable[[], bool]:
    """A readiness check: `url` answers an HTTP GET (any status)."""

    def check() -> bool:
        try:
            httpx.get(url, timeout=1.0, trust_env=False)
        except httpx.TransportError:
            return False
        return True

    return check


@contextmanager
def running(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    log_dir: Path,
    ready: Callable[[], bool] | None = None,
    deadline: float = 30.0,
    env: dict[str, str] | None = None,
) -> Iterator[Process]:
    """Start `command`, wait until `ready()` (default: its port answers HTTP), stop it after."""
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(command),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    process = Process(name, proc, port, log)
    try:
        check = ready or answers(f"http://127.0.0.1:{port}/")
        until = time.monotonic() + deadline
        while not check():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{process.output()}")
            if time.monotonic() > until:
                raise AssertionError(f"{name} was not ready within {deadline:.0f} s")
            time.sleep(0.1)
        yield process
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def parity(*args: str) -> list[str]:
    return [sys.executable, "-m", "parity.cli", *args]

"""Shared fixtures: real servers on 127.0.0.1, started and stopped by the tests."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.processes import free_port

__all__ = ["free_port"]


def pytest_report_header() -> str:
    """Which interpreter and mitmproxy line this run tests: both are supported in pairs."""
    try:
        mitmproxy = f"mitmproxy {importlib.metadata.version('mitmproxy')}"
    except importlib.metadata.PackageNotFoundError:
        mitmproxy = "mitmproxy not installed"
    return f"parity: Python {platform.python_version()} ({sys.executable}), {mitmproxy}"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server running on loopback for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_client(moto_endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    httpx.post(f"{moto_endpoint}/moto-api/reset").raise_for_status()
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def s3_bucket(s3_client) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty bucket on the moto server."""
    name = f"parity-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


class Filesystems:
    """Small real filesystems (tmpfs) for faults a directory cannot show: a full disk, a
    store that turns read-only and back. Mounting needs the privilege to mount (CI's
    containers run as root); without it the test is skipped and says why."""

    def __init__(self) -> None:
        self._mounted: list[Path] = []

    def _run(self, *args: str) -> None:
        result = subprocess.run(args, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            pytest.skip(f"needs the privilege to mount a tmpfs ({result.stderr.strip()})")

    def mount(self, path: Path, size: str) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        self._run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
        self._mounted.append(path)
        return path

    def read_only(self, path: Path) -> None:
        self._run("mount", "-o", "remount,ro", str(path))

    def writable(self, path: Path) -> None:
        self._run("mount", "-o", "remount,rw", str(path))

    def unmount_all(self) -> None:
        for path in reversed(self._mounted):
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@pytest.fixture
def filesystems() -> Iterator[Filesystems]:
    mounts = Filesystems()
    try:
        yield mounts
    finally:
        mounts.unmount_all()

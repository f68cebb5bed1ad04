"""Each example service starts with one command, answers over real HTTP, and stops cleanly."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from examples import data

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(client: httpx.Client, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the service exited early with {proc.returncode}"
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"/health did not answer within {STARTUP_DEADLINE:.0f} s")


@pytest.mark.parametrize(
    ("name", "server"),
    [("monolith", "learning-monolith/1.0"), ("candidate", "learning-candidate/2.0")],
)
def test_service_serves_and_stops(name, server, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", f"examples.{name}", "--port", str(port)]
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with (
        stdout.open("wb") as out,
        stderr.open("wb") as err,
        subprocess.Popen(command, cwd=REPO_ROOT, stdout=out, stderr=err) as proc,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=5) as client,
    ):
        try:
            wait_until_healthy(client, proc)
            health = client.get("/health")
            assert health.headers["server"] == server
            assert health.json()["status"] == "ok"

            user = client.get("/api/users/1")
            assert user.status_code == 200
            assert user.json()["name"] == "Ada Lovelace"
            assert user.headers["x-request-id"] == user.json()["request_id"]

            assert client.get("/api/users/99").json()["error"] == "user 99 not found"

            thumbnail = client.get(f"/api/courses/{data.COURSES[0].id}/thumbnail.png")
            assert thumbnail.headers["content-type"] == "image/png"
            assert thumbnail.content == data.thumbnail_png(data.COURSES[0].id)

            query = "query GetUser($id: ID!) { user(id: $id) { id name } }"
            body = {"query": query, "operationName": "GetUser", "variables": {"id": "2"}}
            answer = client.post("/graphql", json=body).json()
            assert answer["data"] == {"user": {"id": "2", "name": "Alan Turing"}}
        finally:
            proc.terminate()
            try:
                returncode = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"examples.{name} did not exit within 10 s of SIGTERM")
    assert returncode == 0, stderr.read_text()
    assert f"listening on http://127.0.0.1:{port}" in stdout.read_text()

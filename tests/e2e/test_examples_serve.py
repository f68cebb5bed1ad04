"""Each example service starts with one command, answers over real HTTP, and stops cleanly."""

from __future__ import annotations

import httpx
import pytest

from examples import data
from examples.processes import answers, python, running
from tests.conftest import free_port

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("name", "server"),
    [("monolith", "learning-monolith/1.0"), ("candidate", "learning-candidate/2.0")],
)
def test_service_serves_and_stops(name, server, tmp_path):
    port = free_port()
    command = python("-m", f"examples.{name}", "--port", str(port))
    with (
        running(
            name,
            command,
            port=port,
            log_dir=tmp_path,
            ready=answers(f"http://127.0.0.1:{port}/health"),
        ) as service,
        httpx.Client(base_url=service.url, trust_env=False, timeout=5) as client,
    ):
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

        assert service.stop() == 0, service.output()
    assert f"listening on http://127.0.0.1:{port}" in service.output()

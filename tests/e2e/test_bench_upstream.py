"""The proxy benchmark's upstream answers fast, keeps connections alive, and says 404 elsewhere."""

from __future__ import annotations

import httpx
import pytest

from benchmarks.upstream import body_for
from examples.processes import port_open, python, running
from tests.conftest import free_port

pytestmark = pytest.mark.e2e


def test_the_upstream_answers_items_on_a_kept_alive_client(tmp_path) -> None:
    port = free_port()
    command = python("-m", "benchmarks.upstream", "--port", str(port))
    with (
        running("upstream", command, port=port, log_dir=tmp_path, ready=port_open(port)) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=5) as client,
    ):
        first = client.get("/api/items/3", params={"page": 1})
        posted = client.post("/api/items/4", content=b'{"a": 1}')
        missing = client.get("/elsewhere")
        assert server.stop() == 0

    assert (first.status_code, first.content) == (200, body_for(3))
    assert first.headers["content-type"] == "application/json"
    assert (posted.status_code, posted.content) == (200, body_for(4))
    assert missing.status_code == 404

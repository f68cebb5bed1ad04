"""A flow file written by a real `mitmdump -w` in front of the example monolith imports."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from examples.data import COURSES
from examples.processes import parity, port_open, python, running
from parity.store import iter_exchanges, open_store
from tests.conftest import free_port

pytestmark = pytest.mark.e2e


def mitmdump() -> str:
    found = shutil.which("mitmdump") or str(Path(sys.executable).with_name("mitmdump"))
    assert Path(found).exists(), "mitmdump comes with the recorder extra"
    return found


def test_a_mitmdump_flow_file_imports_with_bodies_and_endpoints(tmp_path) -> None:
    monolith_port, proxy_port = free_port(), free_port()
    flows = tmp_path / "flows.mitm"
    command = [
        mitmdump(),
        "--mode",
        f"reverse:http://127.0.0.1:{monolith_port}",
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        str(proxy_port),
        "-w",
        str(flows),
        "-q",
    ]
    graphql = {
        "query": "query GetUser($id: ID!) { user(id: $id) { id name } }",
        "variables": {"id": "3"},
    }
    with (
        running(
            "monolith",
            python("-m", "examples.monolith", "--port", str(monolith_port)),
            port=monolith_port,
            log_dir=tmp_path,
        ),
        running(
            "mitmdump", command, port=proxy_port, log_dir=tmp_path, ready=port_open(proxy_port)
        ) as proxy,
    ):
        with httpx.Client(base_url=proxy.url, trust_env=False, timeout=10) as client:
            answers = [
                client.get("/api/users/2", headers={"Accept-Encoding": "gzip"}),
                client.get(f"/api/courses/{COURSES[0].id}/thumbnail.png"),
                client.post("/graphql", json=graphql),
                client.get("/api/users/99"),
            ]
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()

    store = tmp_path / "store"
    done = subprocess.run(
        parity(
            "import", "--from", "mitmproxy", str(flows), "--to", str(store), "--sanitize", "off"
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "imported 4 exchanges" in done.stdout
    stored = sorted(iter_exchanges(open_store(store)), key=lambda e: e.request.timestamp_start)
    assert [(e.endpoint, e.response.status) for e in stored] == [
        ("GET /api/users/{id}", 200),
        ("GET /api/courses/{uuid}/thumbnail.png", 200),
        ("graphql query GetUser", 200),
        ("GET /api/users/{id}", 404),
    ]
    for exchange, answer in zip(stored, answers, strict=True):
        assert exchange.response.body.content == answer.content  # decoded, as recorded
    assert json.loads(stored[2].request.body.content) == graphql

    # A flow file cut short: named, with the flow where reading stopped, nothing written.
    (tmp_path / "cut.mitm").write_bytes(flows.read_bytes()[:-200])
    cut = subprocess.run(
        parity(
            "import",
            "--from",
            "mitmproxy",
            str(tmp_path / "cut.mitm"),
            "--to",
            str(tmp_path / "cut-store"),
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cut.returncode == 2
    assert "cut.mitm: flow 3: is not a mitmproxy flow" in cut.stderr
    assert not (tmp_path / "cut-store").exists()

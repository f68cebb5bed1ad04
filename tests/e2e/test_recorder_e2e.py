"""The recorder in a real mitmdump in front of the real example monolith, all on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest

from examples.data import USERS
from examples.processes import parity, port_open, python, running
from fixtures.record import plan
from parity.store import iter_exchanges, open_store
from tests.conftest import free_port

pytestmark = pytest.mark.e2e

SECRET_HEADERS = [("Authorization", "Bearer e2e-secret-token"), ("Cookie", "session=e2e-cookie")]


def record_command(upstream: str, port: int, store: str, spool: Path, *extra: str) -> list[str]:
    return parity(
        "record",
        "--upstream",
        upstream,
        "--listen",
        f"127.0.0.1:{port}",
        "--store",
        store,
        "--recorder-id",
        "e2e",
        "--spool-dir",
        str(spool),
        "--set",
        "parity_segment_max_age=1",
        "--set",
        "parity_stats_interval=0",
        "--set",
        "parity_retry_max=1",
        *extra,
    )


def send_plan(proxy_url: str, rounds: int) -> list[tuple[object, ...]]:
    """Send the fixture plan through the proxy; what the client sent and received."""
    sent = []
    with httpx.Client(base_url=proxy_url, trust_env=False, timeout=10) as client:
        for _ in range(rounds):
            for call in plan():
                response = client.request(
                    call.method,
                    call.path,
                    params=call.params or None,
                    content=call.body or None,
                    headers=[*call.headers, *SECRET_HEADERS],
                )
                url = response.request.url
                path = url.raw_path.decode().partition("?")[0]
                query = tuple(url.params.multi_items())
                sent.append((call.method, path, query, call.body, response.content))
    return sent


@pytest.mark.parametrize("sanitize", ["on", "off"])
def test_every_exchange_sent_through_the_proxy_is_in_the_store(tmp_path, sanitize) -> None:
    monolith_port, proxy_port = free_port(), free_port()
    store_dir = tmp_path / "traffic"
    command = record_command(
        f"http://127.0.0.1:{monolith_port}",
        proxy_port,
        str(store_dir),
        tmp_path / "spool",
        "--set",
        f"parity_sanitize={sanitize}",
    )
    with (
        running(
            "monolith",
            python("-m", "examples.monolith", "--port", str(monolith_port)),
            port=monolith_port,
            log_dir=tmp_path,
        ),
        running(
            "recorder", command, port=proxy_port, log_dir=tmp_path, ready=port_open(proxy_port)
        ) as proxy,
    ):
        sent = send_plan(proxy.url, rounds=2)
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()

    stored = list(iter_exchanges(open_store(store_dir)))
    assert len(sent) >= 500
    assert len(stored) == len(sent)
    assert {e.recorder_id for e in stored} == {"e2e"}
    everything = "\n".join(json.dumps(e.to_record()) for e in stored)
    secrets = ["e2e-secret-token", "e2e-cookie"]
    personal = [user.email for user in USERS] + [user.name for user in USERS]
    if sanitize == "off":  # byte for byte what was sent and answered
        recorded = Counter(
            (
                e.request.method,
                e.request.path,
                e.request.query.fields,
                e.request.body.content,
                e.response.body.content if e.response else b"",
            )
            for e in stored
        )
        assert recorded == Counter(sent)
        assert all(value in everything for value in secrets)  # off is off: test traffic only
        assert any(value in everything for value in personal)
    else:
        assert not [value for value in secrets + personal if value in everything]
    audit = subprocess.run(
        parity("scan", str(store_dir)), capture_output=True, text=True, timeout=120, check=False
    )
    if sanitize == "off":
        assert audit.returncode == 1, audit.stdout + audit.stderr
        assert "credential header" in audit.stdout
        assert "email" in audit.stdout
        assert "e2e-secret-token" not in audit.stdout  # kinds and places, never values
    else:
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert "nothing that looks like a secret or personal data" in audit.stdout
        assert "$PARITY_SANITIZE_KEY is not set" in proxy.output()


def test_an_unreachable_upstream_is_recorded_as_an_error(tmp_path) -> None:
    dead_port, proxy_port = free_port(), free_port()  # nothing listens on dead_port
    store_dir = tmp_path / "traffic"
    command = record_command(
        f"http://127.0.0.1:{dead_port}", proxy_port, str(store_dir), tmp_path / "spool"
    )
    with running(
        "recorder", command, port=proxy_port, log_dir=tmp_path, ready=port_open(proxy_port)
    ) as proxy:
        answer = httpx.get(f"{proxy.url}/api/users/1", trust_env=False, timeout=10)
        assert answer.status_code == 502
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()

    (exchange,) = list(iter_exchanges(open_store(store_dir)))
    assert exchange.response is None
    assert exchange.error
    assert exchange.endpoint == "GET /api/users/{id}"

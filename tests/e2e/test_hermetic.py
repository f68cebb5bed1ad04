"""Hermetic replay, end to end: the monolith's calls to a real downstream service are
recorded by a forward-mode recorder, and later answer the candidate's own calls while
the downstream service is stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from examples.data import RECOMMENDATIONS_ENV
from examples.processes import REPO_ROOT, parity, port_open, python, running
from parity.store import iter_exchanges, open_store
from tests.conftest import free_port

pytestmark = pytest.mark.e2e

ENDPOINT = "GET /api/users/{id}/recommendations"
SETTINGS = (
    "--set",
    "parity_segment_max_age=1",
    "--set",
    "parity_stats_interval=0",
    "--set",
    "parity_retry_max=1",
)


def record(tmp_path: Path) -> tuple[Path, str]:
    """Record inbound requests and the monolith's downstream calls into one store."""
    downstream, forward, monolith, inbound = (free_port() for _ in range(4))
    store = tmp_path / "traffic"
    recommendations = f"http://127.0.0.1:{downstream}"
    monolith_env = {
        "HTTP_PROXY": f"http://127.0.0.1:{forward}",
        "NO_PROXY": "",
        "http_proxy": f"http://127.0.0.1:{forward}",
        "no_proxy": "",
        RECOMMENDATIONS_ENV: recommendations,
    }
    forward_command = parity(
        "record",
        "--listen",
        f"127.0.0.1:{forward}",
        "--store",
        str(store),
        "--recorder-id",
        "deps",
        "--spool-dir",
        str(tmp_path / "s1"),
        *SETTINGS,
    )
    inbound_command = parity(
        "record",
        "--upstream",
        f"http://127.0.0.1:{monolith}",
        "--listen",
        f"127.0.0.1:{inbound}",
        "--store",
        str(store),
        "--recorder-id",
        "inbound",
        "--spool-dir",
        str(tmp_path / "s2"),
        *SETTINGS,
    )
    with (
        running(
            "recommendations",
            python("-m", "examples.recommendations", "--port", str(downstream)),
            port=downstream,
            log_dir=tmp_path,
        ),
        running(
            "forward", forward_command, port=forward, log_dir=tmp_path, ready=port_open(forward)
        ) as forward_proxy,
        running(
            "monolith",
            python("-m", "examples.monolith", "--port", str(monolith)),
            port=monolith,
            log_dir=tmp_path,
            env=monolith_env,
        ),
        running(
            "inbound", inbound_command, port=inbound, log_dir=tmp_path, ready=port_open(inbound)
        ) as inbound_proxy,
    ):
        with httpx.Client(base_url=inbound_proxy.url, trust_env=False, timeout=10) as client:
            for repeat in range(2):
                for user in range(1, 9):
                    trace = f"00-{user:016x}{repeat:016x}-{user:016x}-01"
                    answer = client.get(
                        f"/api/users/{user}/recommendations", headers={"traceparent": trace}
                    )
                    assert answer.status_code == 200, answer.text
                    client.get(f"/api/users/{user}", headers={"traceparent": trace})
        assert inbound_proxy.stop(signal.SIGTERM) == 0, inbound_proxy.output()
        assert forward_proxy.stop(signal.SIGTERM) == 0, forward_proxy.output()
    return store, recommendations


def replay(tmp_path: Path, store: Path, recommendations: str, *args: str) -> tuple[dict, str]:
    report = tmp_path / "report"
    (tmp_path / "parity.toml").write_text('[compare]\nunordered_paths = ["$..tags"]\n')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--replay",
            f"--replay-from={store}",
            f"--replay-report={report}",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**_environment(), RECOMMENDATIONS_ENV: recommendations},
    )
    document = json.loads((report / "certification.json").read_text())
    return {e["endpoint"]: e for e in document["endpoints"]}, done.stdout + done.stderr


def _environment() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()} | {
        "PYTHONPATH": str(REPO_ROOT)
    }


def test_hermetic_replay_answers_the_candidates_calls_from_the_recorded_ones(tmp_path) -> None:
    store, recommendations = record(tmp_path)
    stored = list(iter_exchanges(open_store(store)))
    outbound = [e for e in stored if e.meta.get("outbound")]
    assert len(outbound) == 16 and {e.request.port for e in outbound} == {
        int(recommendations.rsplit(":", 1)[1])
    }
    inbound = [e for e in stored if e.endpoint == ENDPOINT and not e.meta.get("outbound")]
    assert {e.correlation_id for e in inbound} == {e.correlation_id for e in outbound}

    # The downstream service is stopped now: without --replay-hermetic the calls fail.
    endpoints, output = replay(
        tmp_path, store, recommendations, "--replay-target=examples.candidate:app"
    )
    assert endpoints[ENDPOINT]["verdict"] == "failed", output
    assert "recommendations unavailable" in output

    endpoints, output = replay(
        tmp_path,
        store,
        recommendations,
        "--replay-hermetic",
        "--replay-target=examples.candidate:app",
    )
    assert {e["verdict"] for e in endpoints.values()} == {"certified"}, output
    assert endpoints[ENDPOINT]["replayed"] == 16
    assert "GET /recommendations" not in " ".join(endpoints)  # dependency calls are no tests

    # A candidate that makes one more call than the monolith did fails on it.
    endpoints, output = replay(
        tmp_path,
        store,
        recommendations,
        "--replay-hermetic",
        "--replay-target=examples.candidate:chatty_app()",
    )
    assert endpoints[ENDPOINT]["verdict"] == "failed"
    assert endpoints["GET /api/users/{id}"]["verdict"] == "certified"
    paths = {p["path"] for p in endpoints[ENDPOINT]["differing_paths"]}
    assert f"unrecorded outbound call: GET {recommendations}/recommendations/1?explain=1" in paths
    assert "unrecorded outbound call: GET" in output

"""Real differences between two releases of a service nobody here wrote are still found.

httpbin as installed (the dev extras) is recorded through `parity record`;
the candidate is httpbin 0.10.1, an older release in an environment of its
own (`examples.httpbin_release`), on another port. The two answer alike as
JSON on most endpoints while writing it differently (the current release
pretty-prints, the older one writes compactly), so everything the comparison
forgives (layout, key order, the candidate's own address, Content-Length)
must not hide the three endpoints whose answers really changed: ``/legacy``
(removed: 404, where the older release answers 200), ``/`` (another index
page) and ``/response-headers`` (its body states the length of itself, which
the layout changes).
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from examples import httpbin_release
from examples.processes import parity, port_open, python, running
from tests.conftest import free_port

pytest.importorskip("httpbin", reason="httpbin is among the dev extras")
pytestmark = pytest.mark.e2e

#: Paths asked of both releases (GETs: replayed without declaring anything safe).
ALIKE = [
    "/get?page=2",
    "/json",
    "/headers",
    "/anything/orders/118",
    "/cookies",
    "/user-agent",
    "/ip",
    "/stream/2",
    "/deflate",
    "/gzip",
    "/status/418",
    "/xml",
    "/html",
    "/robots.txt",
    "/base64/SFRUUEJJTiBpcyBhd2Vzb21l",
    "/links/3/1",
    "/range/16",
]
CHANGED = {
    "/legacy": "GET /legacy",
    "/": "GET /",
    "/response-headers?x=1": "GET /response-headers",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    if not httpbin_release.installed():
        pytest.fail(
            f"httpbin {httpbin_release.RELEASE} is not installed beside the project: "
            "run `python -m examples install` (the README's set-up does)"
        )
    work = tmp_path_factory.mktemp("httpbin-release")
    httpbin_port, proxy_port = free_port(), free_port()
    recorder = parity(
        "record",
        "--upstream",
        f"http://127.0.0.1:{httpbin_port}",
        "--listen",
        f"127.0.0.1:{proxy_port}",
        "--store",
        str(work / "traffic"),
        "--recorder-id",
        "httpbin",
        "--spool-dir",
        str(work / "spool"),
        "--set",
        "parity_stats_interval=0",
    )
    httpbin = python(
        "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{httpbin_port}", "httpbin:app"
    )
    with (
        running("httpbin", httpbin, port=httpbin_port, log_dir=work),
        running(
            "recorder", recorder, port=proxy_port, log_dir=work, ready=port_open(proxy_port)
        ) as proxy,
        httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
    ):
        for path in [*ALIKE, *CHANGED]:
            client.get(path)
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()
    return work / "traffic"


def test_an_older_release_differs_only_where_its_answers_really_changed(store, tmp_path) -> None:
    port = free_port()
    with running(
        f"httpbin-{httpbin_release.RELEASE}",
        httpbin_release.command(port),
        port=port,
        log_dir=tmp_path,
    ) as candidate:
        report = tmp_path / "report"
        done = subprocess.run(
            [
                *python("-m", "pytest"),
                "--replay",
                f"--replay-from={store}",
                f"--replay-target={candidate.url}",
                "--replay-allow-recorded-host",
                f"--replay-report={report}",
                "-p",
                "no:cacheprovider",
                "-q",
                "--tb=line",
                "--no-header",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    endpoints = json.loads((report / "certification.json").read_text())["endpoints"]
    verdicts = {entry["endpoint"]: entry for entry in endpoints}
    assert len(verdicts) == len(ALIKE) + len(CHANGED), sorted(verdicts)
    failed = {name for name, entry in verdicts.items() if entry["verdict"] != "certified"}
    assert failed == set(CHANGED.values()), done.stdout
    # Each for what really changed, not for how it was written.
    paths = {name: {p["path"] for p in verdicts[name]["differing_paths"]} for name in failed}
    assert "status" in paths["GET /legacy"], paths
    assert paths["GET /response-headers"] == {"$['Content-Length']"}, paths
    assert paths["GET /"] == {"body"}, paths

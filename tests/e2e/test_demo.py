"""`parity demo`: the whole loop on the example services, as the README's first screen runs it."""

from __future__ import annotations

import json
import subprocess

import pytest

from examples.processes import REPO_ROOT, parity

pytestmark = pytest.mark.e2e


def test_the_demo_records_replays_and_certifies_all_but_the_deliberate_bug(tmp_path) -> None:
    done = subprocess.run(
        parity("demo", "--out", str(tmp_path / "demo")),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "parity certification" in done.stdout
    document = json.loads((tmp_path / "demo" / "report" / "certification.json").read_text())
    verdicts = {e["endpoint"]: e["verdict"] for e in document["endpoints"]}
    assert verdicts.pop("GET /api/users/{id}/progress") == "failed"
    assert set(verdicts.values()) == {"certified"}
    assert len(verdicts) >= 15
    progress = document["endpoints"][0]
    assert progress["endpoint"] == "GET /api/users/{id}/progress"
    assert {p["path"].rsplit(".", 1)[-1] for p in progress["differing_paths"]} == {"percent"}
    assert (tmp_path / "demo" / "report" / "report.html").stat().st_size > 1000

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
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "parity certification" in done.stdout
    document = json.loads((tmp_path / "demo" / "report" / "certification.json").read_text())
    verdicts = {e["endpoint"]: e["verdict"] for e in document["endpoints"]}
    assert verdicts.pop("GET /api/users/{id}/progress") == "failed"
    # On failure, say what differed where, and what was learned as noise: enough to tell
    # a real divergence from a run where too little noise was learned.
    unexpected = {
        e["endpoint"]: {
            "verdict": e["verdict"],
            "counts": [e[k] for k in ("matched", "mismatched", "error")],
            "differing": [(p["path"], p["count"], p["examples"][:2]) for p in e["differing_paths"]],
            "noise": [(n["path"], n["source"], n.get("evidence")) for n in e["noise"]],
            "skipped": e["skip_reasons"],
        }
        for e in document["endpoints"]
        if e["verdict"] != "certified" and e["endpoint"] != "GET /api/users/{id}/progress"
    }
    # The fixtures' malformed GraphQL cannot be shown to be queries: skipped, saying why.
    unread = {
        name: seen for name, seen in unexpected.items() if name.startswith("graphql invalid:")
    }
    for name, seen in unread.items():
        assert seen["verdict"] == "skipped", name
        assert all("cannot read" in reason for reason in seen["skipped"]), seen["skipped"]
        del unexpected[name]
    assert unread, "the fixtures hold malformed GraphQL requests"
    assert not unexpected, json.dumps(unexpected, indent=1) + "\n" + done.stdout
    assert len(verdicts) >= 15
    progress = document["endpoints"][0]
    assert progress["endpoint"] == "GET /api/users/{id}/progress"
    assert {p["path"].rsplit(".", 1)[-1] for p in progress["differing_paths"]} == {"percent"}
    assert (tmp_path / "demo" / "report" / "report.html").stat().st_size > 1000

"""Noise on the example services' recorded fixtures, whose answers carry a fresh request
id and time: learned by noise runs or suggested as rules, the same verdicts either way,
and the deliberate bug still fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.cli import main as parity_main
from tests.test_fixtures import FIXTURES

pytest_plugins = ["pytester"]

BASE = f"""
[replay]
from = "{FIXTURES}"
target = "examples.candidate:app"
report = "report"
safe = ["POST /api/users/{{id}}/enrolments", "graphql mutation EnrolUser"]

[noise]
learn = false
"""
TAGS = 'unordered_paths = ["$..tags"]'
VOLATILE = {
    "$.request_id",
    "$.generated_at",
    "$.extensions.request_id",
    "$.extensions.generated_at",
}
BUG = "GET /api/users/{id}/progress"


def verdicts(pytester: pytest.Pytester) -> dict[str, str]:
    document = json.loads((pytester.path / "report" / "certification.json").read_text())
    return {e["endpoint"]: e["verdict"] for e in document["endpoints"]}


def replay(pytester: pytest.Pytester, config: str, *args: str) -> dict:
    (pytester.path / "parity.toml").write_text(config)
    pytester.runpytest("--replay", "-p", "no:randomly", *args)
    return json.loads((pytester.path / "report" / "certification.json").read_text())


def test_noise_runs_learn_the_volatile_fields_and_the_bug_still_fails(pytester) -> None:
    document = replay(pytester, BASE + f"[compare]\n{TAGS}\n", "--replay-noise-runs", "2")
    endpoints = {e["endpoint"]: e for e in document["endpoints"]}
    assert endpoints.pop(BUG)["verdict"] == "failed"
    unread = [name for name in endpoints if name.startswith("graphql invalid:")]
    assert unread and {endpoints.pop(name)["verdict"] for name in unread} == {"skipped"}
    assert {e["verdict"] for e in endpoints.values()} == {"certified"}
    noise = {n["path"] for e in document["endpoints"] for n in e["noise"]}
    assert noise == VOLATILE
    assert all(n["explained"] for e in document["endpoints"] for n in e["noise"])
    progress = next(e for e in document["endpoints"] if e["endpoint"] == BUG)
    assert {p["path"].rsplit(".", 1)[-1] for p in progress["differing_paths"]} == {"percent"}


def test_suggested_rules_give_the_verdicts_noise_runs_give(pytester, capsys) -> None:
    base = pytester.path / "base.toml"
    base.write_text(BASE + f"[compare]\n{TAGS}\n")
    assert parity_main(["noise", "suggest", str(FIXTURES), "--config", str(base)]) == 0
    suggested = capsys.readouterr().out
    assert "ignore_paths" in suggested
    # Pasted under [tool.parity] (the header names the table; the tags rule merged into it).
    pasted = suggested.replace("[tool.parity.compare]\n", f"[tool.parity.compare]\n{TAGS}\n", 1)
    pyproject = BASE.replace("[replay]", "[tool.parity.replay]").replace(
        "[noise]", "[tool.parity.noise]"
    )
    learned = replay(pytester, BASE + f"[compare]\n{TAGS}\n", "--replay-noise-runs", "2")
    (pytester.path / "parity.toml").unlink()
    (pytester.path / "pyproject.toml").write_text(pyproject + pasted)
    pytester.runpytest("--replay", "-p", "no:randomly")
    with_rules = verdicts(pytester)
    assert with_rules == {e["endpoint"]: e["verdict"] for e in learned["endpoints"]}
    # Without either, the volatile fields fail every endpoint that carries them.
    (pytester.path / "pyproject.toml").unlink()
    without = replay(pytester, BASE + f"[compare]\n{TAGS}\n")
    assert sum(e["verdict"] == "failed" for e in without["endpoints"]) > 10


def test_suggest_learns_from_a_target_too(tmp_path: Path, capsys) -> None:
    config = tmp_path / "parity.toml"
    config.write_text(BASE.replace("[noise]\nlearn = false\n", "") + f"[compare]\n{TAGS}\n")
    args = [
        "noise",
        "suggest",
        str(FIXTURES),
        "--config",
        str(config),
        "--endpoint",
        "GET /api/users",
        "--target",
        "examples.candidate:app",
    ]
    assert parity_main(args) == 0
    out = capsys.readouterr().out
    assert "sent to examples.candidate:app" in out
    assert "extra runs on the candidate" in out
    assert '"$.request_id"' in out
    assert parity_main([*args[:-2], "--target", "nowhere"]) == 2
    assert "--target 'nowhere' is neither a URL" in capsys.readouterr().err

"""A real cross-language pair: a Python GraphQL server from PyPI against a Node one from npm.

The monolith is Strawberry under uvicorn, the candidate GraphQL Yoga on Node
(examples/graphql_pair), over the same data. Traffic goes through `parity
record` in front of Strawberry; the store is replayed against Yoga. They
answer alike as JSON but not byte for byte: Python writes ``100.0`` where
JavaScript writes ``100``, and the two word their errors differently. Every
operation whose answers are equal as JSON certifies; a planted difference (a
course renamed on the candidate) fails exactly the operations that read it;
error wording counts only under ``graphql_strict``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.graphql_pair import candidate_command, installed
from examples.processes import parity, port_open, python, running
from tests.conftest import free_port

pytestmark = pytest.mark.e2e

#: Operation name, document, variables: what a client of the API asks.
OPERATIONS = [
    (
        "GetUser",
        "query GetUser($id: ID!) { user(id: $id) { id name progress { percent "
        "course { id title } } } }",
        {"id": "1"},
    ),
    ("GetUser", None, {"id": "2"}),
    ("GetMissingUser", 'query GetMissingUser { user(id: "9") { id name } }', {}),
    ("ListCourses", "query ListCourses { courses { id title tags } }", {}),
    (
        "CoursesByTag",
        "query CoursesByTag($tag: String) { courses(tag: $tag) { id title } }",
        {"tag": "go"},
    ),
    ("Leaderboard", "query Leaderboard { leaderboard { id name progress { percent } } }", {}),
    ("NoSuchField", "query NoSuchField { courses { id nope } }", {}),
]


def _calls() -> Iterator[dict[str, object]]:
    documents: dict[str, str] = {}
    for name, document, variables in OPERATIONS:
        documents[name] = document or documents[name]
        yield {"query": documents[name], "operationName": name, "variables": variables}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The pair's traffic, recorded through `parity record` in front of Strawberry."""
    if not installed():
        pytest.fail(
            "the Node candidate's packages are missing: run "
            "`python -m examples install` (the README's set-up does)"
        )
    work = tmp_path_factory.mktemp("graphql-pair")
    monolith_port, proxy_port = free_port(), free_port()
    recorder = parity(
        "record",
        "--upstream",
        f"http://127.0.0.1:{monolith_port}",
        "--listen",
        f"127.0.0.1:{proxy_port}",
        "--store",
        str(work / "traffic"),
        "--recorder-id",
        "pair",
        "--spool-dir",
        str(work / "spool"),
        "--set",
        "parity_stats_interval=0",
    )
    monolith = python("-m", "examples.graphql_pair.python_server", "--port", str(monolith_port))
    with (
        running(
            "strawberry", monolith, port=monolith_port, log_dir=work, ready=port_open(monolith_port)
        ),
        running(
            "recorder", recorder, port=proxy_port, log_dir=work, ready=port_open(proxy_port)
        ) as proxy,
        httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
    ):
        for call in _calls():
            answer = client.post("/graphql", json=call, headers={"Accept": "application/json"})
            assert answer.status_code == 200, answer.text
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()
    return work / "traffic"


def replay(
    store: Path, tmp_path: Path, *, planted: bool = False, strict: bool = False
) -> dict[str, dict[str, object]]:
    """Replay the store against GraphQL Yoga: each endpoint's certification entry."""
    port = free_port()
    if strict:
        (tmp_path / "parity.toml").write_text("[compare]\ngraphql_strict = true\n")
    environment = {"PLANTED": "1"} if planted else {}
    with running(
        "yoga",
        candidate_command(port),
        port=port,
        log_dir=tmp_path,
        ready=port_open(port),
        env=environment,
    ) as candidate:
        command = [
            *python("-m", "pytest"),
            "--replay",
            f"--replay-from={store}",
            f"--replay-target={candidate.url}",
            "--replay-allow-recorded-host",
            "--replay-report=report",
            "-p",
            "no:cacheprovider",
            "-q",
            "--tb=short",
        ]
        done = subprocess.run(
            command, cwd=tmp_path, env={**os.environ}, capture_output=True, text=True, check=False
        )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    document = json.loads((tmp_path / "report" / "certification.json").read_text())
    return {entry["endpoint"]: entry for entry in document["endpoints"]}


def verdicts(entries: dict[str, dict[str, object]]) -> dict[str, object]:
    return {endpoint: entry["verdict"] for endpoint, entry in entries.items()}


def test_every_operation_equal_as_json_certifies_across_the_two_languages(store, tmp_path):
    entries = replay(store, tmp_path)
    assert verdicts(entries) == {
        "graphql query GetUser": "certified",  # percent 100.0 (Python) is 100 (JavaScript)
        "graphql query GetMissingUser": "certified",  # the same error in other words
        "graphql query ListCourses": "certified",
        "graphql query CoursesByTag": "certified",
        "graphql query Leaderboard": "certified",
        "graphql query NoSuchField": "certified",  # a validation error, worded apart
    }
    assert all(entry["profile"] == "graphql" for entry in entries.values())
    # What the profile let go is listed with its reason, never silently dropped.
    missing = entries["graphql query GetMissingUser"]
    assert [rule["rule"].split(":")[0] for rule in missing["ignored"]] == ["graphql"]


def test_a_planted_difference_fails_exactly_the_operations_that_read_it(store, tmp_path):
    entries = replay(store, tmp_path, planted=True)
    assert verdicts(entries) == {
        "graphql query GetUser": "failed",  # user 1 takes the renamed course
        "graphql query GetMissingUser": "certified",
        "graphql query ListCourses": "failed",
        "graphql query CoursesByTag": "certified",  # only the Go course
        "graphql query Leaderboard": "certified",
        "graphql query NoSuchField": "certified",
    }
    paths = {p["path"] for p in entries["graphql query ListCourses"]["differing_paths"]}
    assert paths == {"$.data.courses[1].title"}


def test_error_wording_counts_only_under_graphql_strict(store, tmp_path):
    entries = replay(store, tmp_path, strict=True)
    assert verdicts(entries)["graphql query GetMissingUser"] == "failed"
    assert verdicts(entries)["graphql query NoSuchField"] == "failed"
    assert verdicts(entries)["graphql query ListCourses"] == "certified"
    assert entries["graphql query GetMissingUser"]["profile"] == "graphql strict"
    paths = {p["path"] for p in entries["graphql query GetMissingUser"]["differing_paths"]}
    assert "$.errors[0].message" in paths

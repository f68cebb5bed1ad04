"""Noise in `pytest --replay`, over synthetic stores: learned, subtracted, and refuted.

The store holds requests answered more than once by the "monolith", with a
request id that never repeats; a field the candidate alone gets wrong; a
field that varied only now and then but that the candidate changes every
time; and a status that flapped.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from parity.store import LocalStore, write_exchanges
from parity.traffic.exchange import Exchange
from tests.factories import T0, make_exchange, make_request, make_response

pytest_plugins = ["pytester"]

CANDIDATE = """
import json
import uuid


def answer(path):
    kind, ident = path.strip("/").split("/")
    body = {"id": int(ident), "request_id": str(uuid.uuid4())}
    if kind == "things":
        return 200, {**body, "name": f"thing {ident}"}
    if kind == "broken":
        return 200, {**body, "name": "wrong"}
    if kind == "flaky":
        return 200, {**body, "served_by": "c"}
    return 503, {**body, "error": "busy"}


def app(environ, start_response):
    status, document = answer(environ["PATH_INFO"])
    start_response(f"{status} X", [("Content-Type", "application/json")])
    return [json.dumps(document).encode()]
"""


def recorded(path: str, document: dict, at: float, status: int = 200) -> Exchange:
    body = {**document, "request_id": str(uuid.uuid4())}
    return make_exchange(
        at,
        request=make_request(path=path, timestamp_start=at, timestamp_end=at + 0.001),
        response=make_response(status=status, body=json.dumps(body).encode()),
        endpoint=f"GET /{path.split('/')[1]}/{{id}}",
    )


def noisy_store(root: Path) -> None:
    exchanges = []
    at = T0
    for repeat in range(20):
        for ident in (1, 2):
            exchanges.append(
                recorded(f"/things/{ident}", {"id": ident, "name": f"thing {ident}"}, at)
            )
            at += 1
        exchanges.append(recorded("/broken/1", {"id": 1, "name": "right"}, at))
        # Served by "b" now and then: 4 of 19 consecutive pairs differ.
        exchanges.append(
            recorded(
                "/flaky/1", {"id": 1, "served_by": "b" if repeat in (5, 12) else "a"}, at + 0.5
            )
        )
        at += 1
    for repeat in range(4):  # the monolith flapped between 200 and 503
        busy = repeat % 2
        exchanges.append(
            recorded(
                "/status/1",
                {"id": 1, **({"error": "busy"} if busy else {})},
                at,
                503 if busy else 200,
            )
        )
        at += 1
    write_exchanges(LocalStore(root), exchanges, "rec")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(candidate=CANDIDATE)
    pytester.syspathinsert()
    noisy_store(pytester.path / "traffic")
    return pytester


ARGS = (
    "--replay",
    "--replay-from",
    "traffic",
    "--replay-target",
    "candidate:app",
    "--replay-report",
    "report",
    "-p",
    "no:randomly",
)


def certification(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "report" / "certification.json").read_text())


def by_endpoint(document: dict) -> dict[str, dict]:
    return {e["endpoint"]: e for e in document["endpoints"]}


def test_noise_learned_from_the_store_is_subtracted_and_refuted_where_too_rare(project) -> None:
    result = project.runpytest(*ARGS)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    endpoints = by_endpoint(certification(project))
    verdicts = {name: e["verdict"] for name, e in endpoints.items()}
    assert verdicts == {
        "GET /things/{id}": "certified",
        "GET /broken/{id}": "failed",
        "GET /flaky/{id}": "failed",
        "GET /status/{id}": "failed",
    }

    things = endpoints["GET /things/{id}"]
    assert things["matched"] == 40
    assert [(n["path"], n["absorbed"], n["explained"]) for n in things["noise"]] == [
        ("$.request_id", 40, True)
    ]
    assert (
        things["noise"][0]["evidence"] == "varied in 38 of 38 recorded repeats of the same request"
    )

    # A field only the candidate changes is never noise; the request id still is.
    broken = endpoints["GET /broken/{id}"]
    assert [p["path"] for p in broken["differing_paths"]] == ["$.name"]
    assert broken["noise"][0]["path"] == "$.request_id"

    # Noise in 4 of 19 repeats does not explain a candidate that differs every time.
    flaky = endpoints["GET /flaky/{id}"]
    assert (flaky["matched"], flaky["mismatched"]) == (0, 20)
    assert [(n["path"], n["explained"]) for n in flaky["noise"]] == [
        ("$.request_id", True),
        ("$.served_by", False),
    ]
    assert flaky["differing_paths"][0]["path"] == "$.served_by"
    result.stdout.fnmatch_lines(
        [
            "*GET /flaky/{id}: noise at $.served_by does not explain the candidate's differences "
            "(the candidate differed there in 20 of 20 exchanges; the noise varied in 4 of 19 "
            "recorded repeats of the same request); they count as mismatches*",
        ]
    )

    # A status that flapped in the recordings is still never absorbed.
    status = endpoints["GET /status/{id}"]
    assert {p["path"] for p in status["differing_paths"]} == {"status", "$.error"}
    assert status["mismatched"] == 2


def test_without_learning_volatile_differences_fail_with_a_hint(project) -> None:
    project.makefile(".toml", parity="[noise]\nlearn = false\n")
    result = project.runpytest(*ARGS, "-k", "things")
    result.assert_outcomes(failed=40)
    hint = "likely noise: both values look like a UUID; confirm with --replay-noise-runs"
    result.stdout.fnmatch_lines(["*$.request_id  [[]changed[]]*", f"*({hint})*"])
    assert hint in (project.path / "report" / "report.html").read_text()


def test_a_reference_monolith_gets_the_noise_runs_too(project) -> None:
    project.makefile(".toml", parity="[noise]\nlearn = false\n")
    project.runpytest(
        *ARGS, "--replay-noise-runs", "3", "--replay-reference", "candidate:app", "-k", "things"
    )
    noise = by_endpoint(certification(project))["GET /things/{id}"]["noise"]
    assert [(n["path"], n["source"], n["varied"], n["pairs"]) for n in noise] == [
        ("$.request_id", "reference", 80, 80)
    ]  # the monolith's own noise counts first: 2 pairs of each of 40 requests


def test_noise_runs_on_the_candidate_learn_what_the_store_cannot_say(project) -> None:
    project.makefile(".toml", parity="[noise]\nlearn = false\n")
    result = project.runpytest(*ARGS, "--replay-noise-runs", "2")
    endpoints = by_endpoint(certification(project))
    assert endpoints["GET /things/{id}"]["verdict"] == "certified"
    noise = endpoints["GET /things/{id}"]["noise"][0]
    assert (noise["path"], noise["source"]) == ("$.request_id", "candidate")
    assert noise["evidence"] == "varied in 40 of 40 extra runs on the candidate"
    # The candidate answers "c" every time: its own runs show no noise there.
    assert endpoints["GET /flaky/{id}"]["noise"] == [
        {**endpoints["GET /flaky/{id}"]["noise"][0], "path": "$.request_id"}
    ]
    assert endpoints["GET /flaky/{id}"]["verdict"] == "failed"
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_bad_noise_settings_are_usage_errors(project) -> None:
    result = project.runpytest(*ARGS, "--replay-noise-runs", "1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--replay-noise-runs must be 0 (off) or at least 2*"])
    result = project.runpytest(*ARGS, "--replay-noise-runs", "2", "--replay-reference", "nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--replay-reference 'nowhere' is neither a URL*"])
    project.makefile(".toml", parity="[noise]\nmin_count = 0\n")
    result = project.runpytest(*ARGS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*parity.toml [[]noise[]] min_count must be a whole number*"])


def test_xdist_workers_carry_noise_to_the_same_certification(project) -> None:
    project.runpytest(*ARGS, "-n", "0")
    single = certification(project)
    project.runpytest(*ARGS, "-n", "2")
    double = certification(project)
    for document in (single, double):
        document.pop("generated_at")
        for endpoint in document["endpoints"]:
            for listed in endpoint["differing_paths"]:
                listed.pop("examples")
            for noise in endpoint["noise"]:
                noise.pop("examples")
            # The same example of each kind of mismatch, whose noisy values (a fresh
            # request_id) the candidate made anew.
            for group in endpoint["groups"]:
                group["example"] = group["example"]["exchange"]
            # Answer times are measured, so they differ; how many were, does not.
            latency = endpoint.pop("latency")
            endpoint["timed"] = [latency[side]["count"] for side in ("monolith_ms", "candidate_ms")]
    assert single == double

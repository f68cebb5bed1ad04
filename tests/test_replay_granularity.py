"""``--replay-granularity=endpoint``: one item per endpoint, certifying as an item per
exchange does (`pytest --replay` run with pytester)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest

from parity.store import LocalStore, write_exchanges
from tests import test_report
from tests.test_plugin import APP, T0, recorded, standard_store, users_app

pytest_plugins = ["pytester"]

ARGS = ("--replay", "--replay-from", "traffic", "--replay-target", "app:asgi")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """The plugin tests' store (users that match, a broken endpoint, an unsafe POST, a
    GraphQL query and mutation), with more users and a second kind of regression."""
    pytester.makepyfile(app=APP)
    pytester.syspathinsert()
    exchanges = standard_store(pytester.path / "traffic")
    at = T0 + 100
    more = [
        recorded("GET", f"/users/{i}", 200, {"id": i, "name": f"user {i}"}, at=at + i)
        for i in range(7, 30)
    ]
    # The candidate has no user 60: a status and a body that differ, apart from $.name.
    more.append(recorded("GET", "/users/60", 200, {"id": 60, "name": "user 60"}, at=at + 40))
    more += [
        recorded("GET", f"/broken/{i}", 200, {"id": i, "name": "right"}, at=at + 50 + i)
        for i in range(3, 6)
    ]
    write_exchanges(LocalStore(pytester.path / "traffic"), more, "rec")
    assert len(exchanges) + len(more) == 38
    return pytester


def certification(pytester: pytest.Pytester, directory: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (pytester.path / directory / "certification.json").read_text()
    )
    return document


def without_measurements(document: dict[str, Any]) -> dict[str, Any]:
    """The certification less what differs from run to run: when it was made, and how
    long the candidate took (and what is computed from it)."""
    document = dict(document)
    del document["generated_at"]
    endpoints = []
    for endpoint in document["endpoints"]:
        latency = dict(endpoint["latency"])
        latency["candidate_ms"] = {"count": latency["candidate_ms"]["count"]}
        for measured in ("p50_ratio", "p99_ratio", "slower"):
            del latency[measured]
        endpoints.append({**endpoint, "latency": latency})
    document["endpoints"] = endpoints
    return document


@pytest.mark.parametrize(
    "sample",
    [
        (),
        ("--replay-per-endpoint", "4", "--replay-seed", "7"),
        ("--replay-noise-runs", "2"),
        ("--replay-hermetic",),
    ],
    ids=["all", "sampled", "noise-runs", "hermetic"],
)
def test_both_granularities_certify_the_same_store_alike(project, sample) -> None:
    by_exchange = project.runpytest(*ARGS, *sample, "--replay-report", "by-exchange")
    by_endpoint = project.runpytest(
        *ARGS, *sample, "--replay-granularity", "endpoint", "--replay-report", "by-endpoint"
    )

    exchanges = certification(project, "by-exchange")
    assert without_measurements(certification(project, "by-endpoint")) == without_measurements(
        exchanges
    )
    verdicts = {e["endpoint"]: e["verdict"] for e in exchanges["endpoints"]}
    assert verdicts["GET /broken/{id}"] == "failed"
    assert verdicts["POST /items"] == verdicts["graphql mutation AddUser"] == "skipped"
    assert verdicts["graphql query GetUser"] == "certified"
    # An item per endpoint: those certified pass, those skipped are skipped.
    failed = sum(verdict == "failed" for verdict in verdicts.values())
    by_endpoint.assert_outcomes(passed=len(verdicts) - failed - 2, failed=failed, skipped=2)
    assert (project.path / "by-endpoint" / "report.html").is_file()
    assert by_exchange.ret == by_endpoint.ret == pytest.ExitCode.TESTS_FAILED


def test_an_endpoint_fails_showing_its_largest_groups_of_mismatches(project) -> None:
    result = project.runpytest(*ARGS, "--replay-granularity=endpoint", "-rs")
    result.stdout.fnmatch_lines(
        [
            "*GET /broken/{id}: failed: 0 of 5 exchange(s) matched (0.0%; certified from "
            "100.0%), 5 mismatched, 0 without an answer",
            "*largest groups of mismatches*",
            "*1. 5 exchange(s) differ at $.name [[]changed]",
            "*for example exchange *:",
            '*$.name: expected "right", actual "wrong"',
            "*reproduce:",
            "*GET /broken/1 against app:asgi (in-process)",
            "*parity show traffic *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*GET /users/{id}: failed: 29 of 30 exchange(s) matched (96.7%*",
            "*1. 1 exchange(s) differ at $.error [[]added], $.id [[]removed], "
            "$.name [[]removed], status [[]changed]",
        ]
    )
    result.stdout.fnmatch_lines(
        ["SKIPPED*POST /items: 1 exchange(s) not replayed: POST changes state*--replay-unsafe*"]
    )


def test_items_are_endpoints_in_the_order_of_their_last_exchange(project) -> None:
    listed = project.runpytest(*ARGS, "--replay-granularity=endpoint", "--collect-only", "-q")
    assert [line for line in listed.stdout.lines if line.startswith("replay/")] == [
        "replay/POST /items",
        "replay/graphql query GetUser",
        "replay/graphql mutation AddUser",
        "replay/GET /users/{id}",
        "replay/GET /broken/{id}",
    ]


def test_one_endpoint_is_replayed_alone_by_k_or_its_node_id(project) -> None:
    for chosen in (("-k", "GetUser"), ("replay/graphql query GetUser",)):
        result = project.runpytest(
            *ARGS, "--replay-granularity=endpoint", "--replay-report=report", *chosen
        )
        result.assert_outcomes(passed=1)
        endpoints = certification(project, "report")["endpoints"]
        assert [(e["endpoint"], e["replayed"]) for e in endpoints] == [("graphql query GetUser", 1)]


def test_last_failed_reruns_the_endpoints_that_failed(project) -> None:
    args = (*ARGS, "--replay-granularity=endpoint", "-p", "cacheprovider")
    project.runpytest(*args)
    again = project.runpytest(*args, "--lf")
    again.assert_outcomes(failed=2, deselected=3)
    again.stdout.fnmatch_lines(["replay/GET /users/{id} F*", "replay/GET /broken/{id} F*"])


def test_junit_xml_has_one_test_case_per_endpoint(project) -> None:
    project.runpytest(*ARGS, "--replay-granularity=endpoint", "--junit-xml=junit.xml")
    cases = ElementTree.parse(project.path / "junit.xml").getroot().iter("testcase")
    found = {}
    for case in cases:
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        failed = [child.tag for child in case if child.tag in ("failure", "skipped")]
        found[properties["parity_endpoint"]] = (properties["parity_verdict"], *failed)
    assert found == {
        "GET /broken/{id}": ("failed", "failure"),
        "GET /users/{id}": ("failed", "failure"),
        "POST /items": ("skipped", "skipped"),
        "graphql mutation AddUser": ("skipped", "skipped"),
        "graphql query GetUser": ("certified",),
    }


def test_the_same_setting_comes_from_the_config_file(project) -> None:
    project.makepyprojecttoml('[tool.parity.replay]\ngranularity = "endpoint"\n')
    result = project.runpytest(*ARGS)
    result.assert_outcomes(passed=1, failed=2, skipped=2)


def test_an_unknown_granularity_is_refused_naming_the_choices(project) -> None:
    result = project.runpytest(*ARGS, "--replay-granularity=request")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--replay-granularity takes exchange or endpoint, not 'request'*"]
    )


def test_endpoint_items_refuse_pytest_xdist_in_one_sentence(project) -> None:
    pytest.importorskip("xdist")
    result = project.runpytest(*ARGS, "--replay-granularity=endpoint", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--replay-granularity=endpoint streams the store through one process*drop -n*"]
    )


def test_an_endpoint_the_candidate_cannot_answer_fails_with_the_reason(pytester) -> None:
    exchanges = [
        recorded("GET", f"/users/{i}", 200, {"id": i, "name": f"user {i}"}, at=T0 + i)
        for i in range(1, 4)
    ]
    write_exchanges(LocalStore(pytester.path / "traffic"), exchanges, "rec")
    result = pytester.runpytest(
        "--replay",
        "--replay-from=traffic",
        "--replay-target=http://127.0.0.1:9",  # the discard port: nothing listens
        "--replay-granularity=endpoint",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*GET /users/{id}: failed: 0 of 3 exchange(s) matched*3 without an answer",
            "*3 exchange(s) got no answer; the first: *127.0.0.1:9*",
        ]
    )


def test_an_endpoint_with_too_few_exchanges_fails_as_insufficient(project) -> None:
    result = project.runpytest(
        *ARGS, "--replay-granularity=endpoint", "--replay-min-samples=2", "-k", "GetUser"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*graphql query GetUser: insufficient samples: 1 of 1 exchange(s) matched*",
            "*only 1 exchange(s) were compared, and it needs 2 (--replay-min-samples)",
        ]
    )


def test_an_endpoint_fails_as_slower_under_a_latency_budget(pytester) -> None:
    pytester.makepyfile(app=test_report.APP)
    test_report.latency_store(pytester)
    (pytester.path / "slow.txt").write_text("0.060")  # three times the monolith's 20 ms
    result = pytester.runpytest(
        "--replay",
        "--replay-from=traffic",
        "--replay-target=app:app",
        "--replay-granularity=endpoint",
        "--replay-max-p99-ratio=1.5",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*GET /slow/{id}: slower: 20 of 20 exchange(s) matched*",
            "*the candidate's p99 answer time is * times the monolith's, more than "
            "--replay-max-p99-ratio allows",
        ]
    )


@pytest.mark.parametrize("granularity", ["exchange", "endpoint"])
@pytest.mark.parametrize("sampled", [False, True])
def test_a_segment_copied_in_twice_is_refused_by_name_before_anything_is_sent(
    pytester: pytest.Pytester, granularity: str, sampled: bool
) -> None:
    exchanges = users_app(pytester, 4)
    write_exchanges(LocalStore(pytester.path / "traffic"), exchanges, "rec")
    (segment,) = (pytester.path / "traffic").rglob("rec-*")
    # As a user copies a file back in: the same bytes under the next free name.
    copy = segment.with_name(segment.name.replace("rec-000000", "rec-000001"))
    copy.write_bytes(segment.read_bytes())
    sample = ["--replay-per-endpoint=10"] if sampled else []
    result = pytester.runpytest(*ARGS, f"--replay-granularity={granularity}", *sample)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: exchange {exchanges[0].id} is in the store more than once (a segment copied*"]
    )


@pytest.mark.parametrize("where", ["inside", "last"])
def test_an_exchange_stored_twice_is_named_not_taken_for_a_changed_store(
    pytester: pytest.Pytester, where: str
) -> None:
    exchanges = users_app(pytester, 4)
    copied = exchanges[1]  # a segment copied in twice holds each of its exchanges twice
    stored = [*exchanges[:2], copied, *exchanges[2:]] if where == "inside" else [*exchanges, copied]
    write_exchanges(LocalStore(pytester.path / "traffic"), stored, "rec")
    result = pytester.runpytest(*ARGS, "--replay-granularity=endpoint")
    result.stdout.fnmatch_lines([f"*exchange {copied.id} is in the store more than once*"])
    result.stdout.no_fnmatch_line("*the store changed during the run*")
    # An item per exchange is found by its exchange's id: refused before any is made.
    result = pytester.runpytest(*ARGS, "--replay-granularity=exchange")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: exchange {copied.id} is in the store more than once (a segment copied "
            "in twice?): remove the copy and run again"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()

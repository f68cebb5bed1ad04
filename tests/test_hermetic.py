"""`--replay-hermetic` with a WSGI candidate that calls its dependency with `requests`.

The store holds each inbound request and, marked outbound, the call the monolith made
for it (tied by correlation id). Nothing listens at the dependency's address: every
answer the candidate gets comes from the recordings.
"""

from __future__ import annotations

import json

import pytest

from parity.store import LocalStore, write_exchanges
from parity.traffic.exchange import Exchange
from tests.conftest import free_port
from tests.factories import T0, make_exchange, make_request, make_response

pytest_plugins = ["pytester"]

CANDIDATE = """
import json
import requests

DEPENDENCY = "http://127.0.0.1:{port}"
EXTRA = False


def app(environ, start_response):
    user = environ["PATH_INFO"].rsplit("/", 1)[-1]
    trace = environ.get("HTTP_TRACEPARENT", "")
    scores = requests.get(f"{{DEPENDENCY}}/scores/{{user}}", headers={{"traceparent": trace}},
                          timeout=2).json()
    if EXTRA:
        requests.get(f"{{DEPENDENCY}}/audit", timeout=2)
    body = json.dumps({{"user": int(user), "score": scores["score"]}}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def chatty():
    global EXTRA
    EXTRA = True
    return app
"""


def _trace(user: int) -> str:
    return f"00-{user:032x}-{user:016x}-01"


def store(root, port: int) -> None:
    exchanges: list[Exchange] = []
    for user in range(1, 11):
        at = T0 + user
        trace = _trace(user)
        exchanges.append(
            make_exchange(
                at,
                request=make_request(
                    path=f"/users/{user}",
                    headers=[("traceparent", trace)],
                    timestamp_start=at,
                    timestamp_end=at + 0.001,
                ),
                response=make_response(
                    body=json.dumps({"user": user, "score": user * 10}).encode(),
                    timestamp_start=at + 0.01,
                    timestamp_end=at + 0.02,
                ),
                endpoint="GET /users/{id}",
                correlation_id=trace[3:35],
            )
        )
        exchanges.append(
            make_exchange(
                at + 0.005,
                request=make_request(
                    host="127.0.0.1",
                    port=port,
                    path=f"/scores/{user}",
                    headers=[("traceparent", trace)],
                    timestamp_start=at + 0.005,
                ),
                response=make_response(body=json.dumps({"score": user * 10}).encode()),
                endpoint="GET /scores/{id}",
                correlation_id=trace[3:35],
                meta={"outbound": True},
            )
        )
    write_exchanges(LocalStore(root), exchanges, "rec")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    port = free_port()  # nothing listens there
    pytester.makepyfile(candidate=CANDIDATE.format(port=port))
    pytester.syspathinsert()
    store(pytester.path / "traffic", port)
    pytester.port = port  # type: ignore[attr-defined]
    return pytester


ARGS = ("--replay", "--replay-from", "traffic", "-p", "no:randomly")


def test_recorded_calls_answer_the_candidates_own_calls(project) -> None:
    result = project.runpytest(*ARGS, "--replay-target", "candidate:app", "--replay-hermetic")
    result.assert_outcomes(passed=10)  # the outbound calls are not tests of their own


def test_without_hermetic_the_calls_go_out_and_fail(project) -> None:
    result = project.runpytest(*ARGS, "--replay-target", "candidate:app")
    result.assert_outcomes(failed=10)


def test_a_call_the_monolith_never_made_is_a_difference_of_its_own(project) -> None:
    result = project.runpytest(*ARGS, "--replay-target", "candidate:chatty()", "--replay-hermetic")
    result.assert_outcomes(failed=10)
    port = project.port  # type: ignore[attr-defined]
    result.stdout.fnmatch_lines([f"*unrecorded outbound call: GET http://127.0.0.1:{port}/audit*"])


def test_matchers_can_leave_the_host_out(project) -> None:
    # Recorded against another port: only method and path must match.
    elsewhere = CANDIDATE.format(port=free_port())
    project.makepyfile(candidate=elsewhere)
    strict = project.runpytest(*ARGS, "--replay-target", "candidate:app", "--replay-hermetic")
    strict.assert_outcomes(failed=10)
    loose = project.runpytest(
        *ARGS,
        "--replay-target",
        "candidate:app",
        "--replay-hermetic",
        "--replay-hermetic-match",
        "method,path",
    )
    loose.assert_outcomes(passed=10)


def test_hermetic_needs_an_in_process_candidate_and_known_matchers(project) -> None:
    result = project.runpytest(*ARGS, "--replay-target", "http://127.0.0.1:9", "--replay-hermetic")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--replay-hermetic answers the calls of a candidate running*"])
    result = project.runpytest(
        *ARGS,
        "--replay-target",
        "candidate:app",
        "--replay-hermetic",
        "--replay-hermetic-match",
        "method,colour",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown matcher(s) colour*"])

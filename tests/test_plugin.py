"""`pytest --replay` driven from outside, as users run it, with pytester.

Each test writes a small store of recorded exchanges and a tiny app (ASGI and
WSGI, the same answers) into pytester's directory, then runs pytest there.
"""

from __future__ import annotations

import ast
import gc
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from parity.store import LocalStore, iter_exchanges, write_exchanges
from parity.traffic.exchange import Exchange
from tests.factories import T0, make_exchange, make_request, make_response

pytest_plugins = ["pytester"]

APP = """
import json
import os
import subprocess
import sys

USERS = {str(i): {"id": i, "name": f"user {i}"} for i in range(1, 50)}


def answer(method, path, body):
    parts = path.strip("/").split("/")
    if method == "GET" and parts[0] == "users" and len(parts) == 2:
        user = USERS.get(parts[1])
        return (200, user) if user else (404, {"error": "no such user"})
    if method == "GET" and parts[0] == "broken":
        return 200, {"id": int(parts[1]), "name": "wrong"}
    if method == "POST" and parts == ["items"]:
        return 201, {"created": True}
    if method == "POST" and parts == ["graphql"]:
        query = json.loads(body)["query"]
        if query.startswith("mutation"):
            return 200, {"data": {"addUser": {"id": "99"}}}
        return 200, {"data": {"user": {"id": "1", "name": "user 1"}}}
    return 404, {"error": "not found"}


async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    status, document = answer(scope["method"], scope["path"], body)
    payload = json.dumps(document).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


def wsgi(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    status, document = answer(environ["REQUEST_METHOD"], environ["PATH_INFO"], body)
    start_response(f"{status} X", [("Content-Type", "application/json")])
    return [json.dumps(document).encode()]
"""


def recorded(
    method: str,
    path: str,
    status: int,
    document: object,
    *,
    at: float,
    body: bytes = b"",
    endpoint: str | None = None,
) -> Exchange:
    headers = [("Host", "monolith.test:8000"), ("Content-Type", "application/json")]
    return make_exchange(
        at,
        request=make_request(
            method=method,
            path=path,
            headers=headers,
            body=body,
            timestamp_start=at,
            timestamp_end=at + 0.001,
        ),
        response=make_response(
            status=status,
            headers=[("Content-Type", "application/json")],
            body=json.dumps(document).encode(),
        ),
        endpoint=endpoint,
        recorder_id="rec",
    )


def users_app(pytester: pytest.Pytester, count: int) -> list[Exchange]:
    """The app in pytester's directory, importable, and `count` recorded GET /users/{id}
    it answers alike (not yet stored)."""
    pytester.makepyfile(app=APP)
    pytester.syspathinsert()
    return [
        recorded("GET", f"/users/{i}", 200, {"id": i, "name": f"user {i}"}, at=T0 + i)
        for i in range(1, count + 1)
    ]


def standard_store(root: Path) -> list[Exchange]:
    """Users that match, a broken endpoint, an unsafe POST, a GraphQL query and mutation."""
    exchanges = []
    at = T0
    for i in range(1, 7):
        exchanges.append(recorded("GET", f"/users/{i}", 200, {"id": i, "name": f"user {i}"}, at=at))
        at += 1
    for i in (1, 2):
        exchanges.append(recorded("GET", f"/broken/{i}", 200, {"id": i, "name": "right"}, at=at))
        at += 1
    exchanges.append(recorded("POST", "/items", 201, {"created": True}, at=at, body=b"{}"))
    at += 1
    query = json.dumps({"query": "query GetUser { user(id: 1) { id name } }"}).encode()
    exchanges.append(
        recorded(
            "POST",
            "/graphql",
            200,
            {"data": {"user": {"id": "1", "name": "user 1"}}},
            at=at,
            body=query,
        )
    )
    at += 1
    mutation = json.dumps({"query": "mutation AddUser { addUser { id } }"}).encode()
    exchanges.append(
        recorded("POST", "/graphql", 200, {"data": {"addUser": {"id": "99"}}}, at=at, body=mutation)
    )
    write_exchanges(LocalStore(root), exchanges, "rec")
    return exchanges


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(app=APP)
    pytester.syspathinsert()
    standard_store(pytester.path / "traffic")
    return pytester


def outcomes(result: pytest.RunResult) -> dict[str, int]:
    return result.parseoutcomes()


def certification(pytester: pytest.Pytester, directory: str = "report") -> dict:
    return json.loads((pytester.path / directory / "certification.json").read_text())


def verdicts(document: dict) -> dict[str, str]:
    return {e["endpoint"]: e["verdict"] for e in document["endpoints"]}


@pytest.mark.parametrize("granularity", ["exchange", "endpoint"])
def test_what_lives_through_the_run_is_kept_out_of_garbage_collection_until_it_ends(
    project, granularity
) -> None:
    project.makeconftest(
        """
        import gc
        def pytest_runtest_call(item):
            with open("frozen.txt", "a") as counts:
                counts.write(f"{gc.get_freeze_count()}\\n")
        """
    )
    replay = ["--replay", "--replay-from=traffic", "--replay-target=app:asgi"]
    gc.collect()
    by_python = gc.get_freeze_count()  # 0, but on 3.12 its immortal objects
    result = project.runpytest(*replay, f"--replay-granularity={granularity}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # /broken differs, as recorded
    counts = [int(n) for n in (project.path / "frozen.txt").read_text().split()]
    assert counts and min(counts) > 1000  # the session's objects, during every item
    # This process goes on after the session: its next full pass collects them.
    gc.collect()
    assert gc.get_freeze_count() == by_python


def test_replay_items_reports_share_their_keywords_without_the_items_names(project) -> None:
    # pytest keeps every report to the end; each copying its item's keywords would cost
    # half a kilobyte an exchange, so reports with the same keywords share one copy.
    project.makeconftest(
        """
        import pytest
        def pytest_configure(config):
            config.addinivalue_line("markers", "known_broken: answers differ, as recorded")
        @pytest.hookimpl(trylast=True)
        def pytest_collection_modifyitems(items):
            for item in items:
                if "/broken/" in item.nodeid:
                    item.add_marker("known_broken")
        def pytest_terminal_summary(terminalreporter):
            with open("keywords.txt", "w") as out:
                for category, reports in terminalreporter.stats.items():
                    for report in reports:
                        if getattr(report, "nodeid", "").startswith("replay/"):
                            kept = sorted(report.keywords)
                            print(report.nodeid, id(report.keywords), kept, file=out)
        """
    )
    project.runpytest("--replay", "--replay-from=traffic", "--replay-target=app:asgi")
    lines = (project.path / "keywords.txt").read_text().splitlines()
    shared: dict[str, set[str]] = {}
    for line in lines:
        nodeid, copy, kept = re.fullmatch(r"(.+) (\d+) (\[.*\])", line).groups()
        assert not any(k.startswith("replay/") for k in ast.literal_eval(kept)), line
        assert ("known_broken" in kept) == ("/broken/" in nodeid), line
        shared.setdefault(kept, set()).add(copy)
    assert len(lines) > 3 * 2  # three reports for each of several items
    assert all(len(copies) == 1 for copies in shared.values()), shared


def test_the_full_passes_as_a_pytest_process_ends_leave_the_frozen_objects_out(project) -> None:
    # pytest collects garbage in full as it unconfigures (its unraisable-exception check;
    # not in pytester's in-process runs, hence a process of its own), and the interpreter
    # once more as it exits: each would walk every item again, for nothing.
    project.makeconftest(
        """
        import gc, sys
        def full_pass(phase, info):
            if phase == "start" and info["generation"] == 2:
                with open("ending.txt", "a") as counts:
                    counts.write(f"{gc.get_freeze_count()} {sys.is_finalizing()}\\n")
        def pytest_sessionfinish(session):
            gc.callbacks.append(full_pass)
        """
    )
    replay = ["--replay", "--replay-from=traffic", "--replay-target=app:asgi"]
    result = project.runpytest_subprocess(*replay)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # /broken differs, as recorded
    passes = [line.split() for line in (project.path / "ending.txt").read_text().splitlines()]
    assert [exiting for _, exiting in passes].count("False") >= 1  # pytest's own
    assert passes[-1][1] == "True"  # the interpreter's, as it exits
    assert min(int(frozen) for frozen, _ in passes) > 1000


@pytest.mark.parametrize("app", ["app:asgi", "app:wsgi"])
def test_in_process_apps_are_certified_endpoint_by_endpoint(project, app) -> None:
    result = project.runpytest(
        "--replay", "--replay-from", "traffic", "--replay-target", app, "--replay-report", "report"
    )
    result.assert_outcomes(passed=7, failed=2, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*GET /broken/{id}: the candidate's answer differs*",
            "*$.name*changed*",
            '*expected: "right"*',
            '*actual:   "wrong"*',
            "*parity certification*",
        ]
    )
    document = certification(project)
    assert verdicts(document) == {
        "GET /broken/{id}": "failed",
        "GET /users/{id}": "certified",
        "POST /items": "skipped",
        "graphql mutation AddUser": "skipped",
        "graphql query GetUser": "certified",
    }
    broken = next(e for e in document["endpoints"] if e["endpoint"] == "GET /broken/{id}")
    assert broken["differing_paths"][0]["path"] == "$.name"
    assert broken["differing_paths"][0]["count"] == 2
    html = (project.path / "report" / "report.html").read_text()
    assert "GET /broken/{id}" in html and "monolith (expected)" in html


def test_node_ids_are_stable_and_select_with_k_and_lf(project) -> None:
    args = ["--replay", "--replay-from", "traffic", "--replay-target", "app:asgi"]
    listed = project.runpytest(*args, "--collect-only", "-q")
    ids = [line for line in listed.stdout.lines if line.startswith("replay/")]
    assert len(ids) == 11
    assert "replay/GET /users/{id}/" in ids[0]
    assert project.runpytest(*args, "--collect-only", "-q").stdout.lines[: len(ids)] == ids

    only_users = project.runpytest(*args, "-k", "users")
    only_users.assert_outcomes(passed=6)
    project.runpytest(*args)  # records the failures for --lf
    last_failed = project.runpytest(*args, "--lf")
    last_failed.assert_outcomes(failed=2, deselected=9)


def test_unsafe_requests_are_skipped_with_the_reason_unless_allowed(project) -> None:
    args = ["--replay", "--replay-from", "traffic", "--replay-target", "app:asgi", "-rs"]
    skipped = project.runpytest(*args)
    skipped.stdout.fnmatch_lines(
        [
            "*POST changes state; replay it with --replay-unsafe*",
            "*a GraphQL mutation changes state*",
        ]
    )
    allowed = project.runpytest(*args, "--replay-unsafe")
    allowed.assert_outcomes(passed=9, failed=2)


def test_endpoints_declared_safe_in_config_are_replayed(project) -> None:
    project.makefile(".toml", parity='[replay]\nsafe = ["POST /items"]\n')
    result = project.runpytest(
        "--replay", "--replay-from", "traffic", "--replay-target", "app:asgi"
    )
    result.assert_outcomes(passed=8, failed=2, skipped=1)


def test_config_file_then_ini_then_command_line(project) -> None:
    project.makefile(
        ".toml",
        parity='[replay]\nfrom = "traffic"\ntarget = "app:asgi"\nendpoints = ["GET /users/*"]\n',
    )
    from_file = project.runpytest("--replay")
    from_file.assert_outcomes(passed=6)
    project.makeini("[pytest]\nreplay_endpoint =\n    GET /broken/*\n")
    from_ini = project.runpytest("--replay")
    from_ini.assert_outcomes(failed=2)
    from_cli = project.runpytest("--replay", "--replay-endpoint", "graphql *")
    from_cli.assert_outcomes(passed=1, skipped=1)


def test_per_endpoint_sample_is_reproducible_with_a_seed(pytester: pytest.Pytester) -> None:
    exchanges = users_app(pytester, 40)
    write_exchanges(LocalStore(pytester.path / "traffic"), exchanges, "rec")
    args = [
        "--replay",
        "--replay-from",
        "traffic",
        "--replay-target",
        "app:asgi",
        "--replay-per-endpoint",
        "5",
        "--collect-only",
        "-q",
    ]

    def picked(seed: str) -> list[str]:
        result = pytester.runpytest(*args, "--replay-seed", seed)
        return [line for line in result.stdout.lines if line.startswith("replay/")]

    assert len(picked("1")) == 5
    assert picked("1") == picked("1")
    assert picked("1") != picked("2")


def test_a_url_target_that_is_down_fails_each_item_clearly(project) -> None:
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = project.runpytest(
        "--replay",
        "--replay-from",
        "traffic",
        "--replay-target",
        url,
        "--replay-endpoint",
        "GET /users/*",
        "--replay-report",
        "report",
    )
    result.assert_outcomes(failed=6)
    result.stdout.fnmatch_lines(["*the candidate gave no answer*refused*", "*curl*"])
    endpoint = certification(project)["endpoints"][0]
    assert (endpoint["error"], endpoint["verdict"]) == (6, "failed")


def test_a_url_target_answers_like_the_app(project, tmp_path) -> None:
    from examples.processes import port_open, python, running
    from tests.conftest import free_port

    port = free_port()
    server = project.path / "serve.py"
    server.write_text(
        "import sys, uvicorn\nsys.path.insert(0, '.')\n"
        f"uvicorn.run('app:asgi', host='127.0.0.1', port={port}, log_level='warning')\n"
    )
    with running("app", python(str(server)), port=port, log_dir=tmp_path, ready=port_open(port)):
        result = project.runpytest(
            "--replay", "--replay-from", "traffic", "--replay-target", f"http://127.0.0.1:{port}"
        )
    result.assert_outcomes(passed=7, failed=2, skipped=2)


def test_the_recorded_host_is_refused_as_a_target(project) -> None:
    result = project.runpytest(
        "--replay", "--replay-from", "traffic", "--replay-target", "http://monolith.test:8000"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is where the traffic was recorded from*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replay-threshold", "2"], "*--replay-threshold must be a match rate from 0 to 1*"),
        (["--replay-concurrency", "many"], "*--replay-concurrency takes a whole number*"),
        (["--replay-header", "no colon"], "*is not 'Name: value'*"),
        (["--replay-since", "yesterday-ish"], "*cannot read 'yesterday-ish' as a time*"),
        (["--replay-target", "nothing here"], "*neither a URL*"),
    ],
)
def test_a_bad_option_is_a_usage_error_naming_it(project, args, message) -> None:
    base = {"--replay-from": "traffic", "--replay-target": "app:asgi"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    result = project.runpytest("--replay", *[x for pair in base.items() for x in pair])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_without_replay_the_plugin_does_nothing(project) -> None:
    project.makepyfile(test_plain="def test_one():\n    pass\n")
    result = project.runpytest()
    result.assert_outcomes(passed=1)


def test_xdist_gives_the_same_certification_as_one_process(project) -> None:
    args = [
        "--replay",
        "--replay-from",
        "traffic",
        "--replay-target",
        "app:asgi",
        "--replay-unsafe",
    ]
    single = project.runpytest(*args, "-n", "0", "--replay-report", "one")
    double = project.runpytest(*args, "-n", "2", "--replay-report", "two")
    single.assert_outcomes(passed=9, failed=2)
    double.assert_outcomes(passed=9, failed=2)
    double.stdout.fnmatch_lines(["*their order across endpoints was not kept*"])
    assert "order across endpoints" not in single.stdout.str()

    def comparable(document: dict) -> list:
        # Answer times are measured, so they differ from run to run; how many were, does not.
        return [
            {k: v for k, v in e.items() if k not in ("differing_paths", "latency")}
            | {
                "paths": [(p["path"], p["count"]) for p in e["differing_paths"]],
                "timed": [e["latency"][side]["count"] for side in ("monolith_ms", "candidate_ms")],
            }
            for e in document["endpoints"]
        ]

    assert comparable(certification(project, "one")) == comparable(certification(project, "two"))


def test_a_conftest_hook_rewrites_requests(project) -> None:
    project.makeconftest(
        "import dataclasses\n"
        "def pytest_replay_prepare_request(request, exchange):\n"
        "    if request.path.startswith('/broken/'):\n"
        "        return dataclasses.replace(request, path='/users/' + request.path.split('/')[-1])\n"
    )
    result = project.runpytest(
        "--replay",
        "--replay-from",
        "traffic",
        "--replay-target",
        "app:asgi",
        "--replay-endpoint",
        "GET /broken/*",
    )
    # Now answered by /users/{id}: "user 1" is not the recorded "right", but the request moved.
    result.stdout.fnmatch_lines(['*actual:   "user 1"*'])


SPY = """
import app

SEEN = "seen.txt"


async def asgi(scope, receive, send):
    if scope["type"] == "http":
        with open(SEEN, "a") as seen:
            seen.write(scope["method"] + " " + scope["path"] + "\\n")
    await app.asgi(scope, receive, send)
"""


@pytest.mark.parametrize(
    ("conftest", "args"),
    [
        (
            "import dataclasses\n"
            "def pytest_replay_prepare_request(request, exchange):\n"
            "    return dataclasses.replace(request, method='DELETE')\n",
            [],
        ),
        ("", ["--replay-header", "X-HTTP-Method-Override: DELETE"]),
    ],
    ids=["a hook turns GETs into DELETEs", "--replay-header overrides the method"],
)
def test_a_request_made_unsafe_on_its_way_out_is_not_sent(project, conftest, args) -> None:
    project.makepyfile(spy=SPY)
    if conftest:
        project.makeconftest(conftest)
    run = [
        "--replay",
        "--replay-from",
        "traffic",
        "--replay-target",
        "spy:asgi",
        "--replay-endpoint",
        "GET /users/*",
        *args,
    ]
    result = project.runpytest(*run)
    result.stdout.fnmatch_lines(["*not sent: as prepared for sending*DELETE changes state*"])
    seen = project.path / "seen.txt"
    assert not seen.exists() or "GET /users" not in seen.read_text()
    assert outcomes(result).get("passed", 0) == 0
    declared = project.runpytest(*run, "--replay-unsafe")
    assert "GET /users" in seen.read_text() or "DELETE /users" in seen.read_text()
    assert "not sent" not in declared.stdout.str()


def test_loopback_names_count_as_the_recorded_host(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=APP)
    exchange = recorded("GET", "/users/1", 200, {"id": 1, "name": "user 1"}, at=T0)
    moved = make_exchange(T0, request=make_request(host="127.0.0.1", port=8001, path="/users/1"))
    write_exchanges(LocalStore(pytester.path / "traffic"), [exchange, moved], "rec")
    result = pytester.runpytest(
        "--replay", "--replay-from=traffic", "--replay-target=http://localhost:8001"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is where the traffic was recorded from*"])


def test_a_run_that_replays_nothing_keeps_the_last_report(project) -> None:
    args = ["--replay", "--replay-from=traffic", "--replay-target=app:asgi", "--replay-report=r"]
    project.runpytest(*args)
    before = (project.path / "r" / "certification.json").read_text()
    project.runpytest(*args, "--collect-only")
    assert (project.path / "r" / "certification.json").read_text() == before


def test_damaged_segments_are_reported_and_the_rest_replayed(project) -> None:
    segment = next((project.path / "traffic").rglob("*.jsonl.zst"))
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    result = project.runpytest("--replay", "--replay-from=traffic", "--replay-target=app:asgi")
    result.stdout.fnmatch_lines(["*parity: skipped*"])


def test_paths_in_the_config_file_are_beside_it(project) -> None:
    project.makefile(
        ".toml",
        parity='[replay]\nfrom = "traffic"\ntarget = "app:asgi"\n'
        'report = "out"\nendpoints = ["GET /users/*"]\n',
    )
    sub = project.mkdir("deeper")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--replay", "-p", "no:cacheprovider", "-q"],
        cwd=sub,
        env={**os.environ, "PYTHONPATH": str(project.path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project.path / "out" / "certification.json").exists()


def test_junit_xml_carries_each_exchange_and_its_outcome(project) -> None:
    import xml.etree.ElementTree as ET

    project.runpytest(
        "--replay",
        "--replay-from",
        "traffic",
        "--replay-target",
        "app:asgi",
        "--junitxml",
        "out.xml",
    )
    cases = ET.parse(project.path / "out.xml").getroot().iter("testcase")
    found = {}
    for case in cases:
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        found[properties.get("parity_endpoint"), properties.get("parity_outcome")] = properties
    matched = found["GET /users/{id}", "matched"]
    assert matched["parity_exchange"] and "parity_paths" not in matched
    mismatched = found["GET /broken/{id}", "mismatched"]
    assert json.loads(mismatched["parity_paths"]) == ["$.name"]
    assert ("POST /items", "skipped") in found


def test_loadgroup_keeps_each_endpoint_on_one_worker(project) -> None:
    result = project.runpytest(
        "--replay",
        "--replay-from",
        "traffic",
        "--replay-target",
        "app:asgi",
        "-n",
        "2",
        "--dist",
        "loadgroup",
        "-v",
    )
    workers: dict[str, set[str]] = {}
    for line in result.stdout.lines:
        if line.startswith("[gw") and " replay/" in line:
            worker, _, rest = line.partition(" ")
            endpoint = rest.rpartition("@")[2].strip()
            workers.setdefault(endpoint, set()).add(worker)
    assert set(workers) >= {"GET /users/{id}", "GET /broken/{id}"}
    assert all(len(on) == 1 for on in workers.values()), workers


CONFIGURED = """
import dataclasses
from replayer import ReplayConfig


def replay_config():
    def rewrite(request, exchange):
        if request.path == "/users/4":
            return dataclasses.replace(request, path="/users/5")
        return None

    return ReplayConfig(headers={"X-Test-Token": "t0k"}, replace={"/broken/": "/users/"},
                        rewrite=rewrite)
"""


RECORDING_APP = """
import app

async def asgi(scope, receive, send):
    with open("seen.txt", "a") as seen:
        token = dict(scope["headers"]).get(b"x-test-token", b"-").decode()
        seen.write(f"{scope['path']} {token}\\n")
    await app.asgi(scope, receive, send)
"""


def test_a_conftest_replay_config_adapts_every_request(project) -> None:
    project.makeconftest(CONFIGURED)
    project.makepyfile(recording_app=RECORDING_APP)
    result = project.runpytest(
        "--replay",
        "--replay-from",
        "traffic",
        "--replay-target",
        "recording_app:asgi",
        "--replay-endpoint",
        "GET *",
    )
    # /broken/{id} now asks /users/{id}, whose answer differs from the recorded "right";
    # /users/4 was sent as /users/5, so its answer is user 5, not the recorded user 4.
    result.assert_outcomes(passed=5, failed=3)
    result.stdout.fnmatch_lines(["*$.name*", '*expected: "user 4"*', '*actual:   "user 5"*'])
    seen = (project.path / "seen.txt").read_text().split("\n")
    assert {line.split()[1] for line in seen if line} == {"t0k"}
    assert "/users/4 t0k" not in seen and "/broken/1 t0k" not in seen


def test_replay_config_headers_give_way_to_replay_header(project) -> None:
    project.makeconftest(CONFIGURED)
    project.makepyfile(recording_app=RECORDING_APP)
    project.runpytest(
        "--replay",
        "--replay-from",
        "traffic",
        "--replay-target",
        "recording_app:asgi",
        "--replay-endpoint",
        "GET /broken/*",
        "--replay-header",
        "x-test-token: cli",
    )
    assert (project.path / "seen.txt").read_text().split() == ["/users/1", "cli", "/users/2", "cli"]


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ("replay_config = {'headers': {}}\n", "*replay_config in *conftest.py gave dict; make it*"),
        ("def replay_config():\n    return 3\n", "*replay_config in *conftest.py gave int*"),
    ],
)
def test_a_bad_replay_config_is_a_usage_error(project, declared, message) -> None:
    project.makeconftest(declared)
    result = project.runpytest(
        "--replay", "--replay-from", "traffic", "--replay-target", "app:asgi"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_node_ids_and_endpoints_select_as_arguments(project) -> None:
    args = ["--replay", "--replay-from", "traffic", "--replay-target", "app:asgi"]
    listed = project.runpytest(*args, "--collect-only", "-q")
    one = next(line for line in listed.stdout.lines if line.startswith("replay/GET /users/"))
    single = project.runpytest(*args, one)
    single.assert_outcomes(passed=1, deselected=10)
    endpoint = project.runpytest(*args, "replay/GET /broken/{id}", "-q")
    endpoint.assert_outcomes(failed=2, deselected=9)
    project.makepyfile(test_plain="def test_one():\n    pass\n")
    beside = project.runpytest(*args, "test_plain.py", "replay/GET /users/{id}")
    beside.assert_outcomes(passed=7, deselected=5)


def test_an_app_factory_is_called_once_per_run(project) -> None:
    project.makepyfile(
        factory="""
import app


def make():
    with open("calls.txt", "a") as calls:
        calls.write("called\\n")
    return app.asgi
"""
    )
    project.runpytest("--replay", "--replay-from", "traffic", "--replay-target", "factory:make()")
    assert (project.path / "calls.txt").read_text() == "called\n"


def test_sanitised_recordings_compare_through_the_policy(project, monkeypatch) -> None:
    exchanges = [e for e in standard_store(project.path / "unused") if "/users/" in e.request.path]
    sanitiser = Sanitiser(Pseudonymiser(b"recording key"))
    write_exchanges(LocalStore(project.path / "clean"), [sanitiser(e) for e in exchanges], "rec")
    stored = iter_exchanges(LocalStore(project.path / "clean"))
    assert all("user " not in e.response.body.text() for e in stored)  # names pseudonymised
    args = ["--replay", "--replay-from", "clean", "--replay-target", "app:asgi"]
    monkeypatch.setenv("PARITY_SANITIZE_KEY", "recording key")
    project.runpytest(*args).assert_outcomes(passed=6)  # clear names become their pseudonyms
    monkeypatch.delenv("PARITY_SANITIZE_KEY")
    by_kind = project.runpytest(*args)
    by_kind.assert_outcomes(passed=6)  # without the key: a name field against a name field
    assert "compared by what they are" not in by_kind.stdout.str()
    monkeypatch.setenv("PARITY_SANITIZE_KEY", "another key")
    project.runpytest(*args).assert_outcomes(failed=6)  # other pseudonyms: the key matters


LEADERBOARD_APP = """
import json

BOARD = [{"rank": 1, "name": "Ada Lovelace", "score": 98},
         {"rank": 2, "name": "Grace Hopper", "score": 95}]


def wsgi(environ, start_response):
    board = [dict(row) for row in BOARD]
    if environ.get("PATH_INFO") == "/swapped":  # a regression: names on the wrong scores
        board[0]["name"], board[1]["name"] = board[1]["name"], board[0]["name"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"leaders": board}).encode()]
"""


@pytest.mark.parametrize("key", [None, "recording key"])
def test_a_candidate_swapping_redacted_values_is_blind_without_the_key_failed_with_it(
    pytester: pytest.Pytester, monkeypatch, key: str | None
) -> None:
    pytester.makepyfile(board=LEADERBOARD_APP)
    pytester.syspathinsert()
    board = {
        "leaders": [
            {"rank": 1, "name": "Ada Lovelace", "score": 98},
            {"rank": 2, "name": "Grace Hopper", "score": 95},
        ]
    }
    sanitiser = Sanitiser(Pseudonymiser(key.encode() if key else None))
    exchanges = [
        sanitiser(recorded("GET", "/swapped", 200, board, at=T0 + i, endpoint="GET /leaders"))
        for i in range(3)
    ]
    write_exchanges(LocalStore(pytester.path / "store"), exchanges, "rec")
    if key:
        monkeypatch.setenv("PARITY_SANITIZE_KEY", key)
    else:
        monkeypatch.delenv("PARITY_SANITIZE_KEY", raising=False)
    result = pytester.runpytest(
        "--replay",
        "--replay-from",
        "store",
        "--replay-target",
        "board:wsgi",
        "--replay-report",
        "report",
    )
    (entry,) = certification(pytester)["endpoints"]
    if key:
        # With the key the names are pseudonyms, compared: the swap is found.
        assert entry["verdict"] == "failed"
        assert entry["blind"]["values"] == 0 and entry["verdict_note"] is None
        assert "blind:" not in result.stdout.str()
    else:
        # Without it both sides hold [redacted:name]: equal, never compared, and said so.
        assert entry["verdict"] == "certified"
        assert entry["blind"] == {"values": 6, "exchanges": 3, "by_values": {"2": 3}}
        assert "2 value(s)" not in entry["verdict_note"]
        assert "6 value(s) not comparable" in entry["verdict_note"]
        output = result.stdout.str()
        assert "certified (6 blind)" in output
        assert output.count("blind: 6 value(s) in 3 exchange(s) on 1 endpoint(s)") == 1
        page = (pytester.path / "report" / "report.html").read_text()
        assert "6 value(s) not comparable" in page

"""The sanitiser against a service nobody here wrote: httpbin (from PyPI) under gunicorn.

Ordinary traffic with secrets and personal data in it goes through `parity
record` in front of httpbin, on 127.0.0.1. The store must hold none of them,
every stored request must still be a valid HTTP/1.1 request to the same host,
its reproduce command must run, and replaying the store against the same
httpbin must differ only where the difference has a cause outside the
sanitiser's rewriting: a value httpbin makes fresh on every call, or a
credential the sanitiser removed (and that a replay cannot have).
httpbin echoes what it was sent, so any request the sanitiser broke or
changed inconsistently shows up as a difference.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h11
import httpx
import pytest

from examples.processes import REPO_ROOT, parity, port_open, python, running
from parity.store import iter_exchanges, open_store
from replayer.target import curl_command, outgoing
from tests.conftest import free_port

pytest.importorskip("httpbin", reason="httpbin is among the dev extras")
pytestmark = pytest.mark.e2e

EMAIL = "quinn.harper@example.com"
PASSWORD = "Tr0ub4dor_3-horse"
TOKEN = "glpat-9xQm2LrT4vWz8KpN3sYb"
SSN = "123-45-6789"
NAME = "Quinn Harper"
CLIENT_IP = "203.0.113.77"
SOAP = (
    '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
    ' xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecext-1.0.xsd">'
    "<soap:Header><wsse:Security><wsse:UsernameToken><wsse:Username>quinn</wsse:Username>"
    f"<wsse:Password>{PASSWORD}</wsse:Password></wsse:UsernameToken></wsse:Security>"
    f"</soap:Header><soap:Body><lookup><fullName>{NAME}</fullName></lookup></soap:Body>"
    "</soap:Envelope>"
)
#: What must not reach the store, in any of the forms it was sent in.
PLANTED = [
    EMAIL,
    "quinn.harper%40example.com",
    PASSWORD,
    TOKEN,
    SSN,
    NAME,
    CLIENT_IP,
    base64.b64encode(f"quinn:{PASSWORD}".encode()).decode(),
]


def requests() -> list[dict[str, object]]:
    """Ordinary API traffic, each request an `httpx.Client.request` call's arguments."""
    basic = "Basic " + base64.b64encode(f"quinn:{PASSWORD}".encode()).decode()
    form = f"user%5Bemail%5D=quinn.harper%40example.com&new_password={PASSWORD}&plan=pro"
    return [
        {"method": "GET", "url": "/get", "params": {"name": "user1", "page": "2"}},
        {"method": "GET", "url": "/base64/SFRUUEJJTiBpcyBhd2Vzb21l"},
        {"method": "GET", "url": f"/anything/users/{EMAIL}/profile"},
        {"method": "GET", "url": f"/anything/lookup/{SSN}"},
        {"method": "GET", "url": "/get", "params": {"email": EMAIL, "sig": "0f9a8b7c6d5e4f3a"}},
        {
            "method": "GET",
            "url": "/headers",
            "headers": {
                "X-Session-Token": "3f2c9a1e-8b7d-4c6e-9f01-2a3b4c5d6e7f",
                "Private-Token": TOKEN,
                "X-Forwarded-For": CLIENT_IP,
                "X-Request-ID": EMAIL,
            },
        },
        {
            "method": "GET",
            "url": "/basic-auth/quinn/" + PASSWORD,
            "headers": {"Authorization": basic},
        },
        {"method": "GET", "url": "/bearer", "headers": {"Authorization": f"Bearer {TOKEN}"}},
        {
            "method": "POST",
            "url": "/post",
            "json": {
                "customer_name": NAME,
                "mobile_phone": "+44 20 7946 0958",
                "newPassword": PASSWORD,
                "order": {"id": "ORD-2024-118", "total": 42.5, "card_cvv": "123"},
            },
        },
        {
            "method": "POST",
            "url": "/post",
            "content": form,
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        {
            "method": "POST",
            "url": "/post",
            "data": {"comment": f"from {EMAIL}", "password": PASSWORD},
            "files": {"upload": ("notes.txt", f"call {NAME} on 020 7946 0958\n", "text/plain")},
        },
        {
            "method": "POST",
            "url": "/anything/soap",
            "content": SOAP,
            "headers": {"Content-Type": "text/xml; charset=utf-8"},
        },
        {
            "method": "POST",
            "url": "/anything/broken-xml",
            "content": f"<login><pin>{PASSWORD}&x</login>",
            "headers": {"Content-Type": "application/xml"},
        },
        {
            "method": "POST",
            "url": "/anything/events",
            "headers": {"Content-Type": "application/x-ndjson"},
            "content": f'{{"event": "login", "email": "{EMAIL}"}}\n{{"event": "view", "id": 7}}\n',
        },
        {
            "method": "POST",
            "url": "/anything/graphql",
            "json": {
                "query": f'mutation {{ login(email: "{EMAIL}", password: "{PASSWORD}") {{ token }} }}'
            },
        },
        {
            "method": "POST",
            "url": "/anything/zipped",
            "content": gzip.compress(json.dumps({"password": PASSWORD}).encode(), mtime=0),
            "headers": {"Content-Type": "application/json", "Content-Encoding": "x-custom"},
        },
        {"method": "GET", "url": "/uuid"},
        {"method": "GET", "url": "/status/418"},
        {"method": "GET", "url": "/json"},
    ]


#: Endpoints whose replay may differ, and why: nothing the sanitiser rewrote.
EXPECTED_DIFFERENCES = {
    # A fresh value on every call.
    "GET /uuid": "httpbin answers a new uuid each time",
    # Credentials are removed from the store, so the replay sends none.
    "GET /basic-auth/quinn/{token}": "the Authorization header was removed: 401, not 200",
    "GET /bearer": "the Authorization header was removed: 401, not 200",
    "GET /headers": "the credential headers were removed, so httpbin's echo lacks them",
    # Bodies that could not be read whole were not stored, so they cannot be sent again.
    "POST /anything/zipped": "an unknown content coding: the request body was dropped",
    "POST /anything/broken-xml": "malformed XML: the request body was dropped",
}


@dataclass(frozen=True)
class Recorded:
    store: Path
    url: str
    answers: list[httpx.Response]
    #: The environment the recorder ran with: the key, when it had one.
    key: dict[str, str]


@pytest.fixture(scope="module", params=["unkeyed", "keyed"])
def recorded(request, tmp_path_factory) -> Iterator[Recorded]:
    """A store recorded through `parity record` in front of httpbin, without a key (markers)
    and with one (pseudonyms); httpbin's URL; what the client got."""
    work = tmp_path_factory.mktemp("httpbin")
    key = {"PARITY_SANITIZE_KEY": "httpbin-test-key"} if request.param == "keyed" else {}
    httpbin_port, proxy_port = free_port(), free_port()
    store = work / "traffic"
    httpbin = python(
        "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{httpbin_port}", "httpbin:app"
    )
    recorder = parity(
        "record",
        "--upstream",
        f"http://127.0.0.1:{httpbin_port}",
        "--listen",
        f"127.0.0.1:{proxy_port}",
        "--store",
        str(store),
        "--recorder-id",
        "httpbin",
        "--spool-dir",
        str(work / "spool"),
        "--set",
        "parity_stats_interval=0",
    )
    answers = []
    with (
        running("httpbin", httpbin, port=httpbin_port, log_dir=work) as service,
        running(
            "recorder",
            recorder,
            port=proxy_port,
            log_dir=work,
            ready=port_open(proxy_port),
            env=key,
        ) as proxy,
        httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
    ):
        for call in requests():
            answers.append(client.request(**call))  # type: ignore[arg-type]
        assert proxy.stop(signal.SIGTERM) == 0, proxy.output()
        yield Recorded(store, service.url, answers, key)
        service.stop()


def test_httpbin_answered_every_request_through_the_recorder(recorded) -> None:
    answers = recorded.answers
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == len(statuses) - 1 and 418 in statuses, statuses
    assert not any(answer.headers.get("server", "").startswith("mitmproxy") for answer in answers)


def test_nothing_planted_reaches_the_store_and_the_scan_finds_it_clean(recorded) -> None:
    store = recorded.store
    stored = list(iter_exchanges(open_store(store)))
    assert len(stored) == len(requests())
    everything = "\n".join(json.dumps(e.to_record()) for e in stored)
    assert [value for value in PLANTED if value in everything] == []
    scan = subprocess.run(
        parity("scan", str(store)), cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert scan.returncode == 0, scan.stdout + scan.stderr


def test_every_stored_request_is_valid_http_to_the_same_host(recorded) -> None:
    store, url = recorded.store, recorded.url
    host = url.removeprefix("http://")
    for exchange in iter_exchanges(open_store(store)):
        request = exchange.request
        assert request.path.startswith("/"), request.path
        assert request.headers.get("host") == host, request.headers
        h11.Request(
            method=request.method,
            target=request.target,
            headers=list(request.headers),
            http_version="1.1",
        )


def test_every_reproduce_command_runs(recorded) -> None:
    store, url = recorded.store, recorded.url
    for exchange in iter_exchanges(open_store(store)):
        method, target, headers, body = outgoing(exchange.request, {})
        command = curl_command(url, method, target, headers, body)
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        assert done.stdout.startswith("HTTP/1.1 "), done.stdout[:200]


def replayed(
    recorded: Recorded, url: str, tmp_path: Path, *options: str, env: dict[str, str] | None = None
) -> tuple[dict[str, dict[str, object]], subprocess.CompletedProcess[str]]:
    """Replay the store against httpbin at `url`, from `tmp_path` (where a parity.toml may
    be): each endpoint's entry in certification.json, and the run's output."""
    report = tmp_path / "report"
    command = [
        *python("-m", "pytest"),
        "--replay",
        f"--replay-from={recorded.store}",
        f"--replay-target={url}",
        "--replay-allow-recorded-host",
        "--replay-unsafe",
        f"--replay-report={report}",
        "-p",
        "no:cacheprovider",
        "-q",
        "--tb=line",
        "--no-header",
        *options,
    ]
    # The replay compares under the same key as the recording.
    environment = {**os.environ, **recorded.key, **(env or {})}
    done = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, check=False
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    document = json.loads((report / "certification.json").read_text())
    return {entry["endpoint"]: entry for entry in document["endpoints"]}, done


def unexplained_failures(
    recorded: Recorded, url: str, tmp_path: Path, *options: str
) -> dict[str, object]:
    """Replay the store against httpbin at `url`: the endpoints that failed for a reason
    `EXPECTED_DIFFERENCES` does not name, with their differing paths."""
    verdicts, _ = replayed(recorded, url, tmp_path, *options)
    assert verdicts["GET /uuid"]["verdict"] == "failed"
    assert len(verdicts) >= 12
    return {
        endpoint: [(p["path"], p["examples"][:1]) for p in entry["differing_paths"]]
        for endpoint, entry in verdicts.items()
        if entry["verdict"] != "certified" and endpoint not in EXPECTED_DIFFERENCES
    }


def test_replaying_httpbin_on_another_server_and_port_reads_its_address_as_recorded(
    recorded, tmp_path
) -> None:
    # Recorded behind gunicorn; the candidate is the same httpbin behind waitress, elsewhere.
    # httpbin echoes its own address (`url`, the Host header, redirect Locations): read as
    # the recorded one, those are not differences.
    port = free_port()
    waitress = python("-m", "waitress", "--listen", f"127.0.0.1:{port}", "httpbin:app")
    with running("httpbin-waitress", waitress, port=port, log_dir=tmp_path) as candidate:
        assert unexplained_failures(recorded, candidate.url, tmp_path) == {}
        # Compared as it is, the candidate's address is a difference wherever it is echoed.
        kept = unexplained_failures(recorded, candidate.url, tmp_path, "--replay-keep-origin")
        # httpbin's fresh uuid is random content: noise runs at the candidate and at the
        # monolith (the reference) recognise it as noise.
        noisy, done = replayed(
            recorded,
            candidate.url,
            tmp_path,
            "--replay-noise-runs=4",
            f"--replay-reference={recorded.url}",
        )
    uuid = noisy["GET /uuid"]
    assert uuid["verdict"] == "certified", done.stdout
    assert [entry["path"] for entry in uuid["noise"]] == ["$.uuid"]
    assert {"GET /get", "POST /post", "GET /anything/users/{email}/profile"} <= kept.keys()
    assert "$.url" in {path for path, _ in kept["GET /get"]}  # type: ignore[attr-defined]


def test_replaying_against_the_same_httpbin_differs_only_where_a_cause_is_named(
    recorded, tmp_path
) -> None:
    assert unexplained_failures(recorded, recorded.url, tmp_path) == {}


CREDENTIALS = """
[[replay.credentials]]
endpoints = "GET /basic-auth/*"
header = "Authorization"
env = "HTTPBIN_BASIC"

[[replay.credentials]]
endpoints = "GET /bearer"
header = "Authorization"
env = "HTTPBIN_BEARER"
"""


def test_credentials_given_the_documented_way_certify_the_auth_endpoints(
    recorded, tmp_path
) -> None:
    # Without them, the 401 says what the recording lost and what to declare.
    _, done = replayed(
        recorded, recorded.url, tmp_path, "--replay-endpoint=GET /bearer", "--tb=short"
    )
    assert "the recorder removed this request's authorization" in done.stdout, done.stdout
    assert "[[tool.parity.replay.credentials]]" in done.stdout
    # The password was in the path, so the store holds its stand-in there (as `parity show`
    # prints it): the test credential is the user with that stand-in.
    (basic,) = [
        e.request.path
        for e in iter_exchanges(open_store(str(recorded.store)))
        if e.request.path.startswith("/basic-auth/")
    ]
    user, stand_in = basic.split("/")[2:4]
    secrets = {
        "HTTPBIN_BASIC": "Basic " + base64.b64encode(f"{user}:{stand_in}".encode()).decode(),
        "HTTPBIN_BEARER": "Bearer test-token-for-replays-0001",
    }
    (tmp_path / "parity.toml").write_text(CREDENTIALS)
    verdicts, done = replayed(recorded, recorded.url, tmp_path, "--tb=short", env=secrets)
    assert verdicts["GET /basic-auth/quinn/{token}"]["verdict"] == "certified", done.stdout
    # httpbin echoes the bearer token: secrets are redacted with or without a key, so the
    # test token reads as the recorded one did.
    assert verdicts["GET /bearer"]["verdict"] == "certified", done.stdout
    written = (
        done.stdout
        + done.stderr
        + "".join(path.read_text() for path in (tmp_path / "report").iterdir())
    )
    for secret in (*secrets.values(), "test-token-for-replays-0001"):
        assert secret not in written


def test_a_replay_of_httpbin_split_in_shards_merges_into_the_single_run(recorded, tmp_path) -> None:
    # The user's way: the same store replayed once, and in three shards (state-changing
    # requests included, carried by every shard), then `parity report merge`.
    port = free_port()
    waitress = python("-m", "waitress", "--listen", f"127.0.0.1:{port}", "httpbin:app")
    with running("httpbin-waitress", waitress, port=port, log_dir=tmp_path) as candidate:
        (tmp_path / "single").mkdir()
        single, _ = replayed(recorded, candidate.url, tmp_path / "single")
        for index in (1, 2, 3):
            (tmp_path / f"shard-{index}").mkdir()
            replayed(
                recorded, candidate.url, tmp_path / f"shard-{index}", f"--replay-shard={index}/3"
            )
    merge = subprocess.run(
        parity(
            "report",
            "merge",
            *(str(tmp_path / f"shard-{index}" / "report") for index in (1, 2, 3)),
            "--out",
            str(tmp_path / "merged"),
        ),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert merge.returncode == 1, merge.stdout + merge.stderr  # GET /uuid differs, as once
    document = json.loads((tmp_path / "merged" / "certification.json").read_text())
    merged = {entry["endpoint"]: entry for entry in document["endpoints"]}

    def counted(entries: dict[str, dict[str, object]]) -> dict[str, tuple[object, ...]]:
        keys = ("verdict", "replayed", "matched", "mismatched", "error", "skipped")
        return {endpoint: tuple(entry[k] for k in keys) for endpoint, entry in entries.items()}

    assert counted(merged) == counted(single)
    assert sum(entry["replayed"] for entry in merged.values()) == len(requests())

"""What the certification tells a release manager: differences summed up by field and by
kind, and answer times beside correctness (`pytest --replay` run with pytester)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.store import LocalStore, write_exchanges
from parity.traffic.exchange import Exchange
from replayer.pagesections import anchor
from tests.factories import T0, make_exchange, make_request, make_response

pytest_plugins = ["pytester"]

#: A candidate that writes the first three courses' progress as whole numbers (40.5 -> 40)
#: for users below 60, and sleeps on /slow/ (a fixed time per request, in seconds).
APP = """
import asyncio
import json
import pathlib

SLOW = float(pathlib.Path("slow.txt").read_text()) if pathlib.Path("slow.txt").exists() else 0.0


def progress(user):
    items = [{"course": c, "percent": round(40.5 + user * 0.001 + c, 3)} for c in range(5)]
    if user < 60:
        for item in items[:3]:
            item["percent"] = int(item["percent"])
    return {"user": user, "items": items}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    parts = scope["path"].strip("/").split("/")
    if parts[0] == "progress":
        document = progress(int(parts[1]))
    else:
        if parts[0] == "slow":
            await asyncio.sleep(SLOW)
        document = {"id": int(parts[1])}
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(document).encode()})
"""


def recorded(path: str, document: object, at: float, took: float = 0.002) -> Exchange:
    """GET `path` answered with `document`, the monolith taking `took` seconds to answer."""
    return make_exchange(
        at,
        request=make_request(path=path, timestamp_start=at, timestamp_end=at + 0.001),
        response=make_response(
            body=json.dumps(document).encode(),
            timestamp_start=at + 0.001 + took / 2,
            timestamp_end=at + 0.001 + took,
        ),
        endpoint=None,
    )


def progress(user: int) -> dict[str, object]:
    items = [{"course": c, "percent": round(40.5 + user * 0.001 + c, 3)} for c in range(5)]
    return {"user": user, "items": items}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(app=APP)
    return pytester


def certification(project: pytest.Pytester, report: str = "report") -> dict:
    return json.loads((project.path / report / "certification.json").read_text())


def test_a_field_differing_at_three_list_positions_is_one_field_and_one_kind(project) -> None:
    exchanges = [recorded(f"/progress/{user}", progress(user), T0 + user) for user in range(63)]
    write_exchanges(LocalStore(project.path / "traffic"), exchanges, "rec")
    result = project.runpytest(
        "--replay", "--replay-from=traffic", "--replay-target=app:app", "--replay-report=report"
    )
    result.assert_outcomes(passed=3, failed=60)

    (endpoint,) = certification(project)["endpoints"]
    (field,) = endpoint["fields"]
    assert field["path"] == "$.items[*].percent"
    assert (field["exchanges"], field["compared"]) == (60, 63)
    assert field["kinds"] == {"changed": 180}  # three list positions in each of 60
    # Truncation: 40.5 + user/1000 + course to its whole number: 0.5 to 0.559 apart.
    numeric = field["numeric"]
    assert numeric["differences"] == 180
    assert numeric["max_abs"] == pytest.approx(0.559)
    assert numeric["median_abs"] == pytest.approx(0.529)  # the nearest rank: user 29
    first = field["example"]
    assert (first["expected"], first["actual"]) == (40.5, 40)
    (group,) = endpoint["groups"]
    assert group["signature"] == [{"path": "$.items[*].percent", "kind": "changed"}]
    assert (group["exchanges"], group["shown"]) == (60, 1)
    example = group["example"]
    assert example["exchange"] == min(e.id for e in exchanges[:60])  # the earliest
    assert [d["path"] for d in example["differences"]] == [
        "$.items[0].percent",
        "$.items[1].percent",
        "$.items[2].percent",
    ]
    assert "bodies" in example
    assert example["reproduce"][-1].startswith("parity show traffic ")
    # The same field across the run, naming the endpoint it differs on.
    (across,) = certification(project)["fields"]
    assert (across["path"], across["exchanges"], across["endpoints"]) == (
        "$.items[*].percent",
        60,
        ["GET /progress/{id}"],
    )

    page = (project.path / "report" / "report.html").read_text()
    section = anchor("GET /progress/{id}")
    assert f'href="#{section}"' in page and f'id="{section}"' in page
    assert page.count("<code>$.items[*].percent</code>") >= 2  # per endpoint and across
    assert "60 of 63 (95.2%)" in page
    assert "up to 0.559 apart, median 0.529 (180 numbers)" in page
    assert "60 exchange(s) differ at $.items[*].percent (changed) \N{EM DASH} 1 of 60 shown" in page
    assert page.count('<details class="group"') == 1
    assert "parity show traffic " in page


def latency_store(project: pytest.Pytester) -> None:
    """Twenty GETs on each of /fast/{id} and /slow/{id}, the monolith answering /slow in
    20 ms and /fast in a second: however long a busy machine stalls one request, the
    candidate's /fast stays well under any budget, and only /slow is judged by time."""
    exchanges = []
    for n in range(20):
        exchanges.append(recorded(f"/fast/{n}", {"id": n}, T0 + 2 * n, took=1.0))
        exchanges.append(recorded(f"/slow/{n}", {"id": n}, T0 + 2 * n + 1, took=0.020))
    write_exchanges(LocalStore(project.path / "traffic"), exchanges, "rec")


def test_a_candidate_three_times_slower_is_shown_and_fails_only_under_a_budget(project) -> None:
    latency_store(project)
    (project.path / "slow.txt").write_text("0.060")  # three times the monolith's 20 ms
    args = ["--replay", "--replay-from=traffic", "--replay-target=app:app"]

    result = project.runpytest(*args, "--replay-report=free")
    result.assert_outcomes(passed=40)
    assert result.ret == 0
    free = {e["endpoint"]: e for e in certification(project, "free")["endpoints"]}
    slow, fast = free["GET /slow/{id}"]["latency"], free["GET /fast/{id}"]["latency"]
    assert slow["monolith_ms"] == {"count": 20, "p50": 20.0, "p99": 20.0}
    assert slow["candidate_ms"]["count"] == 20
    assert slow["p99_ratio"] > 2.5 and slow["candidate_ms"]["p50"] >= 60.0
    assert fast["p99_ratio"] < 1.5
    assert not slow["slower"] and slow["max_p99_ratio"] is None
    assert {e["verdict"] for e in free.values()} == {"certified"}
    # The ratio in the terminal table and on the page.
    table = next(line for line in result.outlines if line.startswith("GET /slow/{id}"))
    assert f"({slow['p99_ratio']:.2f}x)" in table and table.endswith("certified")
    page = (project.path / "free" / "report.html").read_text()
    assert f"{slow['p99_ratio']:.2f}x" in page

    result = project.runpytest(*args, "--replay-report=budget", "--replay-max-p99-ratio=1.5")
    assert result.ret == 1  # every exchange matched, yet the release may not go
    judged = {e["endpoint"]: e for e in certification(project, "budget")["endpoints"]}
    assert judged["GET /slow/{id}"]["verdict"] == "slower"
    assert judged["GET /slow/{id}"]["latency"]["slower"] is True
    assert judged["GET /fast/{id}"]["verdict"] == "certified"
    assert certification(project, "budget")["summary"]["slower"] == 1
    result.stdout.fnmatch_lines(
        [
            "GET /slow/{id} * slower",
            "1 certified, 0 failed, 1 slower, 0 with insufficient samples, 0 skipped",
            "latency budget: the candidate's p99 may be at most 1.5x the monolith's",
        ]
    )
    page = (project.path / "budget" / "report.html").read_text()
    assert "answer more slowly than the latency budget allows" in page
    assert "(budget 1.50x: over)" in page


def test_a_latency_budget_must_be_a_positive_factor(project) -> None:
    latency_store(project)
    result = project.runpytest(
        "--replay", "--replay-from=traffic", "--replay-target=app:app", "--replay-max-p99-ratio=0"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--replay-max-p99-ratio is how many times*not 0.0*"])


def test_recordings_without_answer_times_are_not_judged_for_speed(project) -> None:
    exchanges = [
        make_exchange(
            T0 + n,
            request=make_request(path=f"/slow/{n}", timestamp_end=None),
            response=make_response(body=b'{"id": %d}' % n),
            endpoint=None,
        )
        for n in range(3)
    ]
    write_exchanges(LocalStore(project.path / "traffic"), exchanges, "rec")
    result = project.runpytest(
        "--replay",
        "--replay-from=traffic",
        "--replay-target=app:app",
        "--replay-report=report",
        "--replay-max-p99-ratio=1.5",
    )
    assert result.ret == 0
    (endpoint,) = certification(project)["endpoints"]
    assert endpoint["verdict"] == "certified"
    assert endpoint["latency"]["monolith_ms"]["count"] == 0
    assert endpoint["latency"]["p99_ratio"] is None
    result.stdout.fnmatch_lines(
        ["*not checked on 1 endpoint(s) whose recording has no answer times"]
    )


def test_the_page_refuses_nothing_it_is_given_and_escapes_it(tmp_path: Path) -> None:
    from replayer.page import render_html

    hostile = "<script>alert(1)</script>"
    document = {
        "target": hostile,
        "store": hostile,
        "generated_at": hostile,
        "summary": {"failed": 1},
        "endpoints": [
            {
                "endpoint": hostile,
                "verdict": "failed",
                "replayed": 1,
                "matched": 0,
                "mismatched": 1,
                "error": 0,
                "skipped": 0,
                "match_rate": 0.0,
                "threshold": 1.0,
                "fields": [
                    {
                        "path": hostile,
                        "exchanges": 1,
                        "compared": 1,
                        "rate": 1.0,
                        "kinds": {hostile: 1},
                        "example": {"expected": hostile, "actual": 1},
                        "numeric": None,
                    }
                ],
                "groups": [
                    {
                        "signature": [{"path": hostile, "kind": "changed"}],
                        "exchanges": 1,
                        "exchange_ids": [hostile],
                        "shown": 1,
                        "example": {
                            "exchange": hostile,
                            "differences": [
                                {
                                    "path": hostile,
                                    "kind": "changed",
                                    "expected": hostile,
                                    "actual": hostile,
                                }
                            ],
                            "reproduce": [hostile],
                            "bodies": {"expected": hostile, "actual": hostile},
                        },
                    }
                ],
                "latency": {
                    "monolith_ms": {"count": 1, "p50": hostile, "p99": hostile},
                    "candidate_ms": {"count": 1, "p50": 1.0, "p99": 1.0},
                    "p99_ratio": hostile,
                    "max_p99_ratio": None,
                    "slower": False,
                },
            }
        ],
        "fields": [],
    }
    page = render_html(document)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

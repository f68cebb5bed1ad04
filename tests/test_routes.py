"""The migration's routing table, and moving endpoints through it on evidence."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from parity.cli import main as parity_main
from parity.errors import UsageError
from parity.migration.live import LIVE_SCHEMA
from parity.migration.promotion import demotion, proposals
from parity.migration.routes import Phase, ReloadingTable, Route, RoutingTable, moved

TABLE = """\
# The migration of the learning platform.
default = "monolith"

[[route]]
endpoint = "GET /api/users/{id}"   # the first to go
phase = "side-by-side"
mirror_rate = 0.5

[[route]]
endpoint = "GET /api/courses*"
phase = "candidate"

[[route]]
endpoint = "POST /api/users/{id}/enrolments"
phase = "side-by-side"
mirror_unsafe = true
"""


@pytest.fixture
def routes(tmp_path) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(TABLE)
    return path


def test_the_first_matching_route_decides_and_the_default_covers_the_rest(routes) -> None:
    table = RoutingTable.load(routes)
    assert table.route_for("GET /api/users/{id}") == Route(
        "GET /api/users/{id}", Phase.SIDE_BY_SIDE, 0.5
    )
    assert table.route_for("GET /api/courses/{uuid}").phase is Phase.CANDIDATE
    assert table.route_for("POST /api/users/{id}/enrolments").mirror_unsafe
    assert table.route_for("GET /health") == Route("GET /health", Phase.MONOLITH)
    assert [p.next for p in Phase] == [
        Phase.SIDE_BY_SIDE,
        Phase.CANDIDATE,
        Phase.CANDIDATE_ONLY,
        None,
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('default = "canary"', r"default is 'canary'; a phase is one of monolith, side-by-side"),
        ('colour = "red"', r"unknown key\(s\) colour"),
        ('[[route]]\nphase = "candidate"', r"route 1 needs an endpoint pattern"),
        ('[[route]]\nendpoint = "GET /a"\nphase = "live"', r"route 1 \(GET /a\) phase is 'live'"),
        (
            '[[route]]\nendpoint = "GET /a"\nphase = "candidate"\nmirror_rate = 2',
            r"mirror_rate must be a number from 0 to 1, not 2",
        ),
        (
            '[[route]]\nendpoint = "GET /a"\nphase = "candidate"\n'
            '[[route]]\nendpoint = "GET /a"\nphase = "monolith"',
            r"names 'GET /a' twice",
        ),
        ("default = ", r"is not valid TOML"),
    ],
)
def test_bad_tables_are_one_sentence_naming_the_problem(tmp_path, text, message) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        RoutingTable.load(path)


def test_a_changed_table_is_reloaded_and_a_broken_one_keeps_the_last_good(routes) -> None:
    live = ReloadingTable(routes)
    assert live.check() is None
    routes.write_text(TABLE.replace('phase = "candidate"', 'phase = "candidate-only"'))
    os.utime(routes, ns=(1, 1))  # a new stamp, however fast the file system
    assert live.check() is None
    assert live.table.route_for("GET /api/courses").phase is Phase.CANDIDATE_ONLY
    routes.write_text(TABLE.replace('phase = "candidate"', 'phase = "everywhere"'))
    os.utime(routes, ns=(2, 2))
    problem = live.check()
    assert problem is not None and "still routing by the table loaded before" in problem
    assert live.table.route_for("GET /api/courses").phase is Phase.CANDIDATE_ONLY
    assert live.check() is None  # said once per change


def test_moving_a_route_rewrites_its_phase_and_keeps_the_comments(routes) -> None:
    text = moved(TABLE, "GET /api/users/{id}", Phase.CANDIDATE)
    assert "# the first to go" in text and "# The migration" in text
    table = RoutingTable.parse(tomllib.loads(text))
    assert table.route_for("GET /api/users/{id}").phase is Phase.CANDIDATE
    assert table.route_for("GET /api/users/{id}").mirror_rate == 0.5
    # An endpoint under a glob gets its own route, ahead of the glob.
    text = moved(TABLE, "GET /api/courses/{uuid}", Phase.CANDIDATE_ONLY)
    table = RoutingTable.parse(tomllib.loads(text))
    assert table.route_for("GET /api/courses/{uuid}").phase is Phase.CANDIDATE_ONLY
    assert table.route_for("GET /api/courses").phase is Phase.CANDIDATE


def test_a_fingerprint_names_what_a_table_routes_not_how_its_file_is_written() -> None:
    fingerprint = RoutingTable.parse(tomllib.loads(TABLE)).fingerprint()
    rewritten = "\n".join(
        line.split("#")[0].replace('"', "'").replace(" = ", "=") for line in TABLE.splitlines()
    )
    assert RoutingTable.parse(tomllib.loads(rewritten)).fingerprint() == fingerprint
    head, users, courses, enrolments = TABLE.split("[[route]]")
    changed = [
        TABLE.replace('default = "monolith"', 'default = "side-by-side"'),
        TABLE.replace("mirror_rate = 0.5", "mirror_rate = 0.25"),
        TABLE.replace("mirror_unsafe = true", "mirror_unsafe = false"),
        TABLE.replace('"GET /api/courses*"', '"GET /api/courses/*"'),
        moved(TABLE, "GET /api/users/{id}", Phase.CANDIDATE),
        "[[route]]".join([head, users, enrolments, courses]),  # the first match decides
    ]
    fingerprints = {RoutingTable.parse(tomllib.loads(text)).fingerprint() for text in changed}
    assert len(fingerprints) == len(changed) and fingerprint not in fingerprints


def certification(**verdicts: str) -> dict:
    return {
        "endpoints": [
            {"endpoint": e.replace("_", " "), "verdict": v, "matched": 10, "replayed": 10}
            for e, v in verdicts.items()
        ]
    }


def live(*entries: dict) -> dict:
    return {"schema_version": LIVE_SCHEMA, "endpoints": list(entries)}


def test_offline_certification_moves_monolith_endpoints_to_side_by_side(routes) -> None:
    table = RoutingTable.load(routes)
    document = {
        "endpoints": [
            {"endpoint": "GET /health", "verdict": "certified", "matched": 3, "replayed": 3},
            {"endpoint": "GET /api/users/{id}/progress", "verdict": "failed"},
            {"endpoint": "GET /api/users/{id}", "verdict": "certified"},  # already side by side
        ]
    }
    moves, notes = proposals(table, document)
    assert [(m.endpoint, m.before, m.after) for m in moves] == [
        ("GET /health", Phase.MONOLITH, Phase.SIDE_BY_SIDE)
    ]
    assert moves[0].why == "certified offline (3 of 3 replayed exchanges matched)"
    assert notes == ["GET /api/users/{id}/progress: stays monolith: offline verdict 'failed'"]


def test_live_evidence_moves_endpoints_on_only_when_it_meets_the_thresholds(routes) -> None:
    table = RoutingTable.load(routes)
    evidence = live(
        {"endpoint": "GET /api/users/{id}", "mirrored": 200, "matched": 199},
        {"endpoint": "POST /api/users/{id}/enrolments", "mirrored": 20, "matched": 20},
        {"endpoint": "GET /api/courses", "served_by_candidate": 500, "fallbacks": 0},
        {"endpoint": "GET /api/courses/{uuid}", "served_by_candidate": 500, "fallbacks": 2},
    )
    moves, notes = proposals(table, live=evidence, min_samples=100, live_threshold=0.99)
    assert [(m.endpoint, m.after) for m in moves] == [
        ("GET /api/courses", Phase.CANDIDATE_ONLY),
        ("GET /api/users/{id}", Phase.CANDIDATE),
    ]
    assert (
        "POST /api/users/{id}/enrolments: stays side-by-side: 20 of 20 mirrored requests "
        "matched (100.0%); 100 needed" in notes
    )
    assert any("GET /api/courses/{uuid}: stays candidate" in n for n in notes)
    strict, notes = proposals(table, live=evidence, min_samples=100, live_threshold=1.0)
    assert [m.endpoint for m in strict] == ["GET /api/courses"]
    assert any("199 of 200 mirrored requests matched (99.5%), below 100.0%" in n for n in notes)
    with pytest.raises(UsageError, match="schema version 7"):
        proposals(table, live={"schema_version": 7, "endpoints": []})


def test_demotion_is_one_phase_back_and_only_when_asked(routes) -> None:
    table = RoutingTable.load(routes)
    move = demotion(table, "GET /api/courses")
    assert (move.before, move.after) == (Phase.CANDIDATE, Phase.SIDE_BY_SIDE)
    with pytest.raises(UsageError, match="already in the first phase"):
        demotion(table, "GET /health")


def test_promote_and_demote_print_the_diff_and_write_only_when_told(
    routes, tmp_path, capsys
) -> None:
    report = tmp_path / "certification.json"
    report.write_text(json.dumps(certification(**{"GET_/health": "certified"})))
    assert parity_main(["promote", str(routes), "--certification", str(report)]) == 0
    out = capsys.readouterr().out
    assert "GET /health: monolith -> side-by-side" in out
    assert '+endpoint = "GET /health"' in out and "nothing written" in out
    assert routes.read_text() == TABLE
    assert parity_main(["promote", str(routes), "--certification", str(report), "--write"]) == 0
    assert RoutingTable.load(routes).route_for("GET /health").phase is Phase.SIDE_BY_SIDE
    assert parity_main(["demote", "GET /health", str(routes), "--write"]) == 0
    assert RoutingTable.load(routes).route_for("GET /health").phase is Phase.MONOLITH
    capsys.readouterr()
    assert parity_main(["promote", str(routes)]) == 2
    assert "give the evidence" in capsys.readouterr().err


#: As a gateway of live.json schema 1 wrote it: one such file is still read as it is.
LIVE = {
    "schema_version": 1,
    "generated_at": "2026-11-24T12:00:00+00:00",
    "endpoints": [
        {
            "endpoint": "GET /api/users/{id}",
            "phase": "side-by-side",
            "requests": 40,
            "mirrored": 40,
            "matched": 40,
            "noise": 40,
            "mismatched": 0,
            "candidate_errors": 0,
            "mirror_dropped": 0,
            "not_mirrored_unsafe": 0,
            "served_by_candidate": 0,
            "fallbacks": 0,
            "latency_ms": {
                "monolith": {"p50": 0.8, "p99": 1.2},
                "candidate": {"p50": 1.1, "p99": 2.0},
            },
            "differing_paths": {},
        },
        {
            "endpoint": "GET /api/users/{id}/progress",
            "phase": "side-by-side",
            "requests": 40,
            "mirrored": 40,
            "matched": 2,
            "noise": 2,
            "mismatched": 38,
            "candidate_errors": 0,
            "mirror_dropped": 0,
            "not_mirrored_unsafe": 0,
            "served_by_candidate": 0,
            "fallbacks": 0,
            "latency_ms": {
                "monolith": {"p50": None, "p99": None},
                "candidate": {"p50": None, "p99": None},
            },
            "differing_paths": {"$.items[*].percent": 38},
        },
    ],
}


def test_parity_report_renders_the_live_scoreboard_with_the_certification(tmp_path) -> None:
    import subprocess
    import sys

    from tests.test_fixtures import FIXTURES

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--replay",
            f"--replay-from={FIXTURES}",
            "--replay-target=examples.candidate:app",
            "--replay-report=offline",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(FIXTURES.parents[1])},
    )
    (tmp_path / "live.json").write_text(json.dumps(LIVE))
    out = tmp_path / "report.html"
    assert (
        parity_main(
            [
                "report",
                "--certification",
                str(tmp_path / "offline" / "certification.json"),
                "--live",
                str(tmp_path / "live.json"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    page = out.read_text()
    assert "Live, through the gateway" in page and "GET /api/users/{id}/progress" in page
    assert page.index("GET /api/users/{id}/progress</td><td>side-by-side") < page.index(
        "GET /api/users/{id}</td><td>side-by-side"
    )  # riskiest first
    assert "Endpoints, riskiest first" in page  # the offline certification is there too
    assert (
        parity_main(
            ["report", "--live", str(tmp_path / "live.json"), "--out", str(tmp_path / "live.html")]
        )
        == 0
    )
    assert "0.8 / 1.2" in (tmp_path / "live.html").read_text()

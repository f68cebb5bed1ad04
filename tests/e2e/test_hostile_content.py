"""Hostile content is inert: what recordings and candidates hold is shown, never obeyed.

Recorded bytes reach a terminal (`parity show`, a failing item's explanation)
and a browser (report.html); a candidate may answer with bytes that are not
UTF-8 or with JSON that escapes half a surrogate pair. Each is compared,
reported and written without error, and each is escaped where it is shown.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from parity.store import LocalStore, write_exchanges
from tests.e2e.browser import CHROMIUM_FLAGS
from tests.factories import T0, make_exchange, make_request, make_response

pytestmark = pytest.mark.e2e
pytest_plugins = ["pytester"]

#: What a terminal would obey: a window title, a screen wipe, a bell, a C1 CSI.
CONTROLS = "\x1b]0;owned\x07\x1b[2J\x9b31m"

CANDIDATE = r"""
def wsgi(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/surrogate":
        body, kind = b'{"name": "half \\ud83d emoji"}', "application/json"
    elif path == "/latin":
        body, kind = b'{"name": "caf\xe9 \xff\xfe"}', "application/json"
    elif path == "/controls":
        body, kind = '{"title": "\\u001b]0;owned\\u0007\\u001b[2J\u009b31m"}'.encode(), "application/json"
    else:
        body, kind = b"\x1b[2J not json \xff", "text/plain"
    start_response("200 OK", [("Content-Type", kind)])
    return [body]
"""


def recorded(path: str, body: bytes, kind: str = "application/json", at: float = T0):
    request = make_request(
        method="GET",
        path=path,
        headers=[("Host", "monolith.test:8000")],
        timestamp_start=at,
        timestamp_end=at + 0.001,
    )
    response = make_response(headers=[("Content-Type", kind)], body=body)
    return make_exchange(
        at, request=request, response=response, recorder_id="rec", endpoint=f"GET {path}"
    )


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(candidate=CANDIDATE)
    pytester.syspathinsert()
    exchanges = [
        recorded("/surrogate", b'{"name": "whole \\ud83d\\ude00 emoji"}', at=T0),
        recorded("/latin", '{"name": "café"}'.encode(), at=T0 + 1),
        recorded("/controls", json.dumps({"title": "plain"}).encode(), at=T0 + 2),
        recorded("/text", ("recorded " + CONTROLS + " \u202e").encode(), "text/plain", at=T0 + 3),
    ]
    write_exchanges(LocalStore(pytester.path / "traffic"), exchanges, "rec")
    return pytester


def test_a_candidate_answering_broken_text_is_compared_reported_and_escaped(project) -> None:
    result = project.runpytest_subprocess(
        "--replay",
        "--replay-from=traffic",
        "--replay-target=candidate:wsgi",
        "--replay-report=report",
        "-p",
        "no:cacheprovider",
    )
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 1, out  # every endpoint differs, none crashes
    assert "Traceback" not in out and "UnicodeEncodeError" not in out, out
    assert "parity certification" in out  # the closing summary is printed
    for control in ("\x1b", "\x07", "\x9b"):
        assert control not in out, f"{control!r} reached the terminal"
    assert "\\x9b31m" in out  # shown, escaped
    report = project.path / "report"
    document = json.loads((report / "certification.json").read_text())
    assert {e["verdict"] for e in document["endpoints"]} == {"failed"}
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "\x1b" not in page and "\x9b" not in page
    assert not list(report.glob("*.tmp"))


def test_parity_show_escapes_what_a_terminal_would_obey(project) -> None:
    from parity.store import iter_exchanges

    (text,) = [
        e for e in iter_exchanges(LocalStore(project.path / "traffic")) if e.request.path == "/text"
    ]
    done = subprocess.run(
        [sys.executable, "-m", "parity.cli", "show", str(project.path / "traffic"), text.id],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "recorded \\x1b]0;owned\\x07\\x1b[2J\\x9b31m \\u202e" in done.stdout
    for control in ("\x1b", "\x07", "\x9b"):
        assert control not in done.stdout


def test_the_report_of_broken_text_renders_in_chromium(project, tmp_path: Path) -> None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    project.runpytest_subprocess(
        "--replay",
        "--replay-from=traffic",
        "--replay-target=candidate:wsgi",
        "--replay-report=report",
        "-p",
        "no:cacheprovider",
    )
    page = project.path / "report" / "report.html"
    dom = subprocess.run(
        [
            found,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            f"file://{page}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert '<table id="endpoints-table">' in dom
    assert dom.count('<td class="verdict">failed</td>') == 4
    assert "GET /surrogate" in dom and "GET /latin" in dom


CRAFTED = {
    "target": "<script>alert(1)</script>",
    "store": "traffic",
    "generated_at": "<img src=x onerror=alert(2)>",
    "summary": {"<b>certified</b>": "<i>1</i>"},
    "endpoints": [
        {
            "endpoint": "GET /<script>alert(3)</script>",
            "verdict": 'failed" onclick="alert(4)',
            "replayed": "<script>alert(5)</script>",
            "matched": "<u>0</u>",
            "mismatched": [1],
            "error": {"x": "<s>"},
            "skipped": None,
            "match_rate": "<em>rate</em>",
            "differing_paths": [{"path": "$.<x>", "count": "<y>"}],
            "noise": [],
            "ignored": [],
        }
    ],
}


INJECTED = ("<script>alert", "<img", "<b>", "<i>", "<u>", "<em>", "<s>", "<x>", "<y>", '" onclick')


def test_parity_report_escapes_whatever_json_it_is_given(tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.json"
    crafted.write_text(json.dumps(CRAFTED))
    out = tmp_path / "report.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "parity.cli",
            "report",
            "--certification",
            str(crafted),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert page.count("<script>") == 1  # the page's own filter script, no other
    for tag in INJECTED:
        assert tag not in page, tag
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in page


def test_parity_report_refuses_json_that_is_no_report_in_one_sentence(tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.json"
    crafted.write_text(json.dumps({"endpoints": [{"endpoint": "x"}]}))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "parity.cli",
            "report",
            "--certification",
            str(crafted),
            "--out",
            str(tmp_path / "report.html"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "is not a certification.json or live.json that Parity wrote" in done.stderr

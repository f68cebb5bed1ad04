"""report.html, rendered by a real headless Chromium: the page a release manager opens.

Two runs: the demo (the example candidate against the fixtures, with its one
deliberate regression), and a run with 1,000 mismatched exchanges over 20
endpoints, the size at which a page listing every exchange stops being
readable. With ``PARITY_SCREENSHOTS=DIR`` the second test also writes the
screenshots that docs/REPLAYING.md shows into DIR (``docs/images``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from examples.processes import REPO_ROOT
from parity.store import LocalStore, write_exchanges
from replayer.pagesections import anchor
from tests.e2e.browser import Browser, find_chromium
from tests.factories import T0, make_exchange, make_request, make_response

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


def replay(cwd: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--replay",
            f"--replay-report={out}",
            "-p",
            "no:cacheprovider",
            "-q",
            "--tb=no",
            "-rN",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr  # regressions fail the run
    return done


def test_the_demo_report_renders_its_verdict_fields_and_one_example(chromium, tmp_path) -> None:
    out = tmp_path / "report"
    replay(REPO_ROOT, out)
    page = f"file://{out / 'report.html'}"
    progress = anchor("GET /api/users/{id}/progress")
    with Browser(chromium, tmp_path / "profile") as browser:
        browser.open(page)
        text = browser.evaluate("document.body.innerText")
        assert "Not certified: 1 of 20 endpoints answer differently." in text
        rows = browser.evaluate("document.querySelectorAll('#endpoints-table tr').length")
        assert rows == 21  # the header and the demo's 20 endpoints
        first = browser.evaluate("document.querySelector('#endpoints-table td a').textContent")
        assert first == "GET /api/users/{id}/progress"  # riskiest first
        # Certified with a note of the values compared only as redaction markers (the
        # demo's fixture store was sanitised without a key).
        assert "certified\n80 value(s) not comparable" in text
        section = browser.evaluate(f"document.getElementById('{progress}').innerText")
        assert "3 of 63 replayed exchanges answered as the monolith did" in section
        assert (
            "60 exchange(s) differ at $.items[*].percent (changed) \N{EM DASH} 1 of 60 shown"
            in section
        )
        assert "Answer times, p50 / p99: monolith" in section
        # The bodies side by side: the differing lines marked; 100.0 against 100 is one
        # number, so not marked; the learned noise in grey.
        marked = browser.evaluate(
            f"Array.from(document.querySelectorAll('#{progress} table.bodies tr.changed'))"
            ".map(row => row.innerText)"
        )
        assert marked and all('"percent": ' in row for row in marked), marked
        assert not any("100" in row for row in marked), marked
        grey = browser.evaluate(
            f"Array.from(document.querySelectorAll('#{progress} table.bodies tr.ignored'))"
            ".map(row => row.innerText)"
        )
        assert any('"generated_at"' in row for row in grey), grey
        assert f"parity show {REPO_ROOT / 'fixtures' / 'traffic'} " in section
        image = browser.screenshot(tmp_path / "demo.png")
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 20_000


#: 20 endpoints of 55 exchanges each: 50 the candidate answers differently, 5 alike.
ENDPOINTS, MISMATCHED, ALIKE = 20, 50, 5

#: The candidate: every row's score rounded, on odd ids the state renamed as well, and a
#: fresh `generated_at` that a rule ignores.
CANDIDATE = """
import json
import time


def answer(resource, n):
    document = {
        "id": n,
        "state": "active",
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "rows": [{"row": r, "score": round(10 + n * 0.37 + r * 1.13, 2)} for r in range(4)],
    }
    if n < 50:  # the recorded answers' first 50 ids are where the candidate regressed
        for row in document["rows"]:
            row["score"] = round(row["score"])
        if n % 2:
            document["state"] = "ACTIVE"
    return document


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    _, _, resource, n = scope["path"].split("/")
    body = json.dumps(answer(resource, int(n))).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
"""


def large_store(root: Path) -> None:
    exchanges = []
    at = T0
    for resource in range(ENDPOINTS):
        for n in range(MISMATCHED + ALIKE):
            document = {
                "id": n,
                "state": "active",
                "generated_at": "2026-11-30T10:00:00Z",
                "rows": [{"row": r, "score": round(10 + n * 0.37 + r * 1.13, 2)} for r in range(4)],
            }
            exchanges.append(
                make_exchange(
                    at,
                    request=make_request(
                        path=f"/api/resource{resource:02d}/{n}",
                        timestamp_start=at,
                        timestamp_end=at + 0.001,
                    ),
                    response=make_response(
                        body=json.dumps(document).encode(),
                        timestamp_start=at + 0.004,
                        timestamp_end=at + 0.005,
                    ),
                    endpoint=None,
                )
            )
            at += 1
    write_exchanges(LocalStore(root), exchanges, "rec")


def test_a_thousand_mismatches_over_twenty_endpoints_stay_navigable(chromium, tmp_path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "candidate.py").write_text(CANDIDATE)
    (project / "parity.toml").write_text('[compare]\nignore_paths = ["$.generated_at"]\n')
    large_store(project / "traffic")
    out = tmp_path / "report"
    replay(project, out, "--replay-from=traffic", "--replay-target=candidate:app")
    document = json.loads((out / "certification.json").read_text())
    assert sum(e["mismatched"] for e in document["endpoints"]) == ENDPOINTS * MISMATCHED
    size = (out / "report.html").stat().st_size
    # Two kinds of mismatch per endpoint, one example of each, whatever the number of
    # exchanges: 180 KB in all here (9 KB an endpoint), not 50 exchanges' worth.
    assert size < 400_000, size
    first = anchor("GET /api/resource00/{id}")
    shots = tmp_path / "shots"
    shots.mkdir()
    with Browser(chromium, tmp_path / "profile") as browser:
        browser.open(f"file://{out / 'report.html'}")
        assert browser.evaluate("document.querySelectorAll('#endpoints-table tr').length") == 21
        # Every row links to its own section.
        links = browser.evaluate(
            "Array.from(document.querySelectorAll('#endpoints-table a'))"
            ".map(a => a.getAttribute('href'))"
        )
        assert len(set(links)) == ENDPOINTS
        assert browser.evaluate(
            "Array.from(document.querySelectorAll('#endpoints-table a'))"
            ".every(a => document.querySelector(a.getAttribute('href')) !== null)"
        )
        assert browser.evaluate("document.querySelectorAll('details.group').length") == 40
        assert browser.evaluate("document.querySelectorAll('table.bodies').length") == 40
        text = browser.evaluate("document.body.innerText")
        assert text.count("\N{EM DASH} 1 of 25 shown") == 40
        # Across endpoints: one field each for the scores and the state, on all 20.
        fields = browser.evaluate(
            "Array.from(document.querySelectorAll('#fields-table tr')).slice(1)"
            ".map(row => row.cells[0].innerText + ' ' + row.cells[2].innerText)"
        )
        assert fields == ["$.rows[*].score 1000 of 1100", "$.state 500 of 1100"], fields
        # The ignored field is shown apart, with its rule.
        section = browser.evaluate(f"document.getElementById('{first}').innerText")
        assert "Not counted" in section and "$.generated_at" in section
        browser.screenshot(shots / "report-summary.png")
        browser.screenshot(shots / "report-fields.png", "#fields", 500)
        # A section by its address, as a link from a ticket would open it.
        browser.open(f"file://{out / 'report.html'}#{first}")
        assert browser.evaluate("window.scrollY") > 1000
        browser.screenshot(shots / "report-endpoint.png", f"#{first}", 1300)
    for shot in shots.iterdir():
        assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and shot.stat().st_size > 20_000
    wanted = os.environ.get("PARITY_SCREENSHOTS")
    if wanted:
        for shot in shots.iterdir():
            shutil.copy(shot, Path(wanted) / shot.name)

"""Everything that does not proxy traffic works where mitmproxy is not installed.

The replayer is a pytest plugin that CI jobs run on whatever Python the service
under test uses, and the store, interop and migration commands run on laptops:
none of them may need the recorder's dependency. Each command here runs in a
Python where importing mitmproxy fails as a missing package fails (a start-up
hook on PYTHONPATH, tests/data/no_mitmproxy), on whichever interpreter runs
the suite. The commands that do proxy refuse in one sentence.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from examples.processes import REPO_ROOT, parity

pytestmark = pytest.mark.e2e

FIXTURES = REPO_ROOT / "fixtures" / "traffic"
BLOCKER = Path(__file__).parent.parent / "data" / "no_mitmproxy"


def run(command: list[str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(BLOCKER), str(REPO_ROOT), env.get("PYTHONPATH")])
    )
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_mitmproxy_cannot_be_imported_there() -> None:
    done = run([sys.executable, "-c", "import mitmproxy"])
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'mitmproxy'" in done.stderr


def test_the_store_and_interop_commands_work(tmp_path) -> None:
    listed = run(parity("ls", str(FIXTURES), "--json"))
    assert listed.returncode == 0, listed.stderr
    endpoints = json.loads(listed.stdout)["endpoints"]
    assert any(e["endpoint"] == "GET /api/users/{id}" for e in endpoints)

    first = run(parity("show", str(FIXTURES), "--json", _first_id()))
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["request"]["method"]

    scanned = run(parity("scan", str(FIXTURES)))
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr

    har = tmp_path / "traffic.har"
    exported = run(parity("export", str(FIXTURES), "--to", "har", "--out", str(har)))
    assert exported.returncode == 0, exported.stderr
    imported = run(
        parity(
            "import",
            "--from",
            "har",
            str(har),
            "--to",
            str(tmp_path / "store"),
            "--sanitize",
            "off",
        )
    )
    assert imported.returncode == 0, imported.stderr
    again = run(parity("ls", str(tmp_path / "store"), "--json"))
    assert json.loads(again.stdout)["exchanges"] == json.loads(listed.stdout)["exchanges"]


def test_pytest_replay_certifies_and_the_migration_commands_read_its_report(tmp_path) -> None:
    report = tmp_path / "report"
    replayed = run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--replay",
            f"--replay-report={report}",
            "-p",
            "no:cacheprovider",
            "-q",
        ]
    )
    # The example candidate keeps its one deliberate bug: the run fails on it alone.
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert "parity certification" in replayed.stdout
    document = json.loads((report / "certification.json").read_text())
    verdicts = {e["endpoint"]: e["verdict"] for e in document["endpoints"]}
    assert verdicts.pop("GET /api/users/{id}/progress") == "failed"
    # Malformed GraphQL is not shown to be a query, so it is skipped, not replayed.
    unread = [name for name in verdicts if name.startswith("graphql invalid:")]
    assert unread and {verdicts.pop(name) for name in unread} == {"skipped"}
    assert set(verdicts.values()) == {"certified"}

    page = tmp_path / "page.html"
    rendered = run(
        parity("report", "--certification", str(report / "certification.json"), "--out", str(page))
    )
    assert rendered.returncode == 0, rendered.stderr
    assert page.stat().st_size > 1000

    routes = tmp_path / "routes.toml"
    routes.write_text('default = "monolith"\n')
    promoted = run(
        parity(
            "promote", str(routes), "--certification", str(report / "certification.json"), "--write"
        )
    )
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert "side-by-side" in routes.read_text()


@pytest.mark.parametrize(
    ("command", "sentence"),
    [
        (
            ["record", "--upstream", "http://127.0.0.1:9", "--store", "traffic"],
            "recording needs mitmproxy; install it with: pip install 'parity[recorder]'",
        ),
        (
            ["shadow", "--monolith", "http://127.0.0.1:9", "--candidate", "http://127.0.0.1:9"],
            "the gateway needs mitmproxy; install it with: pip install 'parity[recorder]'",
        ),
        (
            ["import", "--from", "mitmproxy", os.devnull, "--to", "traffic"],
            "reading mitmproxy flow files needs mitmproxy; install it with: pip install 'parity[recorder]'",
        ),
    ],
)
def test_the_commands_that_need_mitmproxy_say_so_in_one_sentence(
    tmp_path, command, sentence
) -> None:
    (tmp_path / "routes.toml").write_text('default = "side-by-side"\n')
    done = run(parity(*command), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"parity: error: {sentence}"
    assert [p.name for p in tmp_path.iterdir()] == ["routes.toml"]  # nothing was written


def _first_id() -> str:
    from parity.store import iter_exchanges, open_store

    return next(iter_exchanges(open_store(str(FIXTURES)))).id

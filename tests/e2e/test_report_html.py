"""report.html, rendered by a real headless Chromium: the page a release manager opens."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from examples.processes import REPO_ROOT

pytestmark = pytest.mark.e2e

# Flags for a headless browser on a machine with no network and no session bus.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium for the report test: apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--replay", f"--replay-report={out}",
         "-p", "no:cacheprovider", "-q", "--tb=no", "-rN"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # the deliberate bug fails
    return str(out / "report.html")


def browse(chromium: str, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def test_the_report_renders_the_endpoint_table_and_a_side_by_side_diff(
    chromium, report, tmp_path
) -> None:
    dom = browse(chromium, tmp_path, "--dump-dom", f"file://{report}").stdout
    assert '<table id="endpoints">' in dom
    assert "GET /api/users/{id}/progress" in dom
    assert '<td class="verdict">failed</td>' in dom
    # Certified, some with a note of the values compared only as redaction markers (the
    # demo's fixture store was sanitised without a key).
    assert dom.count('<td class="verdict">certified') >= 15
    assert dom.count('<td class="verdict">certified<br><small class="hint">certified, with') >= 1
    assert '<section class="case"' in dom
    assert "expected (monolith)" in dom and "actual (candidate)" in dom
    assert "$.items[0].percent" in dom
    # The bodies side by side, the differing lines marked.
    assert '<table class="bodies">' in dom
    assert '<tr class="changed"><td><pre>      "percent": ' in dom

    shot = tmp_path / "report.png"
    browse(
        chromium, tmp_path, "--window-size=1400,1600", f"--screenshot={shot}", f"file://{report}"
    )
    image = shot.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image) > 20_000  # a rendered page, not a blank one

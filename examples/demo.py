"""The whole Parity loop on the example services, live: what `parity demo` runs.

1. start the example monolith and `parity record` in front of it, as real
   processes on free loopback ports;
2. drive the fixture plan of requests through the recorder (every REST route
   and GraphQL operation, repeats and failures) into a fresh store;
3. replay that store with `pytest --replay` against the example candidate
   in-process, under the comparison rules of this repository's
   ``[tool.parity]``, and write certification.json and report.html.

The candidate has one deliberate bug (the progress endpoint's `percent`), so
the certification fails that endpoint and certifies the others.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from examples.processes import REPO_ROOT
from fixtures.record import plan, record_through_proxy

__all__ = ["run"]


def run(out: Path) -> int:
    """Record, replay and report into `out`; pytest's exit status (1: something failed)."""
    out = out.resolve()
    store, report = out / "traffic", out / "report"
    if store.exists():
        shutil.rmtree(store)
    calls = plan()
    print(f"parity demo: recording {len(calls)} requests to the example monolith into {store}")
    with tempfile.TemporaryDirectory(prefix="parity-demo-") as work:
        record_through_proxy(calls, store, Path(work))
    print("parity demo: replaying them against the example candidate (examples.candidate:app)")
    # Values joined with "=": pytest settles its root directory before it knows the
    # plugin's options, and would take a separate path value for a test path.
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--replay",
        f"--replay-from={store}",
        "--replay-target=examples.candidate:app",
        f"--replay-report={report}",
        "-p",
        "no:cacheprovider",
        "-q",
        "--tb=no",
        "-rN",
        "--no-header",
    ]
    # From the repository root, so its [tool.parity] comparison rules apply.
    status = subprocess.run(command, cwd=REPO_ROOT, check=False).returncode
    print(f"parity demo: open {report / 'report.html'} for the endpoints and the differences")
    return status

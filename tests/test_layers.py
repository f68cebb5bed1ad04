"""The layers of the code, as pyproject.toml's import-linter contracts state them, hold;
and a module that breaks them is caught (import-linter's `lint-imports`, which .ci/run
also runs)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("parity", "recorder", "gateway", "replayer")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    linter = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(linter), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_layers_hold() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        # The replayer reaching into the gateway: the three sit side by side.
        ("replayer/peek.py", "import gateway.scoreboard\n", "do not import each other"),
        # The vocabulary reaching up into the engines it serves.
        ("parity/traffic/peek.py", "import parity.compare.engine\n", "parity/ in layers"),
        # A library package that would need mitmproxy installed.
        ("parity/store/peek.py", "import mitmproxy.http\n", "Only what runs inside mitmproxy"),
    ],
)
def test_a_module_that_breaks_them_is_caught(tmp_path, module, source, broken) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(f'"""A deliberate violation."""\n\n{source}')
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert f"{broken}" in done.stdout and "BROKEN" in done.stdout, done.stdout


def test_what_a_replay_imports_leaves_out_the_libraries_only_some_runs_need() -> None:
    # graphql-core (a tenth of a second) is imported when a GraphQL document is first
    # read, vcrpy (and the HTTP clients it patches) for --replay-hermetic only.
    probe = (
        "import sys, replayer.plugin, replayer.run, replayer.stream, parity.sanitize; "
        "print(sorted(m for m in ('graphql', 'vcr') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"

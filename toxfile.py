"""tox finds the Pythons this project supports where version managers put them.

tox looks for `python3.13` on PATH, and pyenv keeps the interpreters it has not
been told to activate under `$(pyenv root)/versions/`, where PATH does not reach
(its shim on PATH only answers "command not found"). This inline plugin hands
tox each supported interpreter found there as a first try, so `tox -e py313`
works without anyone's help. A version found nowhere still fails the run with
tox's own sentence ("could not find python interpreter matching any of the
specs py313"), since tox.ini turns `skip_missing_interpreters` off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tox.config.sets import ConfigSet
from tox.plugin import impl
from tox.session.state import State

SUPPORTED = ("3.11", "3.12", "3.13")


def _runs(command: str) -> bool:
    """Whether `command` starts a Python, not merely a shim of an inactive version."""
    if shutil.which(command) is None:
        return False
    try:
        done = subprocess.run([command, "-c", ""], capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _pyenv_root() -> Path | None:
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    if shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip():
            return Path(found.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def _release(interpreter: Path) -> tuple[int, ...]:
    """(3, 13, 0) for .../versions/3.13.0/bin/python3.13; pre-releases sort first."""
    name = interpreter.parent.parent.name
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


def interpreters() -> list[str]:
    """The newest pyenv interpreter of each supported version that PATH cannot start."""
    root = _pyenv_root()
    if root is None:
        return []
    found = []
    for version in SUPPORTED:
        if _runs(f"python{version}"):
            continue
        installed = sorted(root.glob(f"versions/{version}.*/bin/python{version}"), key=_release)
        if installed:
            found.append(str(installed[-1]))
    return found


@impl
def tox_add_core_config(core_conf: ConfigSet, state: State) -> None:
    options = state.conf.options
    options.discover = [*getattr(options, "discover", []), *interpreters()]

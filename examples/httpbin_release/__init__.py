"""An older httpbin release, in a virtual environment of its own: a candidate whose
answers really differ from the current release's.

httpbin 0.10.1 needs Werkzeug 2 (it imports a name Werkzeug 3 removed), which
the current httpbin and the rest of the dev extras do not run with, so it gets
an environment beside the project's: ``python -m examples install`` (the
README's set-up) creates ``examples/httpbin_release/.venv`` from the pinned
`requirements.txt`. tests/e2e/test_httpbin_release.py records the current
httpbin and replays the store against this one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["RELEASE", "VENV", "command", "install", "installed"]

#: The older release, as pinned in requirements.txt.
RELEASE = "0.10.1"
_HERE = Path(__file__).parent
#: Where the release's environment lives (ignored by git, like the project's own .venv).
VENV = _HERE / ".venv"
_REQUIREMENTS = _HERE / "requirements.txt"


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def installed() -> bool:
    """Whether the release's environment holds the pinned httpbin."""
    if not _python().is_file():
        return False
    done = subprocess.run(
        [str(_python()), "-c", "import importlib.metadata as m; print(m.version('httpbin'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and done.stdout.strip() == RELEASE


def install() -> int:
    """Create the release's environment and install the pins into it: 0, or pip's status."""
    if installed():
        return 0
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    for arguments in (["--upgrade", "pip"], ["-r", str(_REQUIREMENTS)]):
        code = subprocess.run(
            [
                str(_python()),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *arguments,
            ],
            check=False,
        ).returncode
        if code:
            print(
                f"pip install {' '.join(arguments)} failed in {VENV} (exit {code}); its "
                "output above says why",
                file=sys.stderr,
            )
            return code
    return 0


def command(port: int) -> list[str]:
    """httpbin of the release, under gunicorn on 127.0.0.1:`port`."""
    return [
        str(_python()),
        "-m",
        "gunicorn",
        "--workers",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
        "httpbin:app",
    ]

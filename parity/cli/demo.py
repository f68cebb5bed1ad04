"""``parity demo``: the whole loop on the example services, from a clone of the repository."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parity.cli.common import Commands
from parity.errors import UsageError

__all__ = ["add_demo_command"]


def add_demo_command(commands: Commands) -> None:
    """``demo``."""
    demo = commands.add_parser(
        "demo",
        help="the whole loop on the example services: record, replay, report",
        description="Start the example monolith with the recorder in front of it, drive "
        "traffic through it, replay the recording against the example candidate with "
        "pytest --replay, and write certification.json and report.html.",
    )
    demo.add_argument(
        "--out", default="parity-demo", help="where the store and the report go (parity-demo)"
    )
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    # The example services live beside the packages in a clone, not in an installed wheel.
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / "examples" / "demo.py").is_file() and str(root) not in sys.path:
            sys.path.insert(0, str(root))
            break
    try:
        from examples.demo import run
    except ImportError:
        raise UsageError(
            "parity demo uses the example services: run it from a clone of the Parity "
            "repository, where examples/ and fixtures/ are"
        ) from None
    status = run(Path(args.out))
    # Failed items are the demo's findings (the candidate's deliberate bug), not an error.
    return 0 if status in (0, 1) else status

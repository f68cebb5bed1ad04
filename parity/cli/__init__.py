"""The `parity` command: the composition root that wires stores, formats and reports.

Each command group is a module that declares its subcommands beside their
handlers, and the handlers parse arguments and call the library: `store`
(``ls``, ``show``), `sanitize` (``scan``, ``mask``), `noise` (``noise
suggest``), `interop` (``import``, ``export``, ``pull``), `migration`
(``shadow``, ``promote``, ``report``, ``demote``), `record` and `demo`;
`mitmdump` is what ``record`` and ``shadow`` share, `common` what they all
do. Only this package imports the recorder, the gateway and the replayer,
inside the handlers that need them, so ``parity --version`` stays fast and
``parity ls`` runs where mitmproxy is not installed.

Every command turns a `ParityError` into one line on stderr and exit status 2;
a traceback means a bug in Parity.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from parity import __version__
from parity.cli.common import Command
from parity.cli.demo import add_demo_command
from parity.cli.interop import add_interop_commands
from parity.cli.migration import add_migration_commands
from parity.cli.noise import add_noise_commands
from parity.cli.record import add_record_command
from parity.cli.sanitize import add_sanitize_commands
from parity.cli.store import add_store_commands
from parity.errors import ParityError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``parity`` command line, every group's commands in the order ``--help`` lists
    them."""
    parser = argparse.ArgumentParser(
        prog="parity",
        description="Certify a rewritten service against the one it replaces, endpoint by "
        "endpoint, from recorded traffic.",
    )
    parser.add_argument("--version", action="version", version=f"parity {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for add_commands in (
        add_store_commands,
        add_sanitize_commands,
        add_noise_commands,
        add_interop_commands,
        add_migration_commands,
        add_record_command,
        add_demo_command,
    ):
        add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command `argv` names (the process's arguments by default); its exit status."""
    args = build_parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(args)
    except ParityError as exc:
        print(f"parity: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`parity ls ... | head`); that is not an error.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130

"""What the command groups share: a handler's type, the arguments of commands that read a
store, and how a damaged part of a store is reported."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TypeAlias

from parity.store.reader import SegmentDamage
from parity.traffic.times import parse_time

__all__ = [
    "Command",
    "Commands",
    "add_endpoint_argument",
    "add_store_arguments",
    "add_time_arguments",
    "print_damage",
    "time_range",
]

#: A command's handler: its parsed arguments in, the exit status out.
Command = Callable[[argparse.Namespace], int]
#: The table of subcommands that each group adds its commands to.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_store_arguments(command: argparse.ArgumentParser) -> None:
    """The store and time range that commands reading a store take."""
    command.add_argument("store", help="a directory, file:///path or s3://bucket/prefix")
    add_time_arguments(command)


def add_time_arguments(command: argparse.ArgumentParser) -> None:
    """``--since`` and ``--until``, read by `time_range`."""
    command.add_argument("--since", help="only exchanges from this time: ISO 8601 (UTC) or 2h, 7d")
    command.add_argument("--until", help="only exchanges before this time")


def add_endpoint_argument(command: argparse.ArgumentParser) -> None:
    """``--endpoint GLOB``, repeatable: the endpoints a command keeps."""
    command.add_argument(
        "--endpoint", action="append", help="only endpoints matching this glob (repeatable)"
    )


def time_range(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    """``--since`` and ``--until`` as times; a `UsageError` for one that cannot be read."""
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    return since, until


def print_damage(damage: SegmentDamage) -> None:
    """A part of a store that cannot be read, as a warning: the rest is still read."""
    print(f"parity: warning: {damage.message}", file=sys.stderr)

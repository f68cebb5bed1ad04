"""``parity noise suggest``: normalisation rules learned as noise, printed for review."""

from __future__ import annotations

import argparse

from parity.cli.common import (
    Commands,
    add_endpoint_argument,
    add_store_arguments,
    print_damage,
    time_range,
)
from parity.errors import UsageError
from parity.store import open_store

__all__ = ["add_noise_commands"]


def add_noise_commands(commands: Commands) -> None:
    """``noise`` and its one command, ``suggest``."""
    noise = commands.add_parser(
        "noise",
        help="learn what never repeats in a service's answers, and suggest rules for it",
        description="Noise is what differs between two answers to the same request. "
        "See docs/REPLAYING.md.",
    )
    noise_commands = noise.add_subparsers(title="commands", metavar="COMMAND", required=True)
    suggest = noise_commands.add_parser(
        "suggest",
        help="print normalisation rules (TOML) learned from a store, with the evidence",
        description="Learn noise from the requests a store holds more than once (and, with "
        "--target or --reference, from sending each safe request --runs times) and print "
        "ignore_paths rules ready to paste into [tool.parity.compare], each with the "
        "evidence for it. Nothing is written: review the rules before using them.",
    )
    add_store_arguments(suggest)
    add_endpoint_argument(suggest)
    suggest.add_argument("--target", help="also send requests to this service (URL or module:app)")
    suggest.add_argument("--reference", help="also send requests to this running monolith")
    suggest.add_argument(
        "--runs", type=int, default=2, help="times each request is sent to a target (default 2)"
    )
    suggest.add_argument("--concurrency", type=int, default=8, help="requests in flight (8)")
    suggest.add_argument("--timeout", type=float, default=5.0, help="seconds per answer (5)")
    suggest.add_argument(
        "--config",
        help="the parity.toml or pyproject.toml whose "
        "comparison rules apply (default: found from the working directory "
        "upwards)",
    )
    suggest.set_defaults(run=_suggest)


def _suggest(args: argparse.Namespace) -> int:
    from parity.compare.evidence import Source
    from parity.project import load_project
    from replayer.learn import NoiseSuggester
    from replayer.selection import Selection

    if args.runs < 2:
        raise UsageError(
            f"--runs must be at least 2: noise is what differs between two runs, not {args.runs}"
        )
    suggester = NoiseSuggester(load_project(args.config, option="--config"))
    store = open_store(args.store)
    since, until = time_range(args)
    targets = [
        (source, spec, option)
        for source, spec, option in (
            (Source.CANDIDATE, args.target, "--target"),
            (Source.REFERENCE, args.reference, "--reference"),
        )
        if spec
    ]
    suggested = suggester.suggest(
        store,
        Selection(tuple(args.endpoint or ()), since, until),
        targets,
        runs=args.runs,
        concurrency=args.concurrency,
        timeout=args.timeout,
        on_damage=print_damage,
    )
    print(suggested, end="")
    return 0

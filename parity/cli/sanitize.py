"""``parity scan`` and ``parity mask``: auditing a store for what looks sensitive, and
masking test data with the recordings' policy and key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parity.cli.common import Commands, add_store_arguments, print_damage, time_range
from parity.store import open_store
from parity.words import counted

__all__ = ["add_sanitize_commands"]


def add_sanitize_commands(commands: Commands) -> None:
    """``scan`` and ``mask``."""
    scan = commands.add_parser(
        "scan",
        help="audit a store: anything that looks like a secret or personal data",
        description="Run the sanitiser's detectors over every stored exchange and list what "
        "looks like a secret or personal data (its kind, where, and its length; never the "
        "value). Exit status 1 when anything is found or part of the store cannot be read, "
        "0 when nothing is.",
    )
    add_store_arguments(scan)
    scan.add_argument(
        "--show", type=int, default=50, metavar="N", help="list at most N findings (50)"
    )
    scan.set_defaults(run=_scan)

    mask = commands.add_parser(
        "mask",
        help="mask a data file with the recordings' policy and key, for test data",
        description="Sanitise a JSON, JSON Lines or CSV file (a database export, say) with "
        "the sanitising policy and the key in its environment variable, so each value "
        "becomes the pseudonym it is in the recordings and a candidate's test data matches "
        "them (docs/SANITISING.md).",
    )
    mask.add_argument("input", help="the data file to mask")
    mask.add_argument("--out", required=True, help="where the masked copy goes")
    mask.add_argument(
        "--format",
        choices=["json", "jsonl", "csv"],
        help="the file's format (default: from its extension)",
    )
    mask.add_argument(
        "--config",
        help="the parity.toml or pyproject.toml holding the policy "
        "(default: found from the working directory upwards)",
    )
    mask.set_defaults(run=_mask)


def _scan(args: argparse.Namespace) -> int:
    from parity.sanitize.scan import Suspect, scan_store

    def listed(suspect: Suspect, number: int) -> None:
        if number <= args.show:
            print(suspect.describe())

    store = open_store(args.store)
    since, until = time_range(args)
    tally = scan_store(store, since, until, on_suspect=listed, on_damage=print_damage)
    if tally.found > args.show:
        print(f"... and {tally.found - args.show} more (--show N lists more)")
    print(tally.summary())
    return 0 if tally.clean else 1


def _mask(args: argparse.Namespace) -> int:
    from parity.project import load_project
    from parity.sanitize.engine import Sanitiser
    from parity.sanitize.mask import DataFormat, mask_file

    source, target = Path(args.input), Path(args.out)
    fmt = DataFormat.of(source, args.format)
    policy = load_project(args.config, option="--config").policy
    sanitiser = Sanitiser.keyed_by(policy)
    if not sanitiser.pseudonymiser.keyed:
        print(
            f"parity: warning: ${policy.key_env} is not set, so values are redacted, not "
            "pseudonymised, and the data cannot match pseudonymised recordings",
            file=sys.stderr,
        )
    count = mask_file(source, target, sanitiser, fmt)
    print(
        f"parity: masked {counted(count, fmt.unit)} of {source} into {target} "
        f"({sanitiser.pseudonymiser.fingerprint or 'no key'}, {policy.fingerprint})"
    )
    return 0

"""``parity report merge``: the reports of a sharded replay added up into one run's."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_merge_command"]


def add_merge_command(report: argparse.ArgumentParser) -> None:
    """``merge``, under ``report``."""
    actions = report.add_subparsers(title="actions", metavar="ACTION", dest="action")
    merge = actions.add_parser(
        "merge",
        help="one certification from the reports of a sharded pytest --replay",
        description="Add up the --replay-report directories of a run's shards "
        "(pytest --replay --replay-shard=K/N) into the certification.json, report.html and, "
        "when every shard wrote one there, JUnit XML that one run over the same selection "
        "would have written. Refuses shards of different runs, and a missing or repeated "
        "shard. Exits 1 when the merged run fails, as pytest --replay would have, and 5 when "
        "no shard replayed anything.",
    )
    merge.add_argument("shards", nargs="+", metavar="SHARD_DIR", help="a shard's report directory")
    merge.add_argument("--out", dest="merged", required=True, help="where to write the reports")
    merge.set_defaults(run=_merge)


def _merge(args: argparse.Namespace) -> int:
    from parity.terminal import printable
    from replayer.merge import merge_reports
    from replayer.report import refuted_lines, summary_lines

    merged = merge_reports([Path(shard) for shard in args.shards], Path(args.merged))
    for line in summary_lines(merged.document):
        print(printable(line))
    state = merged.state
    for line in refuted_lines(state):
        print(printable(line))
    for message in state.damage:
        print(printable(f"parity: skipped {message}"))
    for path in merged.written:
        print(f"parity: wrote {path}")
    if not state.tallies:
        return 5  # as pytest --replay: the selection matched no exchange
    return 1 if state.failed_items() or state.vetoed() or state.slower() else 0

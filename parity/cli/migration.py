"""``parity shadow``, ``promote``, ``report`` and ``demote``: the live migration. The
side-by-side gateway routes each endpoint by its phase in the routing table; the
evidence (certification.json, the gateway's live.json) moves endpoints on, and is
rendered as one report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from parity.cli.common import Commands
from parity.cli.merge import add_merge_command
from parity.cli.mitmdump import load_mitmdump, mitmdump_arguments, run_mitmdump
from parity.errors import UsageError

if TYPE_CHECKING:
    from parity.migration.promotion import Move

__all__ = ["add_migration_commands", "shadow_arguments"]


def add_migration_commands(commands: Commands) -> None:
    """``shadow``, ``promote``, ``report`` and ``demote``."""
    shadow = commands.add_parser(
        "shadow",
        help="the side-by-side gateway: route each endpoint by its migration phase",
        description="Start mitmdump as a reverse proxy in front of the monolith with the "
        "gateway addon: per endpoint, routes.toml's phase decides whether the monolith "
        "answers, the monolith answers and the candidate is compared on a mirror, or the "
        "candidate answers (with the monolith as fallback). See docs/MIGRATING.md.",
    )
    shadow.add_argument("--monolith", required=True, help="the monolith, http://host:port")
    shadow.add_argument("--candidate", required=True, help="the candidate, http://host:port")
    shadow.add_argument("--routes", default="routes.toml", help="the routing table")
    shadow.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (127.0.0.1:8080)")
    shadow.add_argument("--live", default="live.json", help="where the scoreboard is written")
    shadow.add_argument("--config", help="the parity.toml with comparison rules and [noise]")
    shadow.add_argument(
        "--store",
        help="also record what the gateway routes, and the candidate's mirrored answers, "
        "into this store (sanitised, as parity record does)",
    )
    shadow.add_argument(
        "--set", action="append", metavar="NAME=VALUE", help="any mitmproxy or parity_ option"
    )
    shadow.set_defaults(run=_shadow)

    promote = commands.add_parser(
        "promote",
        help="move endpoints one phase forward in a routing table, on evidence",
        description="Propose moving each endpoint one phase forward in routes.toml: "
        "monolith -> side-by-side when certification.json certified it, side-by-side -> "
        "candidate when live.json shows enough mirrored requests matching, candidate -> "
        "candidate-only when the candidate served enough with no fallback. Prints the "
        "table's diff; --write applies it. Never demotes (see parity demote).",
    )
    promote.add_argument("routes", help="the routing table, routes.toml")
    promote.add_argument("--certification", help="certification.json of pytest --replay")
    promote.add_argument(
        "--live",
        action="append",
        help="live.json of the side-by-side gateway; once per gateway of a fleet, added up",
    )
    promote.add_argument(
        "--min-samples",
        type=int,
        default=100,
        help="live requests an endpoint needs before it moves (100)",
    )
    promote.add_argument(
        "--live-threshold",
        type=float,
        default=1.0,
        help="share of mirrored requests that must match, 0 to 1 (1.0)",
    )
    promote.add_argument("--write", action="store_true", help="apply the changes")
    promote.set_defaults(run=_promote)

    report = commands.add_parser(
        "report",
        help="one HTML report from certification.json and the gateway's live.json",
        description="Render the offline certification (certification.json of pytest "
        "--replay) and the side-by-side gateway's scoreboard (live.json) into one "
        "self-contained HTML page.",
    )
    report.add_argument("--certification", help="certification.json of pytest --replay")
    report.add_argument(
        "--live",
        action="append",
        help="live.json of the side-by-side gateway; once per gateway of a fleet, added up",
    )
    report.add_argument("--out", default="report.html", help="the page to write (report.html)")
    report.set_defaults(run=_report)
    add_merge_command(report)

    demote = commands.add_parser(
        "demote",
        help="move one endpoint back one phase in a routing table",
        description="Move ENDPOINT back one phase in routes.toml (candidate -> "
        "side-by-side, say). Prints the table's diff; --write applies it.",
    )
    demote.add_argument("endpoint", help="the endpoint, e.g. 'GET /api/users/{id}'")
    demote.add_argument("routes", help="the routing table, routes.toml")
    demote.add_argument("--write", action="store_true", help="apply the change")
    demote.set_defaults(run=_demote)


def shadow_arguments(args: argparse.Namespace) -> list[str]:
    """The mitmdump command line that `parity shadow` runs."""
    import gateway.shadow

    argv = mitmdump_arguments(f"reverse:{args.monolith}", args.listen, gateway.shadow.__file__)
    argv += [
        "--set",
        f"parity_candidate={args.candidate}",
        "--set",
        f"parity_routes={args.routes}",
        "--set",
        f"parity_live={args.live}",
    ]
    if args.config:
        argv += ["--set", f"parity_compare_config={args.config}"]
    if args.store:
        import recorder.addon

        argv += ["-s", recorder.addon.__file__, "--set", f"parity_store={args.store}"]
    for assignment in args.set or ():
        argv += ["--set", assignment]
    return argv


def _shadow(args: argparse.Namespace) -> int:
    for name in ("monolith", "candidate"):
        if "://" not in getattr(args, name):
            raise UsageError(
                f"--{name} {getattr(args, name)!r} needs a scheme, as in "
                f"http://{getattr(args, name)}"
            )
    from parity.migration.routes import RoutingTable

    RoutingTable.load(Path(args.routes))  # a bad table is a usage error before anything starts
    mitmdump = load_mitmdump("the gateway")
    argv = shadow_arguments(args)
    from gateway.shadow import Shadow
    from recorder.addon import Recorder

    announcement = (
        f"parity: gateway on {args.listen}: monolith {args.monolith}, candidate "
        f"{args.candidate}, routes {args.routes}, scoreboard {args.live}"
    )
    addons = [Shadow(), *([Recorder()] if args.store else [])]
    return run_mitmdump(mitmdump, argv, addons, announcement)


def _promote(args: argparse.Namespace) -> int:
    from parity.migration.promotion import proposals, read_evidence, read_live
    from parity.migration.routes import RoutingTable

    routes = Path(args.routes)
    table = RoutingTable.load(routes)
    certification = read_evidence(args.certification, "certification")
    live = read_live(args.live)
    if certification is None and live is None:
        raise UsageError(
            "give the evidence: --certification certification.json, --live live.json, or both"
        )
    moves, notes = proposals(
        table, certification, live, min_samples=args.min_samples, live_threshold=args.live_threshold
    )
    for note in notes:
        print(f"parity: {note}")
    if not moves:
        print("parity: no endpoint has the evidence to move forward")
        return 0
    _apply(routes, moves, args.write)
    return 0


def _report(args: argparse.Namespace) -> int:
    from parity.migration.promotion import read_evidence, read_live
    from replayer.report import report_page

    certification = read_evidence(args.certification, "certification")
    live = read_live(args.live)
    if certification is None and live is None:
        raise UsageError(
            "give what to report: --certification certification.json, --live live.json, or both"
        )
    live_file = ", ".join(args.live) if args.live else None
    page = report_page(
        certification, live, certification_file=args.certification, live_file=live_file
    )
    out = Path(args.out)
    out.write_bytes(page)
    print(f"parity: wrote {out}")
    return 0


def _demote(args: argparse.Namespace) -> int:
    from parity.migration.promotion import demotion
    from parity.migration.routes import RoutingTable

    routes = Path(args.routes)
    _apply(routes, [demotion(RoutingTable.load(routes), args.endpoint)], args.write)
    return 0


def _apply(routes: Path, moves: Sequence[Move], write: bool) -> None:
    """Say each move, print the routing table's diff, and write it with --write."""
    from parity.migration.promotion import table_change

    for move in moves:
        print(f"parity: {move.endpoint}: {move.before.value} -> {move.after.value} ({move.why})")
    after, diff = table_change(routes, moves)
    sys.stdout.writelines(diff)
    if write:
        routes.write_text(after, encoding="utf-8")
        print(f"parity: wrote {routes}")
    else:
        print("parity: nothing written; run again with --write to apply")

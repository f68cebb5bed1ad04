"""The `parity` command: the composition root that wires stores, formats and reports.

Every command turns a `ParityError` into one line on stderr and exit status 2;
a traceback means a bug in Parity.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import orjson

from parity import __version__
from parity.errors import ParityError, UsageError
from parity.interop.common import FormatError
from parity.interop.exporting import Grouping
from parity.interop.importing import Reader
from parity.interop.registry import READERS, WRITERS, reader_for, writer_for
from parity.migration.promotion import Move
from parity.store import open_store
from parity.store.inventory import exchange_by_id, inventory_lines, take_inventory
from parity.store.segments import SegmentDamage
from parity.terminal import PrintableStream, write_exchange
from parity.traffic.exchange import Exchange
from parity.traffic.times import parse_time
from parity.words import counted

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def _damage_printer(damage: SegmentDamage) -> None:
    print(f"parity: warning: {damage.message}", file=sys.stderr)


def _time_range(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    return since, until


def cmd_ls(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    since, until = _time_range(args)
    inventory = take_inventory(store, since, until, on_damage=_damage_printer)
    if args.json:
        sys.stdout.write(orjson.dumps(inventory.to_dict(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
        return 0
    for line in inventory_lines(inventory):
        print(line)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    exchange = exchange_by_id(store, args.id, on_damage=_damage_printer)
    if exchange is None:
        print(
            f"parity: no exchange with id {args.id} in store {store.url}; "
            "`parity ls` lists what it holds",
            file=sys.stderr,
        )
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(exchange.to_record(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:  # recorded bytes are shown, never obeyed: control characters escaped
        write_exchange(exchange, PrintableStream(sys.stdout), args.body_limit or sys.maxsize)
    return 0


def _listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"--listen {text!r} is not HOST:PORT; write it as 127.0.0.1:8080 or 0.0.0.0:8080"
        )
    return host.strip("[]"), int(port)


def record_arguments(args: argparse.Namespace) -> list[str]:
    """The mitmdump command line that `parity record` runs."""
    import recorder.addon

    host, port = _listen_address(args.listen)
    mode = f"reverse:{args.upstream}" if args.upstream else "regular"
    argv = [
        "--mode",
        mode,
        "--listen-host",
        host,
        "--listen-port",
        str(port),
        # An unreachable upstream then gives the client a 502 and Parity an error flow
        # to record, instead of a silently closed connection.
        "--set",
        "connection_strategy=lazy",
        "--set",
        f"flow_detail={1 if args.verbose else 0}",
        "-s",
        recorder.addon.__file__,
        "--set",
        f"parity_store={args.store}",
    ]
    for name in ("recorder_id", "filter", "sample_rate", "spool_dir"):
        value = getattr(args, name)
        if value is not None:
            argv += ["--set", f"parity_{name}={value}"]
    for assignment in args.set or ():
        argv += ["--set", assignment]
    return argv


def cmd_scan(args: argparse.Namespace) -> int:
    from parity.sanitize.scan import Suspect, scan_store

    def listed(suspect: Suspect, number: int) -> None:
        if number <= args.show:
            print(suspect.describe())

    store = open_store(args.store)
    since, until = _time_range(args)
    tally = scan_store(store, since, until, on_suspect=listed, on_damage=_damage_printer)
    if tally.found > args.show:
        print(f"... and {tally.found - args.show} more (--show N lists more)")
    print(tally.summary())
    return 0 if tally.clean else 1


def cmd_mask(args: argparse.Namespace) -> int:
    from parity.config import project_config
    from parity.sanitize.engine import Sanitiser
    from parity.sanitize.mask import DataFormat, mask_file
    from parity.sanitize.policy import Policy

    source, target = Path(args.input), Path(args.out)
    fmt = DataFormat.of(source, args.format)
    policy = Policy.of(project_config(args.config))
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


def cmd_noise_suggest(args: argparse.Namespace) -> int:
    from parity.compare.noise import Source
    from parity.config import project_config
    from replayer.learn import NoiseSuggester
    from replayer.selection import Selection

    if args.runs < 2:
        raise UsageError(
            f"--runs must be at least 2: noise is what differs between two runs, not {args.runs}"
        )
    suggester = NoiseSuggester(project_config(args.config))
    store = open_store(args.store)
    since, until = _time_range(args)
    selection = Selection(tuple(args.endpoint or ()), since, until)
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
        selection,
        targets,
        runs=args.runs,
        concurrency=args.concurrency,
        timeout=args.timeout,
        on_damage=_damage_printer,
    )
    print(suggested, end="")
    return 0


def _read_flows(
    path: Path, on_bad: Callable[[FormatError], None] | None = None
) -> Iterator[Exchange]:
    """mitmproxy flow files, read by the recorder's own conversion: imported only when
    chosen, since it needs mitmproxy."""
    from recorder.flowfile import read_flows

    return read_flows(path, on_bad)


#: The formats `parity import` reads: the library's, and mitmproxy flow files.
_READERS: dict[str, Reader] = {**READERS, "mitmproxy": _read_flows}


def cmd_import(args: argparse.Namespace) -> int:
    from parity.config import project_config
    from parity.interop.importing import import_files
    from parity.sanitize.engine import Sanitiser
    from parity.sanitize.policy import Policy
    from parity.store import write_exchanges
    from parity.traffic.endpoint import EndpointRules

    reader = reader_for(args.format, _READERS)
    store = open_store(args.to)
    sanitiser = None
    if args.sanitize == "on":
        sanitiser = Sanitiser.keyed_by(Policy.of(project_config(args.config)))
    rules = EndpointRules(tuple(args.template or ()))
    imported = import_files(
        reader,
        [Path(name) for name in args.files],
        sanitiser=sanitiser,
        rules=rules,
        skip_bad=args.skip_bad,
        outbound=args.outbound,
    )
    for error in imported.skipped:
        print(f"parity: skipped {error}", file=sys.stderr)
    if not imported.exchanges:
        raise UsageError(f"nothing to import from {', '.join(args.files)}: no exchange was read")
    if sanitiser is not None and not sanitiser.pseudonymiser.keyed:
        print(
            f"parity: warning: ${sanitiser.policy.key_env} is not set, so personal data is "
            "redacted, not pseudonymised",
            file=sys.stderr,
        )
    written = write_exchanges(store, imported.exchanges, args.recorder_id or args.format)
    sanitised = "sanitised" if sanitiser else "NOT sanitised (--sanitize off)"
    skipped = f", {counted(len(imported.skipped), 'bad entry')} skipped" if imported.skipped else ""
    print(
        f"parity: imported {counted(len(imported.exchanges), 'exchange')} ({sanitised}) into "
        f"{store.url} in {counted(len(written), 'segment')}{skipped}"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from parity.interop.exporting import Grouping, select_exchanges

    store = open_store(args.store)
    since, until = _time_range(args)
    chosen = select_exchanges(
        store, since, until, endpoints=args.endpoint or (), on_damage=_damage_printer
    )
    if not chosen:
        raise UsageError(f"nothing to export: no exchange of {store.url} matches the selection")
    out = Path(args.out)
    exported = writer_for(args.to)(chosen, out, Grouping(args.group))
    print(f"parity: wrote {exported.summary} to {out}")
    if exported.warning:
        print(f"parity: {exported.warning}", file=sys.stderr)
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from parity.store import existing_segments, write_exchanges
    from replayer.selection import Selection, plan, selected

    source, target = open_store(args.source), open_store(args.destination)
    if any(True for _ in existing_segments(target)):
        raise UsageError(
            f"{target.url} already holds segments; pull into an empty directory "
            "so that the sample is the only thing in it"
        )
    since, until = _time_range(args)
    selection = Selection(tuple(args.endpoint or ()), since, until, args.per_endpoint, args.seed)
    with tqdm(desc="scanning", unit=" exchanges", disable=None, file=sys.stderr) as scanning:

        def scanned(exchange: Exchange, endpoint: str) -> None:
            scanning.update()

        planned = plan(source, selection, on_damage=_damage_printer, on_exchange=scanned)
    ids = [p.id for p in planned]
    with tqdm(
        total=len(ids), desc="copying", unit=" exchanges", disable=None, file=sys.stderr
    ) as copying:

        def copied() -> Iterator[Exchange]:
            for exchange in selected(source, selection, ids):
                copying.update()
                yield exchange

        written = write_exchanges(target, copied(), "pull")
    endpoints = len({p.endpoint for p in planned})
    print(
        f"parity: pulled {counted(len(ids), 'exchange')} of {counted(endpoints, 'endpoint')} "
        f"from {source.url} into {target.url} ({counted(len(written), 'segment')}; "
        f"per endpoint {args.per_endpoint}, seed {args.seed})"
    )
    return 0


def _apply(routes: Path, moves: Sequence[Move], write: bool) -> None:
    """Print the routing table's diff for `moves` and write it with --write."""
    from parity.migration.promotion import table_change

    after, diff = table_change(routes, moves)
    sys.stdout.writelines(diff)
    if write:
        routes.write_text(after, encoding="utf-8")
        print(f"parity: wrote {routes}")
    else:
        print("parity: nothing written; run again with --write to apply")


def cmd_promote(args: argparse.Namespace) -> int:
    from parity.migration.promotion import proposals, read_evidence
    from parity.migration.routes import RoutingTable

    routes = Path(args.routes)
    table = RoutingTable.load(routes)
    certification = read_evidence(args.certification, "certification")
    live = read_evidence(args.live, "live results")
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
    for move in moves:
        print(f"parity: {move.endpoint}: {move.before.value} -> {move.after.value} ({move.why})")
    _apply(routes, moves, args.write)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from parity.migration.promotion import read_evidence
    from replayer.report import report_page

    certification = read_evidence(args.certification, "certification")
    live = read_evidence(args.live, "live results")
    if certification is None and live is None:
        raise UsageError(
            "give what to report: --certification certification.json, --live live.json, or both"
        )
    page = report_page(
        certification, live, certification_file=args.certification, live_file=args.live
    )
    out = Path(args.out)
    out.write_bytes(page)
    print(f"parity: wrote {out}")
    return 0


def cmd_demote(args: argparse.Namespace) -> int:
    from parity.migration.promotion import demotion
    from parity.migration.routes import RoutingTable

    routes = Path(args.routes)
    move = demotion(RoutingTable.load(routes), args.endpoint)
    print(f"parity: {move.endpoint}: {move.before.value} -> {move.after.value} ({move.why})")
    _apply(routes, [move], args.write)
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    if args.upstream and "://" not in args.upstream:
        raise UsageError(
            f"--upstream {args.upstream!r} needs a scheme; write http://{args.upstream} "
            f"or https://{args.upstream}"
        )
    try:
        from mitmproxy.tools.main import mitmdump
    except ImportError:
        raise UsageError(
            "recording needs mitmproxy; install it with: pip install 'parity[recorder]'"
        ) from None
    argv = record_arguments(args)
    from recorder.addon import Recorder, preflight

    preflight(_assignments(argv), [Recorder()])  # refused here, in one sentence, or never
    print(
        f"parity: recording {args.upstream or 'forward-proxy traffic'} on {args.listen} "
        f"into {args.store}",
        file=sys.stderr,
    )
    result = mitmdump(argv)
    return int(result or 0)


def shadow_arguments(args: argparse.Namespace) -> list[str]:
    """The mitmdump command line that `parity shadow` runs."""
    import gateway.shadow

    host, port = _listen_address(args.listen)
    argv = [
        "--mode",
        f"reverse:{args.monolith}",
        "--listen-host",
        host,
        "--listen-port",
        str(port),
        "--set",
        "connection_strategy=lazy",
        "--set",
        "flow_detail=0",
        "-s",
        gateway.shadow.__file__,
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


def cmd_shadow(args: argparse.Namespace) -> int:
    for name in ("monolith", "candidate"):
        if "://" not in getattr(args, name):
            raise UsageError(
                f"--{name} {getattr(args, name)!r} needs a scheme, as in "
                f"http://{getattr(args, name)}"
            )
    from parity.migration.routes import RoutingTable

    RoutingTable.load(Path(args.routes))  # a bad table is a usage error before anything starts
    try:
        from mitmproxy.tools.main import mitmdump
    except ImportError:
        raise UsageError(
            "the gateway needs mitmproxy; install it with: pip install 'parity[recorder]'"
        ) from None
    argv = shadow_arguments(args)
    from gateway.shadow import Shadow
    from recorder.addon import Recorder, preflight

    preflight(_assignments(argv), [Shadow(), *([Recorder()] if args.store else [])])
    print(
        f"parity: gateway on {args.listen}: monolith {args.monolith}, candidate "
        f"{args.candidate}, routes {args.routes}, scoreboard {args.live}",
        file=sys.stderr,
    )
    return int(mitmdump(argv) or 0)


def _assignments(argv: list[str]) -> list[str]:
    """The NAME=VALUE of every ``--set`` in a mitmdump command line."""
    return [value for flag, value in itertools.pairwise(argv) if flag == "--set"]


def cmd_demo(args: argparse.Namespace) -> int:
    # The example services live beside the packages in a clone, not in an installed wheel.
    for root in (Path.cwd(), Path(__file__).resolve().parents[1]):
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


def _store_arguments(command: argparse.ArgumentParser) -> None:
    """The store and time range that commands reading a store take."""
    command.add_argument("store", help="a directory, file:///path or s3://bucket/prefix")
    command.add_argument("--since", help="only exchanges from this time: ISO 8601 (UTC) or 2h, 7d")
    command.add_argument("--until", help="only exchanges before this time")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parity",
        description="Certify a rewritten service against the one it replaces, endpoint by "
        "endpoint, from recorded traffic.",
    )
    parser.add_argument("--version", action="version", version=f"parity {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    ls = commands.add_parser(
        "ls",
        help="what a store holds: exchanges per endpoint, time range, bytes",
        description="Summarise a store in one streaming pass: exchanges, errors and status "
        "codes per endpoint, time range and sizes.",
    )
    _store_arguments(ls)
    ls.add_argument("--json", action="store_true", help="print the summary as JSON")
    ls.set_defaults(run=cmd_ls)

    show = commands.add_parser(
        "show",
        help="one recorded exchange, request and response",
        description="Print one exchange as HTTP messages, or as its stored record with --json.",
    )
    show.add_argument("store", help="a directory, file:///path or s3://bucket/prefix")
    show.add_argument("id", help="the exchange id, as `parity ls --json` or a report shows it")
    show.add_argument("--json", action="store_true", help="print the stored record")
    show.add_argument(
        "--body-limit",
        type=int,
        default=4096,
        metavar="CHARS",
        help="characters of each text body to print (0: all; default 4096)",
    )
    show.set_defaults(run=cmd_show)

    scan = commands.add_parser(
        "scan",
        help="audit a store: anything that looks like a secret or personal data",
        description="Run the sanitiser's detectors over every stored exchange and list what "
        "looks like a secret or personal data (its kind, where, and its length; never the "
        "value). Exit status 1 when anything is found or part of the store cannot be read, "
        "0 when nothing is.",
    )
    _store_arguments(scan)
    scan.add_argument(
        "--show", type=int, default=50, metavar="N", help="list at most N findings (50)"
    )
    scan.set_defaults(run=cmd_scan)

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
    mask.set_defaults(run=cmd_mask)

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
    _store_arguments(suggest)
    suggest.add_argument(
        "--endpoint", action="append", help="only endpoints matching this glob (repeatable)"
    )
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
    suggest.set_defaults(run=cmd_noise_suggest)

    importer = commands.add_parser(
        "import",
        help="import HAR, vcrpy cassettes, mitmproxy flow files or JSON Lines into a store",
        description="Read traffic other tools wrote and write it into a store as recorded "
        "traffic: every exchange gets its endpoint name and goes through the sanitiser "
        "(the project's policy, the key from its environment variable). A bad entry stops "
        "the import with nothing written, unless --skip-bad. See docs/INTEROP.md.",
    )
    importer.add_argument("files", nargs="+", metavar="FILE", help="the files to import")
    importer.add_argument(
        "--from", dest="format", required=True, choices=list(_READERS), help="their format"
    )
    importer.add_argument(
        "--to", required=True, help="the store: a directory, file:///path or s3://bucket/prefix"
    )
    importer.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip entries that cannot be read (each is reported)",
    )
    importer.add_argument(
        "--sanitize",
        choices=["on", "off"],
        default="on",
        help="off stores the traffic as it is: for test traffic only",
    )
    importer.add_argument("--recorder-id", help="the name in segment names (default: the format)")
    importer.add_argument(
        "--outbound",
        action="store_true",
        help="the files hold calls the recorded service made to its dependencies (vcrpy "
        "cassettes of its own tests, say): hermetic replays answer from them",
    )
    importer.add_argument(
        "--template",
        action="append",
        metavar="TEMPLATE",
        help="a route template for endpoint names, e.g. 'GET /users/{id}' (repeatable)",
    )
    importer.add_argument(
        "--config",
        help="the parity.toml or pyproject.toml holding the "
        "sanitising policy (default: found from the working directory up)",
    )
    importer.set_defaults(run=cmd_import)

    exporter = commands.add_parser(
        "export",
        help="export a store as vcrpy cassettes or a HAR file",
        description="Write exchanges as vcrpy cassettes (YAML, one per endpoint or per "
        "correlation id, into a directory) that vcrpy and pytest-recording replay, or as one "
        "HAR 1.2 file that browsers' devtools open. See docs/INTEROP.md.",
    )
    _store_arguments(exporter)
    exporter.add_argument("--to", required=True, choices=list(WRITERS), help="the format")
    exporter.add_argument("--out", required=True, help="a directory for cassettes, a file for HAR")
    exporter.add_argument(
        "--endpoint", action="append", help="only endpoints matching this glob (repeatable)"
    )
    exporter.add_argument(
        "--group",
        choices=[grouping.value for grouping in Grouping],
        default=Grouping.ENDPOINT.value,
        help="one cassette per endpoint (default) or per correlation id",
    )
    exporter.set_defaults(run=cmd_export)

    pull = commands.add_parser(
        "pull",
        help="copy a reproducible sample of a store (a bucket, say) into a local directory",
        description="Copy at most --per-endpoint exchanges of every endpoint, chosen as "
        "pytest --replay's per-endpoint sample is (the same seed picks the same exchanges), "
        "from one store into an empty local one, for offline work.",
    )
    pull.add_argument("source", help="the store to sample: s3://bucket/prefix or a directory")
    pull.add_argument("destination", help="an empty directory")
    pull.add_argument(
        "--per-endpoint", type=int, required=True, metavar="N", help="exchanges kept per endpoint"
    )
    pull.add_argument("--seed", type=int, default=0, help="the sample's seed (0)")
    pull.add_argument(
        "--endpoint", action="append", help="only endpoints matching this glob (repeatable)"
    )
    pull.add_argument("--since", help="only exchanges from this time: ISO 8601 (UTC) or 2h, 7d")
    pull.add_argument("--until", help="only exchanges before this time")
    pull.set_defaults(run=cmd_pull)

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
    shadow.set_defaults(run=cmd_shadow)

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
    promote.add_argument("--live", help="live.json of the side-by-side gateway")
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
    promote.set_defaults(run=cmd_promote)

    report = commands.add_parser(
        "report",
        help="one HTML report from certification.json and the gateway's live.json",
        description="Render the offline certification (certification.json of pytest "
        "--replay) and the side-by-side gateway's scoreboard (live.json) into one "
        "self-contained HTML page.",
    )
    report.add_argument("--certification", help="certification.json of pytest --replay")
    report.add_argument("--live", help="live.json of the side-by-side gateway")
    report.add_argument("--out", default="report.html", help="the page to write (report.html)")
    report.set_defaults(run=cmd_report)

    demote = commands.add_parser(
        "demote",
        help="move one endpoint back one phase in a routing table",
        description="Move ENDPOINT back one phase in routes.toml (candidate -> "
        "side-by-side, say). Prints the table's diff; --write applies it.",
    )
    demote.add_argument("endpoint", help="the endpoint, e.g. 'GET /api/users/{id}'")
    demote.add_argument("routes", help="the routing table, routes.toml")
    demote.add_argument("--write", action="store_true", help="apply the change")
    demote.set_defaults(run=cmd_demote)

    record = commands.add_parser(
        "record",
        help="record traffic through mitmproxy into a store",
        description="Start mitmdump with the Parity recorder: in front of a service "
        "(--upstream, reverse-proxy mode) or as a forward proxy for a service's own outbound "
        "calls (no --upstream). Every parity_ option of the addon can be given with --set; "
        "see docs/RECORDING.md.",
    )
    record.add_argument("--upstream", help="the service to proxy, e.g. http://127.0.0.1:8000")
    record.add_argument(
        "--listen",
        default="127.0.0.1:8080",
        help="HOST:PORT to accept clients on (default 127.0.0.1:8080)",
    )
    record.add_argument(
        "--store",
        default="./traffic",
        help="a directory, file:///path or s3://bucket/prefix (./traffic)",
    )
    record.add_argument("--recorder-id", help="this recorder's name in segment names")
    record.add_argument("--filter", help="a mitmproxy filter expression, e.g. '!~u /health'")
    record.add_argument(
        "--sample-rate", help="fraction of exchanges to keep after each endpoint's floor, 0 to 1"
    )
    record.add_argument("--spool-dir", help="where segments wait when the store is down")
    record.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="any mitmproxy or parity_ option, repeatable",
    )
    record.add_argument("--verbose", action="store_true", help="log every flow")
    record.set_defaults(run=cmd_record)

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
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())

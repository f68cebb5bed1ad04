"""The `parity` command: the composition root that wires stores, formats and reports.

Every command turns a `ParityError` into one line on stderr and exit status 2;
a traceback means a bug in Parity.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

from parity import __version__
from parity.errors import ParityError
from parity.store import iter_records, open_store
from parity.store.inventory import find_exchange, sorted_summaries, take_inventory
from parity.store.reader import SegmentDamage
from parity.terminal import PrintableStream, Writer, printable
from parity.traffic.exchange import Body, Exchange, Headers
from parity.traffic.ids import exchange_id_time
from parity.traffic.times import format_time, parse_time

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def _damage_printer(damage: SegmentDamage) -> None:
    print(f"parity: warning: {damage.message}", file=sys.stderr)


def _time_range(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    return since, until


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {noun[:-1]}ies" if noun.endswith("y") else f"{n} {noun}s"


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def cmd_ls(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    since, until = _time_range(args)
    inventory = take_inventory(store, since, until, on_damage=_damage_printer)
    out: IO[str] = sys.stdout
    if args.json:
        out.write(orjson.dumps(inventory.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    span = (
        f"from {format_time(inventory.first)} to {format_time(inventory.last)} UTC"
        if inventory.exchanges
        else "no exchanges"
    )
    print(
        f"{store.url}: {_count(inventory.exchanges, 'exchange')} on "
        f"{_count(len(inventory.endpoints), 'endpoint')} "
        f"in {_count(inventory.segments, 'segment')} "
        f"({_human_bytes(inventory.stored_bytes)} stored, "
        f"{_human_bytes(inventory.body_bytes)} of bodies), {span}",
        file=out,
    )
    if inventory.malformed:
        print(f"{_count(inventory.malformed, 'malformed record')} left out", file=out)
    summaries = sorted_summaries(inventory)
    if not summaries:
        return 0
    rows = [("ENDPOINT", "EXCHANGES", "ERRORS", "STATUS", "BODIES", "FIRST (UTC)", "LAST (UTC)")]
    for s in summaries:
        statuses = " ".join(f"{code}x{n}" for code, n in sorted(s.statuses.items()))
        rows.append(
            (
                s.endpoint,
                str(s.exchanges),
                str(s.errors),
                statuses or "-",
                _human_bytes(s.body_bytes),
                format_time(s.first),
                format_time(s.last),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    numeric = {1, 2, 4}
    print(file=out)
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        print(printable("  ".join(cells).rstrip()), file=out)
    return 0


def _print_body(body: Body, limit: int, out: Writer) -> None:
    if not body.size:
        return
    text = body.text()
    print(file=out)
    if text is None:
        print(f"<binary body: {body.size} bytes, sha256 {body.sha256}>", file=out)
    else:
        shown = text[:limit]
        print(shown, file=out)
        if len(shown) < len(text):
            print(
                f"<... {len(text) - len(shown)} more characters; --body-limit 0 shows all>",
                file=out,
            )
    if body.truncated:
        print(
            f"<recorded body truncated: {len(body.content)} of {body.size} bytes kept, "
            f"sha256 of the whole body {body.sha256}>",
            file=out,
        )


def _print_headers(headers: Headers, out: Writer) -> None:
    for name, value in headers:
        print(f"{name}: {value}", file=out)


def _print_exchange(exchange: Exchange, limit: int, out: Writer) -> None:
    request, response = exchange.request, exchange.response
    facts = [
        f"exchange {exchange.id}",
        exchange.endpoint or "-",
        f"recorder {exchange.recorder_id or '-'}",
        f"{format_time(request.timestamp_start)} UTC",
    ]
    if response is not None and response.timestamp_end is not None:
        facts.append(f"{(response.timestamp_end - request.timestamp_start) * 1000:.1f} ms")
    print(" | ".join(facts), file=out)
    if exchange.correlation_id or exchange.parent_id:
        print(
            f"correlation {exchange.correlation_id or '-'}, parent {exchange.parent_id or '-'}",
            file=out,
        )
    print(file=out)
    print(f"{request.method} {request.url} {request.http_version}", file=out)
    _print_headers(request.headers, out)
    _print_body(request.body, limit, out)
    print(file=out)
    if response is None:
        print(f"<no response: {exchange.error or 'unknown error'}>", file=out)
        return
    print(f"{response.http_version} {response.status} {response.reason}".rstrip(), file=out)
    _print_headers(response.headers, out)
    _print_body(response.body, limit, out)


def cmd_show(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    started = exchange_id_time(args.id)
    exchange = None
    if started is not None:
        # An id carries its start time, so look in its own hour first.
        moment = datetime.fromtimestamp(started).astimezone()
        near = iter_records(
            store,
            moment - timedelta(hours=1),
            moment + timedelta(hours=1),
            on_damage=_damage_printer,
        )
        exchange = find_exchange(near, args.id)
    if exchange is None:
        exchange = find_exchange(iter_records(store, on_damage=_damage_printer), args.id)
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
        _print_exchange(exchange, args.body_limit or sys.maxsize, PrintableStream(sys.stdout))
    return 0


def _listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ParityError(
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
    from parity.sanitize.scan import Scanner
    from parity.store import iter_exchanges

    store = open_store(args.store)
    since, until = _time_range(args)
    scanner = Scanner()
    scanned = found = 0
    kinds: dict[str, int] = {}
    exchanges_found: set[str] = set()
    damaged: list[SegmentDamage] = []

    def on_damage(damage: SegmentDamage) -> None:
        damaged.append(damage)
        _damage_printer(damage)

    for exchange in iter_exchanges(store, since, until, on_damage=on_damage):
        scanned += 1
        for suspect in scanner.suspects(exchange):
            found += 1
            kinds[suspect.kind] = kinds.get(suspect.kind, 0) + 1
            exchanges_found.add(suspect.exchange_id)
            if found <= args.show:
                print(suspect.describe())
    if not found and damaged:
        # An audit cannot vouch for what it could not read.
        print(
            f"{store.url}: nothing that looks sensitive in {_count(scanned, 'exchange')}, but "
            f"{_count(len(damaged), 'damaged part')} could not be scanned; restore or delete "
            "them and scan again"
        )
        return 1
    if not found:
        print(
            f"{store.url}: nothing that looks like a secret or personal data in "
            f"{_count(scanned, 'exchange')}"
        )
        return 0
    if found > args.show:
        print(f"... and {found - args.show} more (--show N lists more)")
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    print(
        f"{store.url}: {_count(found, 'value')} that look sensitive in "
        f"{_count(len(exchanges_found), 'exchange')} of {scanned}: {summary}"
    )
    return 1


def cmd_mask(args: argparse.Namespace) -> int:
    from parity.config import find_config, load_config
    from parity.sanitize.engine import Sanitiser
    from parity.sanitize.mask import DataFormat, mask_file
    from parity.sanitize.policy import Policy

    source, target = Path(args.input), Path(args.out)
    fmt = DataFormat.of(source, args.format)
    config_path = Path(args.config) if args.config else find_config(Path.cwd())
    policy = Policy.of(load_config(config_path))
    sanitiser = Sanitiser.keyed_by(policy)
    if not sanitiser.pseudonymiser.keyed:
        print(
            f"parity: warning: ${policy.key_env} is not set, so values are redacted, not "
            "pseudonymised, and the data cannot match pseudonymised recordings",
            file=sys.stderr,
        )
    count = mask_file(source, target, sanitiser, fmt)
    noun = {"json": "document", "jsonl": "line", "csv": "row"}[fmt.value]
    print(
        f"parity: masked {_count(count, noun)} of {source} into {target} "
        f"({sanitiser.pseudonymiser.fingerprint or 'no key'}, {policy.fingerprint})"
    )
    return 0


def cmd_noise_suggest(args: argparse.Namespace) -> int:
    import asyncio

    from parity.compare.engine import RuleSet
    from parity.compare.noise import NoiseModel, NoiseSettings, RecordedNoise, Source, suggestions
    from parity.config import find_config, load_config
    from replayer.learn import noise_runs
    from replayer.selection import Selection, plan, repeatable, selected
    from replayer.settings import endpoint_rules
    from replayer.target import open_target

    if args.runs < 2:
        raise ParityError(
            f"--runs must be at least 2: noise is what differs between two runs, not {args.runs}"
        )
    config_path = Path(args.config) if args.config else find_config(Path.cwd())
    config = load_config(config_path)
    rules = RuleSet.from_config(config.compare or {})
    where = f"{config.path} [noise]" if config.path else "[noise]"
    model = NoiseModel(NoiseSettings.from_config(config.noise or {}, where))
    store = open_store(args.store)
    since, until = _time_range(args)
    selection = Selection(tuple(args.endpoint or ()), since, until)
    naming = endpoint_rules(config)
    learner = RecordedNoise(model, rules.for_endpoint, repeatable(naming))
    planned = plan(
        store, selection, rules=naming, on_damage=_damage_printer, on_exchange=learner.add
    )
    described = f"{store.url} ({_count(learner.repeats, 'repeated request')} of {learner.seen})"
    specs = [
        (Source.CANDIDATE, args.target, "--target"),
        (Source.REFERENCE, args.reference, "--reference"),
    ]
    targets = [
        (
            source,
            functools.partial(
                open_target, spec, timeout=args.timeout, concurrency=args.concurrency, option=option
            ),
        )
        for source, spec, option in specs
        if spec
    ]
    if targets:
        ids = [p.id for p in planned if p.skip is None]
        sent = asyncio.run(
            noise_runs(
                selected(store, selection, ids),
                targets,
                model,
                rules.for_endpoint,
                runs=args.runs,
                concurrency=args.concurrency,
            )
        )
        names = " and ".join(spec for _, spec, _ in specs if spec)
        described += f" and {_count(sent, 'request')} sent to {names}"
    print(suggestions(model, described), end="")
    return 0


_FORMATS = ("har", "vcr", "mitmproxy", "jsonl")


def cmd_import(args: argparse.Namespace) -> int:
    from parity.config import find_config, load_config
    from parity.interop.cassette import read_cassette
    from parity.interop.har import read_har
    from parity.interop.importing import Reader, import_files, read_jsonl
    from parity.sanitize.engine import Sanitiser
    from parity.sanitize.policy import Policy
    from parity.store import write_exchanges
    from parity.traffic.endpoint import EndpointRules

    reader: Reader
    if args.format == "mitmproxy":
        from recorder.flowfile import read_flows

        reader = read_flows
    else:
        reader = {"har": read_har, "vcr": read_cassette, "jsonl": read_jsonl}[args.format]
    store = open_store(args.to)
    sanitiser = None
    if args.sanitize == "on":
        config_path = Path(args.config) if args.config else find_config(Path.cwd())
        sanitiser = Sanitiser.keyed_by(Policy.of(load_config(config_path)))
    rules = EndpointRules(tuple(args.template or ()))
    imported = import_files(
        reader,
        [Path(name) for name in args.files],
        sanitiser=sanitiser,
        rules=rules,
        skip_bad=args.skip_bad,
    )
    for error in imported.skipped:
        print(f"parity: skipped {error}", file=sys.stderr)
    if args.outbound:
        imported.exchanges[:] = [
            dataclasses.replace(e, meta={**e.meta, "outbound": True}) for e in imported.exchanges
        ]
    if not imported.exchanges:
        raise ParityError(f"nothing to import from {', '.join(args.files)}: no exchange was read")
    if sanitiser is not None and not sanitiser.pseudonymiser.keyed:
        print(
            f"parity: warning: ${sanitiser.policy.key_env} is not set, so personal data is "
            "redacted, not pseudonymised",
            file=sys.stderr,
        )
    written = write_exchanges(store, imported.exchanges, args.recorder_id or args.format)
    sanitised = "sanitised" if sanitiser else "NOT sanitised (--sanitize off)"
    skipped = f", {_count(len(imported.skipped), 'bad entry')} skipped" if imported.skipped else ""
    print(
        f"parity: imported {_count(len(imported.exchanges), 'exchange')} ({sanitised}) into "
        f"{store.url} in {_count(len(written), 'segment')}{skipped}"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from parity.interop.cassette import write_cassette
    from parity.interop.har import write_har
    from parity.store import iter_exchanges
    from parity.traffic.endpoint import matches

    store = open_store(args.store)
    since, until = _time_range(args)
    chosen = [
        exchange
        for exchange in iter_exchanges(store, since, until, on_damage=_damage_printer)
        if not args.endpoint or any(matches(exchange.endpoint or "", g) for g in args.endpoint)
    ]
    if not chosen:
        raise ParityError(f"nothing to export: no exchange of {store.url} matches the selection")
    out = Path(args.out)
    if args.to == "har":
        count = write_har(chosen, out)
        print(f"parity: wrote {_count(count, 'HAR entry')} to {out}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[Exchange]] = {}
    for exchange in chosen:
        name = exchange.endpoint if args.group == "endpoint" else exchange.correlation_id
        groups.setdefault(name or "uncorrelated", []).append(exchange)
    total = left_out = 0
    for name, exchanges in groups.items():
        written, missing = write_cassette(exchanges, out / f"{_file_name(name)}.yaml")
        total, left_out = total + written, left_out + missing
    print(
        f"parity: wrote {_count(total, 'interaction')} in {_count(len(groups), 'cassette')} "
        f"to {out}"
    )
    if left_out:
        print(
            f"parity: left out {_count(left_out, 'exchange')} that got no response: a "
            "cassette cannot hold them",
            file=sys.stderr,
        )
    return 0


def _file_name(name: str) -> str:
    """A file name for a cassette: the endpoint or correlation id, safe on any system."""
    cleaned = "".join(c if c.isalnum() or c in "-." else "_" for c in name).strip("._")
    return "_".join(part for part in cleaned.split("_") if part)[:120] or "cassette"


def cmd_pull(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from parity.store import existing_segments, write_exchanges
    from replayer.selection import Selection, plan, selected

    source, target = open_store(args.source), open_store(args.destination)
    if any(True for _ in existing_segments(target)):
        raise ParityError(
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
        f"parity: pulled {_count(len(ids), 'exchange')} of {_count(endpoints, 'endpoint')} "
        f"from {source.url} into {target.url} ({_count(len(written), 'segment')}; "
        f"per endpoint {args.per_endpoint}, seed {args.seed})"
    )
    return 0


def _json_file(path: str | None, what: str) -> dict[str, object] | None:
    if path is None:
        return None
    try:
        document = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ParityError(f"cannot read the {what} {path} ({exc.strerror})") from None
    except orjson.JSONDecodeError as exc:
        raise ParityError(f"the {what} {path} is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ParityError(f"the {what} {path} is not a JSON object")
    return document


def _apply(routes: Path, moves: Sequence[object], write: bool) -> None:
    """Print the routing table's diff for `moves` and write it with --write."""
    import difflib

    from parity.migration.promotion import Move
    from parity.migration.routes import moved

    before = routes.read_text(encoding="utf-8")
    after = before
    for move in moves:
        assert isinstance(move, Move)
        after = moved(after, move.endpoint, move.after)
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        str(routes),
        f"{routes} (proposed)",
    )
    sys.stdout.writelines(diff)
    if write:
        routes.write_text(after, encoding="utf-8")
        print(f"parity: wrote {routes}")
    else:
        print("parity: nothing written; run again with --write to apply")


def cmd_promote(args: argparse.Namespace) -> int:
    from parity.migration.promotion import proposals
    from parity.migration.routes import RoutingTable

    routes = Path(args.routes)
    table = RoutingTable.load(routes)
    certification = _json_file(args.certification, "certification")
    live = _json_file(args.live, "live results")
    if certification is None and live is None:
        raise ParityError(
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
    from replayer.page import render_html
    from replayer.report import SCHEMA_VERSION, written_utf8

    certification = _json_file(args.certification, "certification")
    live = _json_file(args.live, "live results")
    version = (certification or {}).get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise ParityError(
            f"{args.certification} is certification.json schema version {version!r}, which "
            f"this Parity (schema {SCHEMA_VERSION}) cannot read: upgrade Parity"
        )
    if certification is None and live is None:
        raise ParityError(
            "give what to report: --certification certification.json, --live live.json, or both"
        )
    document: dict[str, Any] = certification or {
        "target": "-",
        "store": "-",
        "summary": {},
        "endpoints": [],
        "generated_at": (live or {}).get("generated_at", "-"),
    }
    try:
        page = render_html(document, live)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        given = args.certification or args.live
        raise ParityError(
            f"{given} is not a certification.json or live.json that Parity wrote "
            f"({type(exc).__name__}: {exc}); give the file a replay or the gateway wrote"
        ) from None
    out = Path(args.out)
    out.write_bytes(written_utf8(page))
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
        raise ParityError(
            f"--upstream {args.upstream!r} needs a scheme; write http://{args.upstream} "
            f"or https://{args.upstream}"
        )
    try:
        from mitmproxy.tools.main import mitmdump
    except ImportError:
        raise ParityError(
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
            raise ParityError(
                f"--{name} {getattr(args, name)!r} needs a scheme, as in "
                f"http://{getattr(args, name)}"
            )
    from parity.migration.routes import RoutingTable

    RoutingTable.load(Path(args.routes))  # a bad table is a usage error before anything starts
    try:
        from mitmproxy.tools.main import mitmdump
    except ImportError:
        raise ParityError(
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
        raise ParityError(
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
        "--from", dest="format", required=True, choices=_FORMATS, help="their format"
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
    exporter.add_argument("--to", required=True, choices=["vcr", "har"], help="the format")
    exporter.add_argument("--out", required=True, help="a directory for cassettes, a file for HAR")
    exporter.add_argument(
        "--endpoint", action="append", help="only endpoints matching this glob (repeatable)"
    )
    exporter.add_argument(
        "--group",
        choices=["endpoint", "correlation"],
        default="endpoint",
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

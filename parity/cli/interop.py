"""``parity import``, ``export`` and ``pull``: traffic into a store from other tools'
files, out of it in their formats, and a store's sample copied for offline work."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

from parity.cli.common import (
    Commands,
    add_endpoint_argument,
    add_store_arguments,
    add_time_arguments,
    print_damage,
    time_range,
)
from parity.errors import UsageError
from parity.interop.common import FormatError
from parity.interop.exporting import Grouping
from parity.interop.importing import Reader
from parity.interop.registry import READERS, WRITERS, reader_for, writer_for
from parity.store import open_store
from parity.traffic.exchange import Exchange
from parity.words import counted

__all__ = ["add_interop_commands"]


def _read_flows(
    path: Path, on_bad: Callable[[FormatError], None] | None = None
) -> Iterator[Exchange]:
    """mitmproxy flow files, read by the recorder's own conversion: imported only when
    chosen, since it needs mitmproxy."""
    from recorder.flowfile import read_flows

    return read_flows(path, on_bad)


#: The formats `parity import` reads: the library's, and mitmproxy flow files.
_READERS: Final[Mapping[str, Reader]] = MappingProxyType({**READERS, "mitmproxy": _read_flows})


def add_interop_commands(commands: Commands) -> None:
    """``import``, ``export`` and ``pull``."""
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
    importer.set_defaults(run=_import)

    exporter = commands.add_parser(
        "export",
        help="export a store as vcrpy cassettes or a HAR file",
        description="Write exchanges as vcrpy cassettes (YAML, one per endpoint or per "
        "correlation id, into a directory) that vcrpy and pytest-recording replay, or as one "
        "HAR 1.2 file that browsers' devtools open. See docs/INTEROP.md.",
    )
    add_store_arguments(exporter)
    exporter.add_argument("--to", required=True, choices=list(WRITERS), help="the format")
    exporter.add_argument("--out", required=True, help="a directory for cassettes, a file for HAR")
    add_endpoint_argument(exporter)
    exporter.add_argument(
        "--group",
        choices=[grouping.value for grouping in Grouping],
        default=Grouping.ENDPOINT.value,
        help="one cassette per endpoint (default) or per correlation id",
    )
    exporter.set_defaults(run=_export)

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
    add_endpoint_argument(pull)
    add_time_arguments(pull)
    pull.set_defaults(run=_pull)


def _import(args: argparse.Namespace) -> int:
    from parity.interop.importing import import_files
    from parity.project import load_project
    from parity.sanitize.engine import Sanitiser
    from parity.store import write_exchanges
    from parity.traffic.endpoint import EndpointRules

    reader = reader_for(args.format, _READERS)
    store = open_store(args.to)
    sanitiser = None
    if args.sanitize == "on":
        sanitiser = Sanitiser.keyed_by(load_project(args.config, option="--config").policy)
    imported = import_files(
        reader,
        [Path(name) for name in args.files],
        sanitiser=sanitiser,
        rules=EndpointRules(tuple(args.template or ())),
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


def _export(args: argparse.Namespace) -> int:
    from parity.interop.exporting import select_exchanges

    store = open_store(args.store)
    since, until = time_range(args)
    chosen = select_exchanges(
        store, since, until, endpoints=args.endpoint or (), on_damage=print_damage
    )
    if not chosen:
        raise UsageError(f"nothing to export: no exchange of {store.url} matches the selection")
    out = Path(args.out)
    exported = writer_for(args.to)(chosen, out, Grouping(args.group))
    print(f"parity: wrote {exported.summary} to {out}")
    if exported.warning:
        print(f"parity: {exported.warning}", file=sys.stderr)
    return 0


def _pull(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from parity.store import existing_segments, write_exchanges
    from replayer.selection import Selection, plan, selected

    source, target = open_store(args.source), open_store(args.destination)
    if any(True for _ in existing_segments(target)):
        raise UsageError(
            f"{target.url} already holds segments; pull into an empty directory "
            "so that the sample is the only thing in it"
        )
    since, until = time_range(args)
    selection = Selection(tuple(args.endpoint or ()), since, until, args.per_endpoint, args.seed)
    with tqdm(desc="scanning", unit=" exchanges", disable=None, file=sys.stderr) as scanning:

        def scanned(exchange: Exchange, endpoint: str) -> None:
            scanning.update()

        planned = plan(source, selection, on_damage=print_damage, on_exchange=scanned)
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

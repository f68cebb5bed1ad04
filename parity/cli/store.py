"""``parity ls`` and ``parity show``: what a store holds, and one exchange in it."""

from __future__ import annotations

import argparse
import sys

import orjson

from parity.cli.common import Commands, add_store_arguments, print_damage, time_range
from parity.store import open_store
from parity.store.inventory import exchange_by_id, inventory_lines, take_inventory
from parity.terminal import PrintableStream, write_exchange

__all__ = ["add_store_commands"]


def add_store_commands(commands: Commands) -> None:
    """``ls`` and ``show``."""
    ls = commands.add_parser(
        "ls",
        help="what a store holds: exchanges per endpoint, time range, bytes",
        description="Summarise a store in one streaming pass: exchanges, errors and status "
        "codes per endpoint, time range and sizes.",
    )
    add_store_arguments(ls)
    ls.add_argument("--json", action="store_true", help="print the summary as JSON")
    ls.set_defaults(run=_ls)

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
    show.set_defaults(run=_show)


def _ls(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    since, until = time_range(args)
    inventory = take_inventory(store, since, until, on_damage=print_damage)
    if args.json:
        sys.stdout.write(orjson.dumps(inventory.to_dict(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
        return 0
    for line in inventory_lines(inventory):
        print(line)
    return 0


def _show(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    exchange = exchange_by_id(store, args.id, on_damage=print_damage)
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

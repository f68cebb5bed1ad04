"""What ``parity record`` and ``parity shadow`` share: mitmdump, found or refused in one
sentence, its command line, and the checks that run before it starts."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Sequence
from typing import Any

from parity.errors import UsageError, needs_mitmproxy

__all__ = ["Mitmdump", "load_mitmdump", "mitmdump_arguments", "run_mitmdump"]

#: mitmproxy's ``mitmdump`` entry point: a command line in, an exit status out.
Mitmdump = Callable[[list[str]], int | None]


def load_mitmdump(needs: str) -> Mitmdump:
    """mitmdump, or a `UsageError` saying that `needs` ("recording", say) needs mitmproxy
    and how to install it."""
    try:
        from mitmproxy.tools.main import mitmdump
    except ImportError:
        raise needs_mitmproxy(needs) from None
    return mitmdump


def mitmdump_arguments(mode: str, listen: str, addon: str, *, verbose: bool = False) -> list[str]:
    """The start of a mitmdump command line: the proxy `mode`, the ``--listen`` HOST:PORT,
    lazy upstream connections, how much it logs, and the script `addon`."""
    host, port = _listen_address(listen)
    return [
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
        f"flow_detail={1 if verbose else 0}",
        "-s",
        addon,
    ]


def run_mitmdump(
    mitmdump: Mitmdump, argv: list[str], addons: Sequence[Any], announcement: str
) -> int:
    """Check every ``parity_`` option `argv` sets, and `addons`' own checks, so that a bad
    one is refused here in one sentence or never; then say what starts (`announcement`)
    and run mitmdump until it stops. Its exit status."""
    from recorder.options import preflight

    preflight(_assignments(argv), addons)
    print(announcement, file=sys.stderr)
    return int(mitmdump(argv) or 0)


def _listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"--listen {text!r} is not HOST:PORT; write it as 127.0.0.1:8080 or 0.0.0.0:8080"
        )
    return host.strip("[]"), int(port)


def _assignments(argv: list[str]) -> list[str]:
    """The NAME=VALUE of every ``--set`` in a mitmdump command line."""
    return [value for flag, value in itertools.pairwise(argv) if flag == "--set"]

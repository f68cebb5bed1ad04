"""``parity record``: mitmdump with the recorder, in front of a service or as a forward
proxy for its outbound calls."""

from __future__ import annotations

import argparse

from parity.cli.common import Commands
from parity.cli.mitmdump import load_mitmdump, mitmdump_arguments, run_mitmdump
from parity.errors import UsageError

__all__ = ["add_record_command", "record_arguments"]


def add_record_command(commands: Commands) -> None:
    """``record``."""
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
    record.set_defaults(run=_record)


def record_arguments(args: argparse.Namespace) -> list[str]:
    """The mitmdump command line that `parity record` runs."""
    import recorder.addon

    mode = f"reverse:{args.upstream}" if args.upstream else "regular"
    argv = mitmdump_arguments(mode, args.listen, recorder.addon.__file__, verbose=args.verbose)
    argv += ["--set", f"parity_store={args.store}"]
    for name in ("recorder_id", "filter", "sample_rate", "spool_dir"):
        value = getattr(args, name)
        if value is not None:
            argv += ["--set", f"parity_{name}={value}"]
    for assignment in args.set or ():
        argv += ["--set", assignment]
    return argv


def _record(args: argparse.Namespace) -> int:
    if args.upstream and "://" not in args.upstream:
        raise UsageError(
            f"--upstream {args.upstream!r} needs a scheme; write http://{args.upstream} "
            f"or https://{args.upstream}"
        )
    mitmdump = load_mitmdump("recording")
    argv = record_arguments(args)
    from recorder.addon import Recorder

    announcement = (
        f"parity: recording {args.upstream or 'forward-proxy traffic'} on {args.listen} "
        f"into {args.store}"
    )
    return run_mitmdump(mitmdump, argv, [Recorder()], announcement)

"""Serving an example WSGI app from the command line: ``--host``, ``--port``, clean exits."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence
from types import FrameType
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

__all__ = ["serve_wsgi"]


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve_wsgi(
    app: Any,
    *,
    name: str,
    module: str,
    description: str | None,
    default_port: int,
    argv: Sequence[str] | None = None,
    handler: type[WSGIRequestHandler] | None = None,
) -> int:
    """Parse ``--host``/``--port``, serve `app` on werkzeug's threaded server, print one
    line saying where, and exit with status 0 on SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=default_port, help="port to bind (%(default)s)")
    args = parser.parse_args(argv)
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=handler
    )  # exits 1 if it cannot bind
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"{name} listening on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0

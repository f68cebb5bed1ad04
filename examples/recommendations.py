"""The example downstream service: course recommendations, which the monolith (and its
rewrite) call while answering ``GET /api/users/<id>/recommendations``.

Start it with `python -m examples.recommendations --port 8003`. It answers
``GET /recommendations/<user id>`` with ``{"user_id", "courses"}`` (course ids,
the same every time) and ``?explain=1`` adds why. The apps find it at
``$PARITY_EXAMPLE_RECOMMENDATIONS`` (default http://127.0.0.1:8003).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from types import FrameType
from typing import Any

from werkzeug.serving import make_server

from examples import data

DEFAULT_PORT = 8003


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A WSGI app: recommendations by user id, 404 for anything else."""
    parts = environ.get("PATH_INFO", "").strip("/").split("/")
    user = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None
    status = "404 Not Found"
    document: dict[str, Any] = {"error": "not found"}
    found = user is not None and data.find_user(user) is not None
    if environ["REQUEST_METHOD"] == "GET" and parts[0] == "recommendations" and found:
        assert user is not None
        status = "200 OK"
        document = {"user_id": user, "courses": data.recommended(user)}
        if "explain=1" in environ.get("QUERY_STRING", ""):
            document["why"] = "courses others with the same tags took"
    body = json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])  # fmt: skip
    return [body]


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.recommendations", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to bind (%(default)s)")
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"recommendations listening on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

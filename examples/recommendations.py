"""The example downstream service: course recommendations, which the monolith (and its
rewrite) call while answering ``GET /api/users/<id>/recommendations``.

Start it with `python -m examples.recommendations --port 8003`. It answers
``GET /recommendations/<user id>`` with ``{"user_id", "courses"}`` (course ids,
the same every time) and ``?explain=1`` adds why. The apps find it at
``$PARITY_EXAMPLE_RECOMMENDATIONS`` (default http://127.0.0.1:8003).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from examples import data
from examples.serving import serve_wsgi

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
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def main(argv: Sequence[str] | None = None) -> int:
    return serve_wsgi(
        app,
        name="recommendations",
        module="examples.recommendations",
        description=__doc__,
        default_port=DEFAULT_PORT,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())

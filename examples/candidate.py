"""The example candidate: the learning-platform API rewritten as a Starlette (ASGI) app.

It answers like the monolith except for three deliberate divergences, marked
"Divergence" below and listed in README.md. Start it with
`python -m examples.candidate --port 8002 [--host 127.0.0.1]`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from uuid import UUID

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from examples import data, schema
from examples.data import ApiError, JSONObject

# Divergence 3: a different Server header (the monolith sends "learning-monolith/1.0").
SERVER_HEADER = "learning-candidate/2.0"
DEFAULT_PORT = 8002

logger = logging.getLogger(__name__)


def _json(payload: JSONObject, status: int = 200, *, graphql: bool = False) -> Response:
    """Serialise with the volatile fields added.

    Divergence 2 (harmless): object keys are serialised in sorted order; the monolith
    keeps insertion order.
    """
    request_id, generated_at = data.stamp()
    stamped = {"request_id": request_id, "generated_at": generated_at}
    if graphql:
        payload = {**payload, "extensions": {**payload.get("extensions", {}), **stamped}}
    else:
        payload = {**payload, **stamped}
    body = data.encode_json(payload, sort_keys=True)
    headers = {"X-Request-ID": request_id, "Server": SERVER_HEADER}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _present_course(course: data.Course) -> JSONObject:
    """Divergence 2 (harmless): tags sorted alphabetically; the monolith keeps their order."""
    return {**data.course_dict(course), "tags": sorted(course.tags)}


def _floor_percent(completed: int, lessons: int) -> int:
    """Divergence 1 (a real bug): floor division, so 2 of 3 lessons is 66, not 66.7."""
    return completed * 100 // lessons


def _query_args(request: Request) -> data.QueryArgs:
    return data.QueryArgs.parse(request.scope["query_string"])


def create_app(*, extra_downstream_call: bool = False) -> Starlette:
    """A fresh app with fresh state. `extra_downstream_call`: a variant that also asks the
    recommendations service why, a call the monolith never makes."""
    store = data.Store()

    async def health(_request: Request) -> Response:
        return _json({"status": "ok"})

    async def users(request: Request) -> Response:
        return _json(data.list_users(_query_args(request)))

    async def user(request: Request) -> Response:
        user_id: int = request.path_params["user_id"]
        return _json(data.user_dict(data.get_user(user_id)))

    async def progress(request: Request) -> Response:
        user_id: int = request.path_params["user_id"]
        return _json(data.progress_payload(store, user_id, _floor_percent))

    async def recommendations(request: Request) -> Response:
        user_id: int = request.path_params["user_id"]
        data.get_user(user_id)
        headers = {k: v for k, v in request.headers.items() if k.lower() in data.FORWARDED}
        url = data.recommendations_url(user_id)
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                answer = await client.get(url, headers=headers)
                answer.raise_for_status()
                if extra_downstream_call:
                    await client.get(url, params={"explain": "1"}, headers=headers)
        except httpx.HTTPError:
            return _json({"error": "recommendations unavailable"}, 502)
        return _json(data.recommendations_payload(user_id, answer.json()))

    async def enrol(request: Request) -> Response:
        user_id: int = request.path_params["user_id"]
        return _json(data.enrol_from_body(store, user_id, await request.body()), 201)

    async def courses(request: Request) -> Response:
        return _json(data.list_courses(_query_args(request), _present_course))

    async def course(request: Request) -> Response:
        course_id: UUID = request.path_params["course_id"]
        return _json(_present_course(data.get_course(str(course_id))))

    async def thumbnail(request: Request) -> Response:
        course_id: UUID = request.path_params["course_id"]
        found = data.get_course(str(course_id))
        request_id, _ = data.stamp()
        headers = {"X-Request-ID": request_id, "Server": SERVER_HEADER}
        return Response(data.thumbnail_png(found.id), media_type="image/png", headers=headers)

    async def search(request: Request) -> Response:
        return _json(data.search(_query_args(request), _present_course))

    async def graphql(request: Request) -> Response:
        try:
            if request.method == "POST":
                gql = schema.request_from_body(await request.body())
            else:
                gql = schema.request_from_query(_query_args(request))
            payload = schema.execute(store, gql, method=request.method, sort_tags=True)
        except ApiError as error:
            response = _json(schema.error_payload(error), error.status, graphql=True)
            if error.status == 405:
                response.headers["Allow"] = "POST"
            return response
        return _json(payload, graphql=True)

    async def on_api_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        return _json(error.payload(), error.status)

    async def on_http_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        response = _json(ApiError.for_status(error.status_code).payload(), error.status_code)
        allow = (error.headers or {}).get("Allow")
        if allow:
            response.headers["Allow"] = ", ".join(sorted(m.strip() for m in allow.split(",")))
        return response

    async def on_unexpected(_request: Request, error: Exception) -> Response:
        logger.error("unhandled error", exc_info=error)
        return _json(ApiError.for_status(500).payload(), 500)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/api/users", users, methods=["GET"]),
        Route("/api/users/{user_id:int}", user, methods=["GET"]),
        Route("/api/users/{user_id:int}/progress", progress, methods=["GET"]),
        Route("/api/users/{user_id:int}/recommendations", recommendations, methods=["GET"]),
        Route("/api/users/{user_id:int}/enrolments", enrol, methods=["POST"]),
        Route("/api/courses", courses, methods=["GET"]),
        Route("/api/courses/{course_id:uuid}", course, methods=["GET"]),
        Route("/api/courses/{course_id:uuid}/thumbnail.png", thumbnail, methods=["GET"]),
        Route("/api/search", search, methods=["GET"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
    )
    # Like Flask: "/api/users/" is a 404, not a redirect to "/api/users".
    app.router.redirect_slashes = False
    return app


app = create_app()


def chatty_app() -> Starlette:
    """The candidate with one more downstream call than the monolith makes (for tests of
    hermetic replay: ``--replay-target 'examples.candidate:chatty_app()'``)."""
    return create_app(extra_downstream_call=True)


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.candidate", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to bind (%(default)s)")
    args = parser.parse_args(argv)
    # uvicorn handles SIGTERM/SIGINT itself, shuts down, then re-raises the signal: these
    # handlers turn that into a clean exit.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    config = uvicorn.Config(app, host=args.host, port=args.port, server_header=False)
    print(f"learning-candidate listening on http://{args.host}:{args.port}", flush=True)
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The example monolith: the learning-platform API as a Flask (WSGI) app.

This is the reference Parity records. Start it with
`python -m examples.monolith --port 8001 [--host 127.0.0.1]`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from uuid import UUID

import httpx
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.serving import WSGIRequestHandler

from examples import data, schema
from examples.data import ApiError, JSONObject
from examples.serving import serve_wsgi

SERVER_HEADER = "learning-monolith/1.0"
DEFAULT_PORT = 8001


def _json(payload: JSONObject, status: int = 200, *, graphql: bool = False) -> Response:
    """Serialise with keys in insertion order, adding the volatile fields."""
    request_id, generated_at = data.stamp()
    stamped = {"request_id": request_id, "generated_at": generated_at}
    if graphql:
        payload = {**payload, "extensions": {**payload.get("extensions", {}), **stamped}}
    else:
        payload = {**payload, **stamped}
    body = data.encode_json(payload, sort_keys=False)
    response = Response(body, status=status, mimetype="application/json")
    response.headers["X-Request-ID"] = request_id
    return response


def create_app() -> Flask:
    """A fresh app with fresh state."""
    app = Flask(__name__)
    # Answer OPTIONS like the candidate does: with 405, not an automatic 200.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    store = data.Store()

    def query_args() -> data.QueryArgs:
        return data.QueryArgs.parse(request.query_string)

    @app.get("/health")
    def health() -> Response:
        return _json({"status": "ok"})

    @app.get("/api/users")
    def users() -> Response:
        return _json(data.list_users(query_args()))

    @app.get("/api/users/<int:user_id>")
    def user(user_id: int) -> Response:
        return _json(data.user_dict(data.get_user(user_id)))

    @app.get("/api/users/<int:user_id>/progress")
    def progress(user_id: int) -> Response:
        return _json(data.progress_payload(store, user_id, data.percent))

    @app.get("/api/users/<int:user_id>/recommendations")
    def recommendations(user_id: int) -> Response:
        data.get_user(user_id)
        headers = {k: v for k, v in request.headers.items() if k.lower() in data.FORWARDED}
        try:  # through $HTTP_PROXY when set: a recorder in forward mode records the call
            with httpx.Client(timeout=5) as client:
                answer = client.get(data.recommendations_url(user_id), headers=headers)
            answer.raise_for_status()
        except httpx.HTTPError:
            return _json({"error": "recommendations unavailable"}, 502)
        return _json(data.recommendations_payload(user_id, answer.json()))

    @app.post("/api/users/<int:user_id>/enrolments")
    def enrol(user_id: int) -> Response:
        return _json(data.enrol_from_body(store, user_id, request.get_data()), 201)

    @app.get("/api/courses")
    def courses() -> Response:
        return _json(data.list_courses(query_args()))

    @app.get("/api/courses/<uuid:course_id>")
    def course(course_id: UUID) -> Response:
        return _json(data.course_dict(data.get_course(str(course_id))))

    @app.get("/api/courses/<uuid:course_id>/thumbnail.png")
    def thumbnail(course_id: UUID) -> Response:
        found = data.get_course(str(course_id))
        request_id, _ = data.stamp()
        response = Response(data.thumbnail_png(found.id), mimetype="image/png")
        response.headers["X-Request-ID"] = request_id
        return response

    @app.get("/api/search")
    def search() -> Response:
        return _json(data.search(query_args()))

    @app.route("/graphql", methods=["GET", "POST"])
    def graphql() -> Response:
        try:
            if request.method == "POST":
                gql = schema.request_from_body(request.get_data())
            else:
                gql = schema.request_from_query(query_args())
            payload = schema.execute(store, gql, method=request.method)
        except ApiError as error:
            response = _json(schema.error_payload(error), error.status, graphql=True)
            if error.status == 405:
                response.headers["Allow"] = "POST"
            return response
        return _json(payload, graphql=True)

    @app.errorhandler(ApiError)
    def on_api_error(error: ApiError) -> Response:
        return _json(error.payload(), error.status)

    @app.errorhandler(HTTPException)
    def on_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = _json(ApiError.for_status(status).payload(), status)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return response

    @app.errorhandler(Exception)
    def on_unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error", exc_info=error)
        return _json(ApiError.for_status(500).payload(), 500)

    @app.after_request
    def server_header(response: Response) -> Response:
        response.headers["Server"] = SERVER_HEADER
        return response

    return app


app = create_app()


class _RequestHandler(WSGIRequestHandler):
    """Sends the app's own Server header instead of adding werkzeug's next to it."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


def main(argv: Sequence[str] | None = None) -> int:
    return serve_wsgi(
        app,
        name="learning-monolith",
        module="examples.monolith",
        description=__doc__,
        default_port=DEFAULT_PORT,
        argv=argv,
        handler=_RequestHandler,
    )


if __name__ == "__main__":
    sys.exit(main())

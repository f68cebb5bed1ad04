"""The example monolith and candidate answer alike, except for their documented divergences.

Both apps run in-process (no sockets): the monolith through httpx's WSGI transport, the
candidate through its ASGI transport. Every comparison first checks and removes the
volatile fields (request id, timestamp), then compares status, content type and body.
"""

from __future__ import annotations

import asyncio
import json
import struct
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from flask import Flask
from starlette.applications import Starlette

from examples import candidate, data, monolith

BASE_URL = "http://testserver"
COURSE = data.COURSES[0]  # "Python for Beginners", tags python, beginner, programming
NOT_ENROLLED = ("1", data.COURSES[2].id)  # user 1 is not enrolled in course 3 when seeded

GET_USER = "query GetUser($id: ID!) { user(id: $id) { id name email joined } }"
LIST_USERS = "query ListUsers($first: Int) { users(first: $first) { id name } }"
LIST_COURSES = "query ListCourses($tag: String) { courses(tag: $tag) { id title tags lessons } }"
GET_COURSE = "query GetCourse($id: ID!) { course(id: $id) { id title tags lessons } }"
SEARCH_COURSES = "query SearchCourses($q: String!) { search(q: $q) { id title tags } }"
USER_PROGRESS = (
    "query UserProgress($userId: ID!) "
    "{ progress(userId: $userId) { courseId title lessons lessonsCompleted percent } }"
)
ENROL_USER = (
    "mutation EnrolUser($userId: ID!, $courseId: ID!) "
    "{ enrol(userId: $userId, courseId: $courseId) { userId courseId status lessonsCompleted } }"
)


class AsgiClient:
    """A synchronous face on httpx's ASGI transport, so both apps are driven alike."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(send())


class Pair:
    """A fresh monolith and a fresh candidate, each with its own state."""

    def __init__(self) -> None:
        transport = httpx.WSGITransport(app=monolith.create_app())
        self.monolith = httpx.Client(transport=transport, base_url=BASE_URL)
        self.candidate = AsgiClient(candidate.create_app())

    def both(self, method: str, url: str, **kwargs: Any) -> tuple[httpx.Response, httpx.Response]:
        return (
            self.monolith.request(method, url, **kwargs),
            self.candidate.request(method, url, **kwargs),
        )

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, get: bool = False):
        name = query.split()[1].split("(")[0]
        if get:
            params = {"query": query, "operationName": name}
            if variables is not None:
                params["variables"] = json.dumps(variables)
            return self.both("GET", "/graphql", params=params)
        body = {"query": query, "operationName": name, "variables": variables}
        return self.both("POST", "/graphql", json=body)


@pytest.fixture
def pair():
    client = Pair()
    yield client
    client.monolith.close()


def stable(response: httpx.Response) -> Any:
    """The body without its volatile fields, after checking they are present and fresh."""
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    holder = body.get("extensions", body)  # GraphQL answers carry them under "extensions"
    request_id = holder.pop("request_id")
    assert uuid.UUID(request_id).version == 4
    assert response.headers["x-request-id"] == request_id
    generated_at = datetime.fromisoformat(holder.pop("generated_at"))
    assert abs(datetime.now(UTC) - generated_at) < timedelta(minutes=1)
    if holder is not body and not holder:
        del body["extensions"]
    return body


def tags_sorted(value: Any) -> Any:
    """`value` with every course's tags in alphabetical order, as the candidate sends them."""
    if isinstance(value, dict):
        return {k: sorted(v) if k == "tags" else tags_sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tags_sorted(item) for item in value]
    return value


def assert_same(m: httpx.Response, c: httpx.Response, status: int, *, tags_differ: bool) -> Any:
    """Same status, content type and body; only tag order may differ, and only if expected."""
    assert (m.status_code, c.status_code) == (status, status), (m.text, c.text)
    assert m.headers.get("allow") == c.headers.get("allow")
    m_body, c_body = stable(m), stable(c)
    if tags_differ:
        assert m_body != c_body
        assert tags_sorted(m_body) == c_body
    else:
        assert m_body == c_body
    return m_body


def key_order(text: str) -> list[list[str]]:
    """The key order of every JSON object in `text`, as serialised."""
    orders: list[list[str]] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        orders.append([key for key, _ in pairs])
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    return orders


REST_CASES = [
    ("GET", "/health", None, 200, False),
    ("GET", "/api/users", None, 200, False),
    ("GET", "/api/users?page=2&per_page=5", None, 200, False),
    ("GET", "/api/users?page=9&per_page=5", None, 200, False),
    ("GET", "/api/users?page=0", None, 400, False),
    ("GET", "/api/users?per_page=abc", None, 400, False),
    ("GET", "/api/users?per_page=51", None, 400, False),
    ("GET", "/api/users/1", None, 200, False),
    ("GET", "/api/users/11", None, 200, False),
    ("GET", "/api/users/99", None, 404, False),
    ("GET", "/api/users/abc", None, 404, False),
    ("GET", "/api/users/", None, 404, False),
    ("GET", "/api/users/99/progress", None, 404, False),
    ("GET", "/api/courses", None, 200, True),
    ("GET", "/api/courses?tag=web", None, 200, True),
    ("GET", "/api/courses?tag=cobol", None, 200, False),
    ("GET", f"/api/courses/{COURSE.id}", None, 200, True),
    ("GET", f"/api/courses/{COURSE.id.upper()}", None, 200, True),
    ("GET", "/api/courses/00000000-0000-4000-8000-000000000000", None, 404, False),
    ("GET", "/api/courses/00000000-0000-4000-8000-000000000000/thumbnail.png", None, 404, False),
    ("GET", "/api/courses/not-a-uuid", None, 404, False),
    ("GET", "/api/search?q=py&tag=web&tag=beginner&limit=10", None, 200, True),
    ("GET", "/api/search?q=PYTHON&limit=2", None, 200, True),
    ("GET", "/api/search?q=a&tag=data,intermediate", None, 200, True),
    ("GET", "/api/search?q=zzz", None, 200, False),
    ("GET", "/api/search?tag=web", None, 400, False),
    ("GET", "/api/search?q=py&limit=0", None, 400, False),
    ("POST", "/api/users/99/enrolments", b'{"course_id": "x"}', 404, False),
    ("POST", "/api/users/1/enrolments", b"{not json", 400, False),
    ("POST", "/api/users/1/enrolments", b"[1, 2]", 400, False),
    ("POST", "/api/users/1/enrolments", b"{}", 400, False),
    ("POST", "/api/users/1/enrolments", b'{"course_id": "nope"}', 404, False),
    ("DELETE", "/api/users/1", None, 405, False),
    ("OPTIONS", "/health", None, 405, False),
    ("PUT", "/graphql", None, 405, False),
    ("GET", "/no/such/route", None, 404, False),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "tags_differ"),
    REST_CASES,
    ids=[f"{m} {u} {s}" for m, u, _, s, _ in REST_CASES],
)
def test_rest_routes_answer_alike(pair, method, url, body, status, tags_differ):
    m, c = pair.both(method, url, content=body)
    assert_same(m, c, status, tags_differ=tags_differ)


def test_error_bodies_name_the_problem(pair):
    assert stable(pair.both("GET", "/api/users/99")[0]) == {"error": "user 99 not found"}
    m, _ = pair.both("POST", "/api/users/1/enrolments", content=b"{not json")
    assert stable(m) == {"error": "request body is not valid JSON"}


def test_users_are_paginated(pair):
    m, c = pair.both("GET", "/api/users", params={"page": 2, "per_page": 5})
    body = assert_same(m, c, 200, tags_differ=False)
    assert [user["id"] for user in body["items"]] == [6, 7, 8, 9, 10]
    assert (body["total"], body["pages"]) == (20, 4)


def test_search_takes_repeated_parameters(pair):
    params = [("q", "py"), ("tag", "web"), ("tag", "beginner"), ("limit", "10")]
    m, c = pair.both("GET", "/api/search", params=params)
    body = assert_same(m, c, 200, tags_differ=True)
    assert [item["title"] for item in body["items"]] == ["Web Development with Python"]
    assert body["tag"] == ["web", "beginner"]


def test_enrolment_is_created_once(pair):
    user_id, course_id = NOT_ENROLLED
    url = f"/api/users/{user_id}/enrolments"
    m, c = pair.both("POST", url, json={"course_id": course_id})
    body = assert_same(m, c, 201, tags_differ=False)
    assert body == {
        "user_id": 1,
        "course_id": course_id,
        "status": "enrolled",
        "lessons_completed": 0,
    }
    assert_same(*pair.both("POST", url, json={"course_id": course_id}), 409, tags_differ=False)


def test_each_app_instance_has_its_own_state():
    assert isinstance(monolith.app, Flask)
    assert isinstance(candidate.app, Starlette)
    user_id, course_id = NOT_ENROLLED
    for client in (Pair(), Pair()):
        m, c = client.both(
            "POST", f"/api/users/{user_id}/enrolments", json={"course_id": course_id}
        )
        assert (m.status_code, c.status_code) == (201, 201)
        client.monolith.close()


def test_progress_percent_is_floored_by_the_candidate(pair):
    """Divergence 1, a real bug: only `percent` differs, and only on the REST endpoint."""
    m, c = pair.both("GET", "/api/users/4/progress")
    m_body, c_body = stable(m), stable(c)
    assert (m.status_code, c.status_code) == (200, 200)
    m_items, c_items = m_body.pop("items"), c_body.pop("items")
    assert m_body == c_body == {"user_id": 4}
    assert len(m_items) == len(c_items) > 0
    differing = 0
    for m_item, c_item in zip(m_items, c_items, strict=True):
        done, lessons = m_item["lessons_completed"], m_item["lessons"]
        assert m_item["percent"] == round(done / lessons * 100, 1)
        assert c_item["percent"] == done * 100 // lessons
        differing += m_item["percent"] != c_item["percent"]
        assert {**m_item, "percent": None} == {**c_item, "percent": None}
    assert differing > 0
    at = next(i for i, item in enumerate(m_items) if item["title"] == "Testing Web APIs")
    assert (m_items[at]["percent"], c_items[at]["percent"]) == (66.7, 66)


def test_candidate_sorts_keys_and_tags(pair):
    """Divergence 2, harmless: key order and tag order differ, the content does not."""
    m, c = pair.both("GET", f"/api/courses/{COURSE.id}")
    assert key_order(m.text) == [["id", "title", "tags", "lessons", "request_id", "generated_at"]]
    assert key_order(c.text) == [sorted(key_order(m.text)[0])]
    assert m.json()["tags"] == ["python", "beginner", "programming"]
    assert c.json()["tags"] == ["beginner", "programming", "python"]
    assert set(m.json()["tags"]) == set(c.json()["tags"])


def test_server_headers_differ(pair):
    """Divergence 3: the Server header names each implementation."""
    m, c = pair.both("GET", "/health")
    assert m.headers["server"] == "learning-monolith/1.0"
    assert c.headers["server"] == "learning-candidate/2.0"


def test_thumbnails_are_identical_pngs(pair):
    url = f"/api/courses/{COURSE.id}/thumbnail.png"
    m, c = pair.both("GET", url)
    assert (m.status_code, c.status_code) == (200, 200)
    assert m.headers["content-type"] == c.headers["content-type"] == "image/png"
    assert m.content == c.content
    png = m.content
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = {}, 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, body = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        offset += 12 + length
    assert list(chunks) == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]
    assert struct.unpack(">II", chunks[b"IHDR"][:8]) == (16, 16)
    assert len(zlib.decompress(chunks[b"IDAT"])) == 16 * (16 + 1)
    other, _ = pair.both("GET", f"/api/courses/{data.COURSES[1].id}/thumbnail.png")
    assert other.content != png


GRAPHQL_CASES = [
    ("GetUser", GET_USER, {"id": "1"}, False),
    ("GetUser unknown", GET_USER, {"id": "99"}, False),
    ("ListUsers", LIST_USERS, {"first": 5}, False),
    ("ListUsers all", LIST_USERS, None, False),
    ("ListUsers too many", LIST_USERS, {"first": 500}, False),
    ("ListCourses", LIST_COURSES, {"tag": "web"}, True),
    ("ListCourses all", LIST_COURSES, None, True),
    ("GetCourse", GET_COURSE, {"id": COURSE.id}, True),
    ("GetCourse unknown", GET_COURSE, {"id": "00000000-0000-4000-8000-000000000000"}, False),
    ("SearchCourses", SEARCH_COURSES, {"q": "py"}, True),
    ("UserProgress", USER_PROGRESS, {"userId": "4"}, False),
    ("UserProgress unknown", USER_PROGRESS, {"userId": "99"}, False),
    ("UserProgress missing variable", USER_PROGRESS, None, False),
]


@pytest.mark.parametrize("get", [False, True], ids=["POST", "GET"])
@pytest.mark.parametrize(
    ("query", "variables", "tags_differ"),
    [case[1:] for case in GRAPHQL_CASES],
    ids=[case[0] for case in GRAPHQL_CASES],
)
def test_graphql_queries_answer_alike(pair, query, variables, tags_differ, get):
    m, c = pair.graphql(query, variables, get=get)
    assert_same(m, c, 200, tags_differ=tags_differ)


def test_graphql_results(pair):
    body = assert_same(*pair.graphql(GET_USER, {"id": "1"}), 200, tags_differ=False)
    assert body == {"data": {"user": {**data.user_dict(data.USERS[0]), "id": "1"}}}
    body = assert_same(*pair.graphql(USER_PROGRESS, {"userId": "4"}), 200, tags_differ=False)
    percents = {p["title"]: p["percent"] for p in body["data"]["progress"]}
    assert percents["Testing Web APIs"] == 66.7  # GraphQL keeps the correct percent
    body = assert_same(*pair.graphql(USER_PROGRESS, {"userId": "99"}), 200, tags_differ=False)
    assert body["data"] == {"progress": None}
    assert body["errors"][0]["message"] == "user 99 not found"


def test_graphql_enrol_mutation(pair):
    user_id, course_id = NOT_ENROLLED
    variables = {"userId": user_id, "courseId": course_id}
    body = assert_same(*pair.graphql(ENROL_USER, variables), 200, tags_differ=False)
    expected = {"userId": "1", "courseId": course_id, "status": "enrolled", "lessonsCompleted": 0}
    assert body == {"data": {"enrol": expected}}
    body = assert_same(*pair.graphql(ENROL_USER, variables), 200, tags_differ=False)
    assert body["data"] == {"enrol": None}
    assert "already enrolled" in body["errors"][0]["message"]
    rest = pair.both("POST", f"/api/users/{user_id}/enrolments", json={"course_id": course_id})
    assert_same(*rest, 409, tags_differ=False)


def test_graphql_mutation_over_get_is_refused(pair):
    user_id, course_id = NOT_ENROLLED
    m, c = pair.graphql(ENROL_USER, {"userId": user_id, "courseId": course_id}, get=True)
    body = assert_same(m, c, 405, tags_differ=False)
    assert m.headers["allow"] == "POST"
    assert body == {"errors": [{"message": "mutations are only accepted over POST"}]}
    rest = pair.both("POST", f"/api/users/{user_id}/enrolments", json={"course_id": course_id})
    assert_same(*rest, 201, tags_differ=False)  # nothing was enrolled


@pytest.mark.parametrize(
    "query",
    ["query GetUser { user(id: 1) { id", "{ user(id: 1) { nope } }", "query { nothing }"],
    ids=["syntax", "unknown field", "unknown root field"],
)
def test_graphql_errors_are_answers_not_crashes(pair, query):
    m, c = pair.both("POST", "/graphql", json={"query": query})
    body = assert_same(m, c, 200, tags_differ=False)
    assert "data" not in body
    assert body["errors"][0]["message"]
    assert body["errors"][0]["locations"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b'["query"]', "request body must be a JSON object"),
        (b'{"operationName": "GetUser"}', "the request has no query"),
        (b'{"query": "{ users { id } }", "variables": [1]}', "variables must be a JSON object"),
    ],
    ids=["unparseable", "not an object", "no query", "bad variables"],
)
def test_graphql_bad_requests_are_400(pair, content, message):
    m, c = pair.both("POST", "/graphql", content=content)
    assert assert_same(m, c, 400, tags_differ=False) == {"errors": [{"message": message}]}


def test_graphql_get_with_unparseable_variables_is_400(pair):
    params = {"query": GET_USER, "variables": "{oops"}
    m, c = pair.both("GET", "/graphql", params=params)
    body = assert_same(m, c, 400, tags_differ=False)
    assert body == {"errors": [{"message": "variables is not valid JSON"}]}

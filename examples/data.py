"""Seeded data and the request logic both example services share.

Everything here is deterministic and framework-free, so the monolith and the candidate
answer identically except where one of them deliberately diverges (see README.md). Only
`Store` holds mutable state (enrolments); each app instance makes its own.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import threading
import unicodedata
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

JSONObject = dict[str, Any]

MAX_PAGE_SIZE = 50


class ApiError(Exception):
    """An answer other than success: an HTTP status and a one-sentence message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @classmethod
    def for_status(cls, status: int) -> ApiError:
        """The error the routing layer answers, e.g. 404 "not found"."""
        return cls(status, HTTPStatus(status).phrase.lower())

    def payload(self) -> JSONObject:
        return {"error": self.message}


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    email: str
    joined: date


@dataclass(frozen=True, slots=True)
class Course:
    id: str
    title: str
    tags: tuple[str, ...]
    lessons: int


# The example people, five to a line: one per line would make a list twenty long.
# fmt: off
_NAMES = (
    "Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov",
    "Donald Knuth", "Margaret Hamilton", "Ken Thompson", "Frances Allen", "John McCarthy",
    "Zoë Müller", "Radia Perlman", "Guido van Rossum", "Karen Spärck Jones", "Leslie Lamport",
    "Shafi Goldwasser", "Niklaus Wirth", "Adele Goldberg", "Tony Hoare", "Sophie Wilson",
)
# fmt: on


def _email(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ascii_name.lower().replace(" ", ".") + "@example.com"


USERS: tuple[User, ...] = tuple(
    User(i, name, _email(name), date(2021, 1, 4) + timedelta(days=41 * (i - 1)))
    for i, name in enumerate(_NAMES, start=1)
)

# Tags keep a meaningful insertion order: the main subject first. A course to two lines,
# as a table of id, title, tags and lessons reads.
# fmt: off
COURSES: tuple[Course, ...] = (
    Course("76931aaf-e471-4e58-aa9a-7a79279a14df", "Python for Beginners",
           ("python", "beginner", "programming"), 12),
    Course("c99a846a-1001-4edd-b454-9d9e7ea4bf57", "Web Development with Python",
           ("python", "web", "beginner"), 9),
    Course("e1a9f10c-1719-470e-85f1-0cf02114f172", "Advanced Python Patterns",
           ("python", "advanced", "design"), 6),
    Course("2c0f5fbf-7e95-488e-a12e-9a477ca80fd0", "JavaScript Fundamentals",
           ("javascript", "web", "beginner"), 15),
    Course("d84bb63f-5f06-4b6d-a580-00b21128a6b2", "Data Analysis with Pandas",
           ("python", "data", "intermediate"), 8),
    Course("177dcc82-d2b7-4002-8703-b47a8e901c56", "SQL and Relational Databases",
           ("sql", "data", "beginner"), 10),
    Course("e8728eac-d9be-42f4-92a2-ebfb48d4864a", "Testing Web APIs",
           ("testing", "web", "python", "intermediate"), 3),
    Course("5a75e0da-1485-45c6-b1da-a881182e1958", "Machine Learning Basics",
           ("ml", "python", "data", "intermediate"), 20),
)
# fmt: on

_USERS_BY_ID = {user.id: user for user in USERS}
_COURSES_BY_ID = {course.id: course for course in COURSES}


def find_user(user_id: int) -> User | None:
    return _USERS_BY_ID.get(user_id)


def get_user(user_id: int) -> User:
    user = find_user(user_id)
    if user is None:
        raise ApiError(404, f"user {user_id} not found")
    return user


def find_course(course_id: str) -> Course | None:
    return _COURSES_BY_ID.get(course_id.lower())


def get_course(course_id: str) -> Course:
    course = find_course(course_id)
    if course is None:
        raise ApiError(404, f"course {course_id} not found")
    return course


def user_id_from_graphql(value: str) -> int | None:
    """GraphQL IDs arrive as strings; anything that is not a plain number names no user."""
    return int(value) if value.isascii() and value.isdigit() else None


def _seed_progress() -> dict[tuple[int, str], int]:
    """Lessons completed per (user, enrolled course); two thirds of pairs are enrolled."""
    progress: dict[tuple[int, str], int] = {}
    for user in USERS:
        for index, course in enumerate(COURSES):
            if (user.id + index) % 3 != 0:
                progress[user.id, course.id] = (user.id * 5 + index * 3) % (course.lessons + 1)
    return progress


class Store:
    """The mutable state of one app instance: who is enrolled where, and how far along."""

    def __init__(self) -> None:
        self._progress = _seed_progress()
        self._lock = threading.Lock()

    def progress(self, user_id: int) -> list[tuple[Course, int]]:
        """(course, lessons completed) for each course the user is enrolled in, in course order."""
        get_user(user_id)
        with self._lock:
            return [
                (c, self._progress[user_id, c.id])
                for c in COURSES
                if (user_id, c.id) in self._progress
            ]

    def enrol(self, user_id: int, course_id: str) -> JSONObject:
        """Enrol a user; 404 for an unknown user or course, 409 if already enrolled."""
        user = get_user(user_id)
        course = get_course(course_id)
        with self._lock:
            if (user.id, course.id) in self._progress:
                raise ApiError(409, f"user {user.id} is already enrolled in course {course.id}")
            self._progress[user.id, course.id] = 0
        return {
            "user_id": user.id,
            "course_id": course.id,
            "status": "enrolled",
            "lessons_completed": 0,
        }


# ---- request parsing shared by both apps -------------------------------------------------


class QueryArgs:
    """A query string as ordered (name, value) pairs, parsed the same way in both apps."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs = list(pairs)

    @classmethod
    def parse(cls, raw: bytes) -> QueryArgs:
        text = raw.decode("utf-8", "replace")
        return cls(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"))

    def first(self, name: str) -> str | None:
        return next((value for key, value in self.pairs if key == name), None)

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def int_param(args: QueryArgs, name: str, default: int, low: int, high: int) -> int:
    raw = args.first(name)
    if raw is None:
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ApiError(400, f"{name} must be an integer between {low} and {high}")
    return int(text)


def parse_json_object(raw: bytes) -> JSONObject:
    """The request body as a JSON object, whatever the Content-Type said; 400 otherwise."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body


# ---- payloads ----------------------------------------------------------------------------

CoursePresenter = Callable[[Course], JSONObject]


def user_dict(user: User) -> JSONObject:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "joined": user.joined.isoformat(),
    }


def course_dict(course: Course) -> JSONObject:
    return {
        "id": course.id,
        "title": course.title,
        "tags": list(course.tags),
        "lessons": course.lessons,
    }


def list_users(args: QueryArgs) -> JSONObject:
    page = int_param(args, "page", 1, 1, 10_000)
    per_page = int_param(args, "per_page", 10, 1, MAX_PAGE_SIZE)
    start = (page - 1) * per_page
    items = [user_dict(user) for user in USERS[start : start + per_page]]
    pages = math.ceil(len(USERS) / per_page)
    return {"items": items, "page": page, "per_page": per_page, "total": len(USERS), "pages": pages}


def list_courses(args: QueryArgs, present: CoursePresenter = course_dict) -> JSONObject:
    tag = args.first("tag")
    courses = [c for c in COURSES if tag is None or tag in c.tags]
    return {"items": [present(c) for c in courses], "total": len(courses)}


def search_courses(q: str, tags: Iterable[str] = ()) -> list[Course]:
    """Courses whose title contains `q` (case-insensitive) and that carry every tag."""
    needle = q.casefold()
    wanted = set(tags)
    return [c for c in COURSES if needle in c.title.casefold() and wanted <= set(c.tags)]


def search(args: QueryArgs, present: CoursePresenter = course_dict) -> JSONObject:
    """`?q=py&tag=web&tag=beginner&limit=10`; tags may also be comma-separated."""
    q = (args.first("q") or "").strip()
    if not q:
        raise ApiError(400, "q is required")
    tags = [t.strip() for value in args.all("tag") for t in value.split(",") if t.strip()]
    limit = int_param(args, "limit", 10, 1, MAX_PAGE_SIZE)
    found = search_courses(q, tags)
    items = [present(c) for c in found[:limit]]
    return {"q": q, "tag": tags, "limit": limit, "total": len(found), "items": items}


def percent(completed: int, lessons: int) -> float:
    """The share of lessons completed, in percent, rounded to one decimal."""
    return round(completed / lessons * 100, 1)


def progress_payload(
    store: Store, user_id: int, compute_percent: Callable[[int, int], float | int] = percent
) -> JSONObject:
    items = [
        {
            "course_id": course.id,
            "title": course.title,
            "lessons": course.lessons,
            "lessons_completed": done,
            "percent": compute_percent(done, course.lessons),
        }
        for course, done in store.progress(user_id)
    ]
    return {"user_id": user_id, "items": items}


def enrol_from_body(store: Store, user_id: int, raw: bytes) -> JSONObject:
    """POST /api/users/<id>/enrolments: checks the user, then the body, then the course."""
    get_user(user_id)
    course_id = parse_json_object(raw).get("course_id")
    if not isinstance(course_id, str) or not course_id:
        raise ApiError(400, "course_id must be a non-empty string")
    return store.enrol(user_id, course_id)


# ---- volatile fields and encoding --------------------------------------------------------


#: Where the apps find the recommendations service (examples/recommendations.py).
RECOMMENDATIONS_ENV = "PARITY_EXAMPLE_RECOMMENDATIONS"


def recommendations_url(user_id: int) -> str:
    base = os.environ.get(RECOMMENDATIONS_ENV, "http://127.0.0.1:8003").rstrip("/")
    return f"{base}/recommendations/{user_id}"


def recommended(user_id: int) -> list[str]:
    """Three course ids for a user, the same every time."""
    ranked = sorted(COURSES, key=lambda c: zlib.crc32(f"{user_id}:{c.id}".encode()))
    return [course.id for course in ranked[:3]]


def recommendations_payload(user_id: int, answer: JSONObject) -> JSONObject:
    """What both apps answer: the user's recommended courses, from the downstream answer."""
    get_user(user_id)
    courses = [find_course(str(course_id)) for course_id in answer.get("courses", [])]
    return {
        "user_id": user_id,
        "courses": [{"id": c.id, "title": c.title} for c in courses if c is not None],
    }


#: Headers passed on to the recommendations service, so calls can be tied to requests.
FORWARDED = ("traceparent", "x-request-id")


def stamp() -> tuple[str, str]:
    """A fresh request id and the current UTC time: the noise every answer carries."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(uuid.uuid4()), now


def encode_json(payload: JSONObject, *, sort_keys: bool) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=sort_keys).encode("utf-8")


# ---- thumbnails --------------------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@cache
def thumbnail_png(course_id: str) -> bytes:
    """A 16x16 four-colour PNG, derived from the course id alone."""
    digest = hashlib.sha256(course_id.encode()).digest()
    palette = digest[:9] + b"\xff\xff\xff"  # three colours from the id, plus white
    rows = []
    for y in range(16):
        row = bytearray([0])  # filter type: none
        for x in range(16):
            if x in (0, 15) or y in (0, 15):
                row.append(3)
            else:
                row.append(((x // 4) + (y // 4) + digest[9]) % 3)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", 16, 16, 8, 3, 0, 0, 0)  # 8-bit palette, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"PLTE", palette)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _png_chunk(b"IEND", b"")
    )

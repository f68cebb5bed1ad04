"""The pair's monolith: the API in Strawberry (PyPI), served by uvicorn on 127.0.0.1.

python -m examples.graphql_pair.python_server --port 8301
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import strawberry
import uvicorn
from graphql import GraphQLError
from strawberry.asgi import GraphQL

DATA = json.loads((Path(__file__).with_name("data.json")).read_text())
COURSES = {course["id"]: course for course in DATA["courses"]}
USERS = {user["id"]: user for user in DATA["users"]}


@strawberry.type
class Course:
    id: strawberry.ID
    title: str
    tags: list[str]


def course_of(course_id: str) -> Course:
    course = COURSES[course_id]
    return Course(id=strawberry.ID(course["id"]), title=course["title"], tags=course["tags"])


@strawberry.type
class Progress:
    course: Course
    percent: float


@strawberry.type
class User:
    id: strawberry.ID
    name: str
    progress: list[Progress]


def user_of(user: dict[str, Any]) -> User:
    progress = [
        Progress(course=course_of(p["course"]), percent=float(p["percent"]))
        for p in user["progress"]
    ]
    return User(id=strawberry.ID(user["id"]), name=user["name"], progress=progress)


@strawberry.type
class Query:
    @strawberry.field
    def user(self, id: strawberry.ID) -> User | None:
        user = USERS.get(str(id))
        if user is None:
            raise GraphQLError(f"User {id} not found", extensions={"code": "NOT_FOUND"})
        return user_of(user)

    @strawberry.field
    def courses(self, tag: str | None = None) -> list[Course]:
        return [course_of(c["id"]) for c in DATA["courses"] if tag is None or tag in c["tags"]]

    @strawberry.field
    def leaderboard(self) -> list[User]:
        ranked = sorted(DATA["users"], key=lambda u: -sum(p["percent"] for p in u["progress"]))
        return [user_of(user) for user in ranked]


app = GraphQL(strawberry.Schema(query=Query), graphql_ide=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()

"""The GraphQL schema both example services serve, and the HTTP handling around it.

Both apps turn a request into a `GraphQLRequest` with the functions here and run it with
`execute`, so GraphQL answers differ only by the candidate's deliberate divergences.
Problems with the request itself (unparseable body, no query, a mutation over GET) get a
4xx answer; anything GraphQL can report (syntax, validation, resolver errors) gets 200.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationType,
    build_schema,
    get_operation_ast,
    graphql_sync,
    parse,
)

from examples import data
from examples.data import ApiError, JSONObject

SDL = """
type Query {
  user(id: ID!): User
  users(first: Int): [User!]!
  courses(tag: String): [Course!]!
  course(id: ID!): Course
  search(q: String!): [Course!]!
  progress(userId: ID!): [Progress!]
}

type Mutation {
  enrol(userId: ID!, courseId: ID!): Enrolment
}

type User {
  id: ID!
  name: String!
  email: String!
  joined: String!
}

type Course {
  id: ID!
  title: String!
  tags: [String!]!
  lessons: Int!
}

type Progress {
  courseId: ID!
  title: String!
  lessons: Int!
  lessonsCompleted: Int!
  percent: Float!
}

type Enrolment {
  userId: ID!
  courseId: ID!
  status: String!
  lessonsCompleted: Int!
}
"""


@dataclass(frozen=True, slots=True)
class Context:
    """What resolvers see: the app's store, and whether tags come back sorted."""

    store: data.Store
    sort_tags: bool


Info = GraphQLResolveInfo[Context]


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    operation_name: str | None
    variables: JSONObject | None


def _resolve_user(_root: object, _info: Info, **args: Any) -> JSONObject | None:
    user_id = data.user_id_from_graphql(args["id"])
    user = None if user_id is None else data.find_user(user_id)
    return None if user is None else data.user_dict(user)


def _resolve_users(_root: object, _info: Info, **args: Any) -> list[JSONObject]:
    first = args.get("first")
    if first is None:
        first = len(data.USERS)
    if not 0 <= first <= data.MAX_PAGE_SIZE:
        raise GraphQLError(f"first must be between 0 and {data.MAX_PAGE_SIZE}")
    return [data.user_dict(user) for user in data.USERS[:first]]


def _resolve_courses(_root: object, _info: Info, **args: Any) -> list[data.Course]:
    tag = args.get("tag")
    return [c for c in data.COURSES if tag is None or tag in c.tags]


def _resolve_course(_root: object, _info: Info, **args: Any) -> data.Course | None:
    return data.find_course(args["id"])


def _resolve_search(_root: object, _info: Info, **args: Any) -> list[data.Course]:
    return data.search_courses(args["q"])


def _resolve_tags(course: data.Course, info: Info) -> list[str]:
    return sorted(course.tags) if info.context.sort_tags else list(course.tags)


def _resolve_progress(_root: object, info: Info, **args: Any) -> list[JSONObject]:
    user_id = data.user_id_from_graphql(args["userId"])
    if user_id is None:
        raise GraphQLError(f"user {args['userId']} not found")
    return [
        {
            "courseId": course.id,
            "title": course.title,
            "lessons": course.lessons,
            "lessonsCompleted": done,
            "percent": data.percent(done, course.lessons),
        }
        for course, done in info.context.store.progress(user_id)
    ]


def _resolve_enrol(_root: object, info: Info, **args: Any) -> JSONObject:
    user_id = data.user_id_from_graphql(args["userId"])
    if user_id is None:
        raise GraphQLError(f"user {args['userId']} not found")
    enrolment = info.context.store.enrol(user_id, args["courseId"])
    return {
        "userId": enrolment["user_id"],
        "courseId": enrolment["course_id"],
        "status": enrolment["status"],
        "lessonsCompleted": enrolment["lessons_completed"],
    }


def _build() -> GraphQLSchema:
    schema = build_schema(SDL)
    resolvers = {
        ("Query", "user"): _resolve_user,
        ("Query", "users"): _resolve_users,
        ("Query", "courses"): _resolve_courses,
        ("Query", "course"): _resolve_course,
        ("Query", "search"): _resolve_search,
        ("Query", "progress"): _resolve_progress,
        ("Mutation", "enrol"): _resolve_enrol,
        ("Course", "tags"): _resolve_tags,
    }
    for (type_name, field_name), resolver in resolvers.items():
        object_type = cast(GraphQLObjectType, schema.get_type(type_name))
        object_type.fields[field_name].resolve = resolver
    return schema


SCHEMA = _build()


def _request(query: object, operation_name: object, variables: object) -> GraphQLRequest:
    if not isinstance(query, str) or not query.strip():
        raise ApiError(400, "the request has no query")
    if operation_name is not None and not isinstance(operation_name, str):
        raise ApiError(400, "operationName must be a string")
    if variables is not None and not isinstance(variables, dict):
        raise ApiError(400, "variables must be a JSON object")
    return GraphQLRequest(query, operation_name or None, variables)


def request_from_body(raw: bytes) -> GraphQLRequest:
    """A POST body: `{"query", "operationName", "variables"}`."""
    body = data.parse_json_object(raw)
    return _request(body.get("query"), body.get("operationName"), body.get("variables"))


def request_from_query(args: data.QueryArgs) -> GraphQLRequest:
    """A GET query string; `variables` is JSON text."""
    raw_variables = args.first("variables")
    variables: object = None
    if raw_variables:
        try:
            variables = json.loads(raw_variables)
        except (json.JSONDecodeError, RecursionError):
            raise ApiError(400, "variables is not valid JSON") from None
    return _request(args.first("query"), args.first("operationName"), variables)


def _is_mutation(request: GraphQLRequest) -> bool:
    try:
        document = parse(request.query)
    except GraphQLError:
        return False  # graphql_sync reports the syntax error
    operation = get_operation_ast(document, request.operation_name)
    return operation is not None and operation.operation == OperationType.MUTATION


def execute(
    store: data.Store, request: GraphQLRequest, *, method: str, sort_tags: bool = False
) -> JSONObject:
    """Run one operation; the answer's status is 200 unless this raises ApiError."""
    if method != "POST" and _is_mutation(request):
        raise ApiError(405, "mutations are only accepted over POST")
    result = graphql_sync(
        SCHEMA,
        request.query,
        context_value=Context(store, sort_tags),
        variable_values=request.variables,
        operation_name=request.operation_name,
    )
    formatted = dict(result.formatted)
    if result.data is None and result.errors and all(e.path is None for e in result.errors):
        del formatted["data"]  # the operation never ran (syntax, validation, variables)
    return formatted


def error_payload(error: ApiError) -> JSONObject:
    """A request-level failure in GraphQL's own shape."""
    return {"errors": [{"message": error.message}]}

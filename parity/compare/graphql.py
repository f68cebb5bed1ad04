"""GraphQL answers as clients read them: ``data`` exactly, each error by its ``path`` and
``extensions.code``; wording, ``locations`` and other extensions only under
``graphql_strict``, as servers word the same error differently."""

from __future__ import annotations

from typing import Any, Final

import orjson

from parity.compare.rules import Rules
from parity.traffic.exchange import Response

__all__ = [
    "ERRORS_RULE",
    "STATUS_RULE",
    "as_clients_read",
    "invalid_document",
    "is_graphql",
    "profile",
]


def is_graphql(endpoint: str) -> bool:
    """Whether an endpoint name (``graphql query GetUser``) names GraphQL operations."""
    return endpoint.startswith("graphql ")


def profile(endpoint: str, rules: Rules) -> str:
    """The comparison profile an endpoint's answers get: ``json``, ``graphql`` or
    ``graphql strict``."""
    if not is_graphql(endpoint):
        return "json"
    return "graphql strict" if rules.graphql_strict else "graphql"


STATUS_RULE: Final = (
    "graphql: 200 and 400 both answer a document that did not validate (GraphQL over HTTP); "
    "counted with graphql_strict"
)

ERRORS_RULE: Final = (
    "graphql: error wording, locations and extensions other than code are compared with "
    "graphql_strict"
)


def invalid_document(expected: Response, actual: Response) -> bool:
    """Whether both answers are 200 or 400 carrying errors and no data: a document the
    server refused before running it."""
    if {expected.status, actual.status} != {200, 400}:
        return False
    for response in (expected, actual):
        try:
            document = orjson.loads(response.body.content)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(document, dict) or not document.get("errors"):
            return False
        if document.get("data") is not None:
            return False
    return True


def as_clients_read(expected: Any, actual: Any) -> tuple[Any, Any] | None:
    """Two GraphQL answers with each error cut down to what clients act on (its path, and
    its extensions.code where both sides give one), or None when neither has errors."""
    if type(expected) is not dict or type(actual) is not dict:
        return None
    mine, theirs = expected.get("errors"), actual.get("errors")
    if type(mine) is not list and type(theirs) is not list:
        return None

    def cut(errors: Any, other: Any) -> Any:
        if type(errors) is not list:
            return errors
        others = other if type(other) is list else []
        read = []
        for index, error in enumerate(errors):
            if type(error) is not dict:
                read.append(error)
                continue
            kept: dict[str, Any] = {"path": error.get("path")}
            counterpart = others[index] if index < len(others) else None
            code, other_code = _code(error), _code(counterpart)
            if code is not None and other_code is not None:
                kept["extensions"] = {"code": code}
            read.append(kept)
        return read

    def read(document: dict[str, Any], errors: Any, other: Any) -> dict[str, Any]:
        seen = {**document, "errors": cut(errors, other)} if "errors" in document else document
        # "data": null and no "data" at all say the same to a client: nothing ran (the spec
        # leaves "data" out for a request that failed before execution; some servers don't).
        if "data" in seen and seen["data"] is None:
            seen = {key: value for key, value in seen.items() if key != "data"}
        return seen

    return read(expected, mine, theirs), read(actual, theirs, mine)


def _code(error: Any) -> Any:
    extensions = error.get("extensions") if type(error) is dict else None
    return extensions.get("code") if type(extensions) is dict else None

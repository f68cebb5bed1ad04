"""What a GraphQL request over HTTP asks the server to run.

Both the endpoint's name (``graphql query GetUser``) and the safety check
(may this request be sent again?) read a GraphQL request the same way, so they
never disagree: `read` finds the operations a request would execute, or says
in a few words why it cannot (`Unreadable`). It follows the GraphQL over HTTP
conventions servers implement:

- ``GET``: the document, ``operationName`` and ``extensions`` in the query
  string;
- ``POST`` with a JSON body, whatever its content type says: one request
  object, or a list of them (a batch);
- ``POST`` with ``application/graphql``: the body is the document.

Everything else a server might accept (a urlencoded or multipart body, a
document in the URL of a POST, Relay's ``doc_id``) is `Unreadable`: Parity
does not guess what such a request runs. A persisted operation sent without
its document (``extensions.persistedQuery``) is read as an `Operation` of kind
``persisted``: its name is known, its type is not.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Final

import orjson

from parity.traffic.exchange import Request

__all__ = ["Operation", "Unreadable", "read"]

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HASH: Final = re.compile(r"[0-9a-fA-F]{8,}")
#: Keys with which Relay and other clients name a persisted document by id.
_DOCUMENT_IDS: Final = ("doc_id", "documentId", "document_id", "id")
#: Bodies some servers accept that are not read: what they run is not guessed. Any other
#: type is read as JSON (clients send JSON as text/plain to avoid a CORS preflight).
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
_BOM: Final = b"\xef\xbb\xbf"


class Unreadable(Exception):
    """A GraphQL request Parity cannot read to the operation it runs.

    `short` names the problem in an endpoint's name (``graphql invalid: not
    JSON``); the message says it in a sentence.
    """

    def __init__(self, short: str, message: str) -> None:
        super().__init__(message)
        self.short = short


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation a request runs: ``query``, ``mutation``, ``subscription``, or
    ``persisted`` (sent by its hash, its type unknown)."""

    kind: str
    #: The operation's name; for an anonymous one ``anonymous-`` and a hash of its
    #: printed form, for a persisted one without a name the hash's first characters.
    name: str


def read(request: Request) -> tuple[bool, list[Operation]]:
    """Whether `request` is a batch, and the operations it runs, in order.

    Raises `Unreadable` when the request cannot be read that far.
    """
    method = request.method.upper()
    if method == "GET":
        return False, [_get(request)]
    if method != "POST":
        raise Unreadable("method", f"a GraphQL request by {method} is not read")
    if request.query.get("query") is not None:
        raise Unreadable(
            "document in URL", "the POST carries a GraphQL document in its URL, which is not read"
        )
    media = (request.headers.get("content-type") or "").partition(";")[0].strip().lower()
    content = request.body.content
    if request.body.truncated:
        raise Unreadable(
            "truncated", "the body was recorded truncated, so its operation is unknown"
        )
    if content.startswith(_BOM):
        raise Unreadable("byte-order mark", "the body starts with a byte-order mark")
    if media == "application/graphql":
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise Unreadable("not UTF-8", "the GraphQL document is not UTF-8") from None
        return False, [
            _operation({"query": text, "operationName": request.query.get("operationName")})
        ]
    if media in _FORM_TYPES:
        raise Unreadable(
            "body type",
            f"a GraphQL body of type {media} is not read (only JSON and application/graphql)",
        )
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise Unreadable("not JSON", f"the body is not JSON Parity can read ({error})") from None
    if isinstance(payload, list):
        if not payload:
            raise Unreadable("empty batch", "the batch holds no request")
        return True, [_operation(item) for item in payload]
    return False, [_operation(payload)]


def _get(request: Request) -> Operation:
    query = request.query
    extensions: Any = query.get("extensions")
    if extensions is not None:
        try:
            extensions = orjson.loads(extensions)
        except orjson.JSONDecodeError:
            raise Unreadable("extensions", "the extensions parameter is not JSON") from None
    payload = {
        "query": query.get("query"),
        "operationName": query.get("operationName"),
        "extensions": extensions,
    }
    for key in _DOCUMENT_IDS:
        if query.get(key) is not None:
            payload[key] = query.get(key)
    return _operation(payload)


def _operation(payload: Any) -> Operation:
    """The operation one GraphQL request object runs."""
    if not isinstance(payload, dict):
        raise Unreadable("not an object", "a GraphQL request must be a JSON object")
    document, name = payload.get("query"), payload.get("operationName")
    if name == "":
        name = None
    if name is not None and not (isinstance(name, str) and _NAME.fullmatch(name)):
        raise Unreadable("operationName", f"operationName {name!r} is not a GraphQL name")
    if document is None:
        extensions = payload.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if isinstance(digest, str) and _HASH.fullmatch(digest):
            return Operation("persisted", name or digest[:8])
        if any(payload.get(key) is not None for key in _DOCUMENT_IDS):
            raise Unreadable(
                "document id", "the request names its document by id; the document is not in it"
            )
        raise Unreadable("no document", "the request holds no GraphQL document")
    if not isinstance(document, str):
        raise Unreadable("document type", "the GraphQL document is not a string")
    operations, digest = _parse(document)
    chosen = [op for op in operations if name is None or op[1] == name]
    if not chosen:
        raise Unreadable(
            "no such operation", f"operationName {name!r} names no operation in the document"
        )
    if len(chosen) > 1:
        raise Unreadable(
            "several operations",
            f"the document holds {len(chosen)} operations and the request names none",
        )
    kind, op_name = chosen[0]
    return Operation(kind, op_name or "anonymous-" + digest[:8])


@functools.lru_cache(maxsize=1024)
def _parse(document: str) -> tuple[tuple[tuple[str, str | None], ...], str]:
    """The (type, name) of each operation in `document` and, when one is anonymous,
    the hash of its printed form."""
    # Imported when a document is first read: a tenth of a second that a process meeting
    # no GraphQL (a replay of REST traffic, `parity ls`) saves.
    import graphql

    try:
        ast = graphql.parse(document, no_location=True)
    except graphql.GraphQLError as error:
        if "too deeply" in error.message:
            raise Unreadable(
                "too deep", "the GraphQL document is nested deeper than the parser reads"
            ) from None
        raise Unreadable(
            "syntax error", f"the GraphQL document does not parse ({error.message})"
        ) from None
    except RecursionError:
        raise Unreadable(
            "too deep", "the GraphQL document is nested deeper than the parser reads"
        ) from None
    operations = tuple(
        (node.operation.value, None if node.name is None else node.name.value)
        for node in ast.definitions
        if isinstance(node, graphql.OperationDefinitionNode)
    )
    if not operations:
        raise Unreadable("no operation", "the GraphQL document defines no operation")
    digest = ""
    if any(name is None for _, name in operations):
        try:
            printed = graphql.print_ast(ast).encode("utf-8", "surrogatepass")
        except RecursionError:
            raise Unreadable(
                "too deep", "the GraphQL document is nested deeper than the printer writes"
            ) from None
        digest = hashlib.sha256(printed).hexdigest()
    return operations, digest

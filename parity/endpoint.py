"""Endpoint identity: which endpoint a recorded request belongs to.

Sampling, certification and routing all group exchanges by the string that
`identify` returns, so it is stable across recordings, cheap enough to run on
every exchange, and never raises, whatever bytes the request holds.

A REST request is named by its method and route (``GET /api/users/{id}``): a
declared template when one matches, otherwise the path with identifier-like
segments replaced by placeholders. A GraphQL request is named by its operation
(``graphql query GetUser``); any GraphQL request that cannot be named falls in
the single ``graphql invalid`` bucket.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import graphql
import orjson

from parity.detectors import SHORTEST, Kind, find
from parity.errors import UsageError
from parity.exchange import Request
from parity.pseudonym import redacted, url_safe

__all__ = [
    "DEFAULT_RULES",
    "EndpointRules",
    "identify",
    "matches",
    "named_markers",
    "unsafe_reason",
]

_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_INVALID = "graphql invalid"

_PLACEHOLDER = re.compile(r"(\{[^{}/]*\})")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UUID_HEX = re.compile(r"[0-9a-fA-F]{32}")
_HEX = re.compile(r"[0-9a-fA-F]{16,}")
_TOKEN = re.compile(
    r"(?=[^0-9]*[0-9])(?=[^A-Za-z]*[A-Za-z])"
    r"(?:[A-Za-z0-9+/=_-]+|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)"
)
_HASH_PREFIX = re.compile(r"[0-9a-fA-F]{8,}")
#: The sanitiser's markers, in both forms, and the placeholder each stands for.
_MARKED = {
    form: "{token}" if kind.secret else f"{{{kind.value}}}"
    for kind in Kind
    for form in (redacted(kind), url_safe(redacted(kind)))
}


def _segments(path: str) -> list[str]:
    """The non-empty segments of `path`: repeated and trailing slashes do not count."""
    return [segment for segment in path.partition("?")[0].split("/") if segment]


def _compile_template(template: str) -> tuple[str | None, str, str]:
    """The method (None for any), route and regex source of one declared template."""

    def bad(problem: str) -> UsageError:
        return UsageError(f"endpoint template {template!r} {problem}")

    method: str | None = None
    path = template.strip()
    if not path.startswith("/") and " " in path:
        head, _, path = path.partition(" ")
        method, path = head.upper(), path.strip()
        if method not in _METHODS:
            raise bad(f"has unknown method {head!r}; use one of {', '.join(sorted(_METHODS))}")
    if not path.startswith("/"):
        raise bad("must start with '/', as in '/api/users/{id}' or 'GET /api/users/{id}'")
    segments = _segments(path)
    names: set[str] = set()
    parts: list[str] = []
    for index, segment in enumerate(segments):
        pieces = _PLACEHOLDER.split(segment)
        regex = ""
        for position, piece in enumerate(pieces):
            if position % 2 == 0:
                if "{" in piece or "}" in piece:
                    raise bad("has an unbalanced brace; write each placeholder as {name}")
                regex += re.escape(piece)
                continue
            name, colon, kind = piece[1:-1].partition(":")
            if not _NAME.fullmatch(name):
                raise bad(f"has an invalid placeholder {piece}; name it like {{user_id}}")
            if name in names:
                raise bad(f"uses placeholder {{{name}}} twice; give each placeholder its own name")
            names.add(name)
            if not colon:
                regex += "[^/]+"
            elif kind != "path":
                raise bad(
                    f"has placeholder {piece} of unknown kind; use {{{name}}} or {{{name}:path}}"
                )
            elif index != len(segments) - 1 or len(pieces) != 3 or pieces[0] or pieces[2]:
                raise bad(f"may use {piece} only as its whole last segment; move it to the end")
            else:
                regex += ".+"
        parts.append(regex)
    return method, "/" + "/".join(segments), "/" + "/".join(parts)


def _matcher(compiled: list[tuple[str, str]]) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """One regex trying each (route, regex) in order; the matching group's index names it."""
    if not compiled:
        return None
    pattern = re.compile("|".join(f"({regex})" for _, regex in compiled))
    return pattern, tuple(route for route, _ in compiled)


@dataclass(frozen=True, slots=True)
class EndpointRules:
    """How to name endpoints: declared route templates and where GraphQL is served.

    `templates` are tried in order before inference; a template may be limited to
    one method (``"GET /api/users/{id}/progress"``). ``{name}`` matches one path
    segment, a final ``{name:path}`` one or more. Requests to `graphql_paths` are
    named by their GraphQL operation. Invalid rules raise `UsageError`.
    """

    templates: tuple[str, ...] = ()
    graphql_paths: tuple[str, ...] = ("/graphql",)
    _by_method: Mapping[str, tuple[re.Pattern[str], tuple[str, ...]] | None] = field(
        init=False, repr=False, compare=False
    )
    _any_method: tuple[re.Pattern[str], tuple[str, ...]] | None = field(
        init=False, repr=False, compare=False
    )
    _graphql: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("templates", "graphql_paths"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(item, str) for item in value):
                raise UsageError(f"endpoint rule {name} must be a list of strings, not {value!r}")
            object.__setattr__(self, name, tuple(value))
        compiled = [_compile_template(template) for template in self.templates]
        by_method = {
            method: _matcher(
                [(route, rx) for only, route, rx in compiled if only in (None, method)]
            )
            for method in _METHODS
        }
        object.__setattr__(self, "_by_method", by_method)
        any_method = _matcher([(route, rx) for only, route, rx in compiled if only is None])
        object.__setattr__(self, "_any_method", any_method)
        for path in self.graphql_paths:
            if not path.startswith("/"):
                raise UsageError(f"GraphQL path {path!r} must start with '/', as in '/graphql'")
        graphql_routes = frozenset("/" + "/".join(_segments(path)) for path in self.graphql_paths)
        object.__setattr__(self, "_graphql", graphql_routes)


DEFAULT_RULES = EndpointRules()


def identify(request: Request, rules: EndpointRules = DEFAULT_RULES) -> str:
    """The endpoint `request` belongs to, such as ``GET /api/users/{id}``."""
    method = request.method.upper()
    segments = _segments(request.path)
    route = "/" + "/".join(segments)
    if route in rules._graphql and method in ("GET", "POST"):
        try:
            return _identify_graphql(method, request)
        except Exception:  # the GraphQL parser and JSON decoder see hostile input
            return _INVALID
    matcher = rules._by_method.get(method, rules._any_method)
    if matcher is not None:
        found = matcher[0].fullmatch(route)
        if found is not None and found.lastindex is not None:
            return f"{method} {matcher[1][found.lastindex - 1]}"
    return f"{method} /" + "/".join([_infer(segment) for segment in segments])


def named_markers(endpoint: str) -> str:
    """An endpoint's name with the sanitiser's markers in its path named by their kind:
    a name sanitised after it was made (``GET /basic-auth/quinn/redacted-token``) reads
    as one made from the sanitised request (``GET /basic-auth/quinn/{token}``)."""
    method, space, path = endpoint.partition(" ")
    if not path.startswith("/") or "redacted" not in path:
        return endpoint
    return method + space + "/".join(_MARKED.get(part, part) for part in path.split("/"))


def _infer(segment: str) -> str:
    """A placeholder for an identifier-like segment, or the segment itself.

    A segment holding personal data or a secret (``/users/ann@example.com``) is
    named by its kind (``{email}``), and so is the sanitiser's stand-in for it,
    marker or pseudonym: an endpoint's name never holds a value, and a recorded
    request is named the same before and after sanitising.
    """
    text = unquote(segment) if "%" in segment else segment
    if text.isascii() and text.isdigit():
        return "{id}"
    kind = _MARKED.get(text)
    if kind is not None:
        return kind
    if len(text) >= SHORTEST:
        found = find(text)
        if found:
            return "{token}" if found[0].kind.secret else f"{{{found[0].kind.value}}}"
    if len(text) < 16:
        return segment
    if _UUID.fullmatch(text) or _UUID_HEX.fullmatch(text):
        return "{uuid}"
    if _HEX.fullmatch(text):
        return "{hash}"
    if len(text) >= 20 and _TOKEN.fullmatch(text):
        return "{token}"
    return segment


def _identify_graphql(method: str, request: Request) -> str:
    query = request.query
    if method == "GET":
        extensions = query.get("extensions")
        payload = {
            "query": query.get("query"),
            "operationName": query.get("operationName"),
            "extensions": None if extensions is None else orjson.loads(extensions),
        }
        return "graphql " + _operation(payload, " ")
    media_type = (request.headers.get("content-type") or "").partition(";")[0].strip().lower()
    if media_type == "application/graphql":
        text = request.body.text()
        if text is None:
            return _INVALID
        return "graphql " + _operation(
            {"query": text, "operationName": query.get("operationName")}, " "
        )
    body = orjson.loads(request.body.content)
    if isinstance(body, list) and body:
        return "graphql batch " + "+".join(_operation(item, ":") for item in body)
    return "graphql " + _operation(body, " ")


def _operation(payload: Any, sep: str) -> str:
    """``type<sep>Name`` of the operation one GraphQL request payload runs, or ``invalid``."""
    if not isinstance(payload, dict):
        return "invalid"
    document, name = payload.get("query"), payload.get("operationName")
    if name == "":
        name = None
    elif name is not None and not (isinstance(name, str) and _NAME.fullmatch(name)):
        return "invalid"
    if document is None:
        extensions = payload.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(digest, str) or not _HASH_PREFIX.fullmatch(digest):
            return "invalid"
        return f"persisted{sep}{name or digest[:8]}"
    if not isinstance(document, str):
        return "invalid"
    parsed = _parse(document)
    if parsed is None:
        return "invalid"
    operations, digest = parsed
    chosen = [op for op in operations if name is None or op[1] == name]
    if len(chosen) != 1:
        return "invalid"
    kind, op_name = chosen[0]
    return f"{kind}{sep}{op_name or 'anonymous-' + digest[:8]}"


@functools.lru_cache(maxsize=1024)
def _parse(document: str) -> tuple[tuple[tuple[str, str | None], ...], str] | None:
    """The (type, name) of each operation in `document` and, when one is anonymous,
    the hash of its printed form; None when it does not parse or has no operation."""
    try:
        ast = graphql.parse(document, no_location=True)
        operations = tuple(
            (node.operation.value, None if node.name is None else node.name.value)
            for node in ast.definitions
            if isinstance(node, graphql.OperationDefinitionNode)
        )
        digest = ""
        if any(name is None for _, name in operations):
            printed = graphql.print_ast(ast).encode("utf-8", "surrogatepass")
            digest = hashlib.sha256(printed).hexdigest()
    except Exception:  # syntax errors, and recursion limits on pathological nesting
        return None
    return (operations, digest) if operations else None


def matches(identity: str, pattern: str) -> bool:
    """Whether `identity` matches the glob `pattern` (``*``, ``?``, ``[...]``; case-sensitive).

    ``*`` also matches spaces and slashes: ``"GET /api/users/*"`` matches every
    route under it and ``"graphql query *"`` every GraphQL query.
    """
    return fnmatch.fnmatchcase(identity, pattern)


_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def unsafe_reason(method: str, endpoint: str) -> str | None:
    """Why replaying this request could change the target's state, or None if it cannot.

    GraphQL is judged by its operation: queries are safe over POST, mutations
    are not, and a persisted query's type cannot be known from the request.
    """
    if endpoint.startswith("graphql "):
        if " mutation" in endpoint or "mutation:" in endpoint:
            return "a GraphQL mutation changes state"
        if endpoint.startswith("graphql persisted") and method in _STATE_CHANGING:
            return "a persisted GraphQL operation may be a mutation"
        return None
    if method.upper() in _STATE_CHANGING:
        return f"{method.upper()} changes state"
    return None

"""Endpoint identity: which endpoint a recorded request belongs to.

Sampling, certification and routing all group exchanges by the string that
`identify` returns, so it is stable across recordings, cheap enough to run on
every exchange, and never raises, whatever bytes the request holds.

A REST request is named by its method and route (``GET /api/users/{id}``): a
declared template when one matches, otherwise the path with identifier-like
segments replaced by placeholders. A GraphQL request is named by its operation
(``graphql query GetUser``, see `parity.traffic.graphql`); one that cannot be named
is ``graphql invalid:`` and why (``graphql invalid: not JSON``).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

import parity.traffic.graphql as graphqlreq
from parity.errors import UsageError
from parity.traffic.detectors import SHORTEST, find
from parity.traffic.exchange import Request
from parity.traffic.kinds import Kind
from parity.traffic.markers import redacted, url_safe

__all__ = [
    "DEFAULT_RULES",
    "EndpointRules",
    "describes",
    "identify",
    "matches",
    "named_markers",
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

    def is_graphql(self, path: str) -> bool:
        """Whether requests to `path` are GraphQL requests, named by their operation."""
        return "/" + "/".join(_segments(path)) in self._graphql


DEFAULT_RULES = EndpointRules()


def identify(request: Request, rules: EndpointRules = DEFAULT_RULES) -> str:
    """The endpoint `request` belongs to, such as ``GET /api/users/{id}``."""
    method = request.method.upper()
    segments = _segments(request.path)
    route = "/" + "/".join(segments)
    if rules.is_graphql(route) and method in ("GET", "POST"):
        try:
            return _identify_graphql(request)
        except Exception:  # a bug in reading hostile input must not stop a recorder
            return f"{_INVALID}: unreadable"
    matcher = rules._by_method.get(method, rules._any_method)
    if matcher is not None:
        found = matcher[0].fullmatch(route)
        if found is not None and found.lastindex is not None:
            return f"{method} {matcher[1][found.lastindex - 1]}"
    return f"{method} /" + "/".join([_infer(segment) for segment in segments])


def describes(endpoint: str, request: Request, rules: EndpointRules = DEFAULT_RULES) -> bool:
    """Whether the name `endpoint` (from a record, or a file imported) fits `request`: the
    name `identify` gives it, or a REST name of its method whose route matches its path.

    A stored name is trusted only this far: where it decides anything about sending a
    request (the ``safe`` list), a name that does not fit is replaced by the request's
    own.
    """
    if endpoint == identify(request, rules):
        return True
    method, _, route = endpoint.partition(" ")
    if method != request.method.upper() or not route.startswith("/"):
        return False
    try:
        _, _, regex = _compile_template(route)
    except UsageError:
        return False
    return _regex(regex).fullmatch("/" + "/".join(_segments(request.path))) is not None


@functools.lru_cache(maxsize=1024)
def _regex(source: str) -> re.Pattern[str]:
    return re.compile(source)


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


def _identify_graphql(request: Request) -> str:
    try:
        batch, operations = graphqlreq.read(request)
    except graphqlreq.Unreadable as problem:
        return f"{_INVALID}: {problem.short}"
    if batch:
        return "graphql batch " + "+".join(f"{op.kind}:{op.name}" for op in operations)
    return f"graphql {operations[0].kind} {operations[0].name}"


def matches(identity: str, pattern: str) -> bool:
    """Whether `identity` matches the glob `pattern` (``*``, ``?``, ``[...]``; case-sensitive).

    ``*`` also matches spaces and slashes: ``"GET /api/users/*"`` matches every
    route under it and ``"graphql query *"`` every GraphQL query.
    """
    return fnmatch.fnmatchcase(identity, pattern)

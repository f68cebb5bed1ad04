"""Whether a request may be sent again: shown to change nothing, or not.

Replays, noise runs and the gateway's mirror send recorded or live requests to
a candidate. A request is sent without the user's say-so only when Parity can
show, from the request itself, that it asks for nothing to change:

- its method is one of HTTP's safe methods (GET, HEAD, OPTIONS, TRACE), after
  honouring the method-override headers and ``_method`` parameter that
  frameworks use to tunnel other methods through a GET or a POST;
- and, for a GraphQL request (a GET or POST to a GraphQL path), every
  operation it runs is read (`parity.traffic.graphql`) and is a query.

Anything else is unsafe, with a reason: a state-changing or unknown method, a
mutation or subscription, a persisted operation whose document is not in the
request, a batch with any such part, a body or document Parity cannot read.
The stored endpoint name is never consulted: a record or an imported file can
say anything.
"""

from __future__ import annotations

from typing import Final

import parity.traffic.graphql as graphqlreq
from parity.traffic.endpoint import DEFAULT_RULES, EndpointRules
from parity.traffic.exchange import Request

__all__ = ["SAFE_METHODS", "effective_method", "unsafe_reason"]

#: RFC 9110 section 9.2.1: methods whose semantics are read-only.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_STATE_CHANGING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Headers with which clients tunnel a method through another (Rails, Laravel, Google
#: APIs, ASP.NET, Symfony).
_OVERRIDE_HEADERS: Final = ("x-http-method-override", "x-http-method", "x-method-override")
_OVERRIDES: Final = frozenset(_OVERRIDE_HEADERS)
_OVERRIDE_PARAMETERS: Final = ("_method",)


def effective_method(request: Request) -> tuple[str, str | None]:
    """The method a service may act on, upper case, and what overrode the request's own
    (``"header X-HTTP-Method-Override"``), or None."""
    # The values of the override headers, in one pass over the headers (this runs for
    # every exchange planned and sent). A header sent more than once may be read by the
    # service at any of its values: an unsafe one among them is the one taken.
    given: dict[str, list[str]] = {}
    for field, value in request.headers:
        folded = field.lower()
        if folded in _OVERRIDES and value.strip():
            given.setdefault(folded, []).append(value.strip().upper())
    for name in _OVERRIDE_HEADERS if given else ():
        values = given.get(name)
        if values:
            unsafe = (value for value in values if value not in SAFE_METHODS)
            return next(unsafe, values[0]), f"header {name}"
    for name in _OVERRIDE_PARAMETERS:
        parameter = request.query.get(name)
        if parameter is not None and parameter.strip():
            return parameter.strip().upper(), f"parameter {name}"
    return request.method.upper(), None


def unsafe_reason(request: Request, rules: EndpointRules = DEFAULT_RULES) -> str | None:
    """Why sending `request` again could change the target's state, or None when it is
    shown that it cannot. `rules` says which paths serve GraphQL."""
    method, override = effective_method(request)
    sent = request.method.upper()
    if override is not None and method != sent and not SAFE_METHODS.issuperset((method, sent)):
        return f"{sent} overridden to {method} by its {override}: {_method_reason(method)}"
    if rules.is_graphql(request.path) and sent in ("GET", "POST"):
        return _graphql_reason(request)
    if method not in SAFE_METHODS:
        return _method_reason(method)
    return None


def _method_reason(method: str) -> str:
    if method in _STATE_CHANGING:
        return f"{method} changes state"
    if method in SAFE_METHODS:
        return f"{method} is safe, but the method it was sent with is not"
    return f"{method} is not one of HTTP's safe methods (GET, HEAD, OPTIONS, TRACE)"


def _graphql_reason(request: Request) -> str | None:
    try:
        batch, operations = graphqlreq.read(request)
    except graphqlreq.Unreadable as problem:
        return f"a GraphQL request Parity cannot read is not shown to be a query: {problem}"
    where = " in the batch" if batch else ""
    for operation in operations:
        if operation.kind == "mutation":
            return f"a GraphQL mutation changes state ({operation.name}{where})"
        if operation.kind == "persisted":
            return (
                f"a persisted GraphQL operation ({operation.name}{where}) is sent without its "
                "document, so it is not shown to be a query"
            )
        if operation.kind != "query":
            return (
                f"a GraphQL {operation.kind} is not shown to change nothing "
                f"({operation.name}{where})"
            )
    return None

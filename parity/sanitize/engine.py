"""Sanitising one exchange: no secret or personal data leaves it, and relations survive.

Two passes over the whole exchange (headers, query, path and bodies of the
request and the response):

1. **Find.** Credential headers are dropped; values under sensitive names
   (a JSON key, form field or query parameter such as ``email`` or
   ``password``, see `parity.traffic.fieldnames.kind_of_field`) and values the
   detectors recognise anywhere are each given a stand-in: a redaction
   marker for secrets, a keyed pseudonym (`parity.sanitize.pseudonym`) for
   personal data.
2. **Replace.** Every occurrence of every value found, anywhere in the
   exchange, is replaced by its stand-in: a name caught in a ``name`` field
   does not survive in a ``notes`` sentence, a URL or the response, and a
   dropped session cookie's value is removed from the body that echoes it.

Nothing changes when nothing is found: bodies keep their bytes. JSON that
changes is written back compactly with orjson. The record's ``meta`` says
what was changed, by which rule, under which key (by fingerprint only).

Pass one is `parity.sanitize.findings`, pass two `parity.sanitize.replacing`
and `parity.sanitize.bodyreplacing`; the `Sanitiser` here runs both over each
exchange and writes the record's account of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from parity.sanitize.bodies import Parsed
from parity.sanitize.bodyreplacing import BodyReplacing
from parity.sanitize.findings import CREDENTIAL_HEADERS
from parity.sanitize.found import Audit
from parity.sanitize.policy import Policy
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic.detectors import Finder
from parity.traffic.endpoint import named_markers
from parity.traffic.exchange import Exchange, Request, Response
from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from parity.traffic.markers import looks_made

__all__ = ["CREDENTIAL_HEADERS", "Sanitiser", "removed_credentials"]

#: How many pseudonyms a sanitiser remembers the look of.
_KEPT: Final = 65_536


class Sanitiser:
    """Sanitises exchanges under one key; a callable usable wherever a recorder takes one."""

    def __init__(
        self,
        pseudonymiser: Pseudonymiser,
        policy: Policy | None = None,
        finder: Finder | None = None,
    ) -> None:
        self.pseudonymiser = pseudonymiser
        self.policy = policy or Policy()
        self._finder = finder or Finder()
        #: Pseudonyms made, and whether the detectors take each for real data.
        self._lookalikes: dict[str, bool] = {}
        #: What pass 1 found in each body seen, by digest (see `BodyFindings._remembered`).
        self._bodies: dict[tuple[str, int], list[tuple[Kind, Any, str | None]]] = {}

    @classmethod
    def keyed_by(cls, policy: Policy, environ: Mapping[str, str] = os.environ) -> Sanitiser:
        """The sanitiser for `policy`, keyed by the environment variable it names, if set."""
        key = environ.get(policy.key_env, "")
        return cls(Pseudonymiser(key.encode() if key else None), policy)

    def __eq__(self, other: object) -> bool:
        """Two sanitisers are equal when they apply the same policy with the same key."""
        if not isinstance(other, Sanitiser):
            return NotImplemented
        return (self.policy, self.pseudonymiser.fingerprint) == (
            other.policy,
            other.pseudonymiser.fingerprint,
        )

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, exchange: Exchange) -> Exchange:
        state = self._state(exchange)
        request = exchange.request
        response = exchange.response
        # Pass 1: find what is sensitive, anywhere in the exchange.
        request_headers, query, request_body, response_headers, response_body = self._find_in(
            state, exchange
        )
        if not state.changes:
            return exchange
        # Pass 2: replace every occurrence of what was found.
        body = state.replaced_body(request_body)
        state.echoed_body(request.body, body)
        # The records are built field by field: `dataclasses.replace` costs several times
        # as much, and this runs for every exchange recorded.
        request = Request(
            request.method,
            request.scheme,
            request.host,
            request.port,
            state.replaced_path(request.path),
            state.replaced_query(query, request.query),
            state.replaced_headers(request_headers, request.body, body, request.headers),
            body,
            request.http_version,
            request.timestamp_start,
            request.timestamp_end,
        )
        if response is not None:
            assert response_headers is not None
            assert response_body is not None
            body = state.replaced_body(response_body)
            response = Response(
                response.status,
                response.reason,
                state.replaced_headers(response_headers, response.body, body, response.headers),
                body,
                response.http_version,
                response.timestamp_start,
                response.timestamp_end,
            )
            response = state.echoed_length(exchange.request.body, request.body, response)
        error = state.replaced(exchange.error) if exchange.error else exchange.error
        meta = {**exchange.meta, "sanitised": state.summary(request_body, response_body)}
        return Exchange(
            exchange.id,
            request,
            response,
            error,
            exchange.recorder_id,
            _named(state.replaced_derived(exchange.endpoint)),
            state.replaced_derived(exchange.correlation_id),
            state.replaced_derived(exchange.parent_id),
            meta,
        )

    def _state(self, exchange: Exchange, audit: Audit | None = None, fields: bool = True) -> _State:
        return _State(
            self.pseudonymiser,
            self._finder,
            self.policy,
            exchange.endpoint,
            self._lookalikes,
            self._bodies if audit is None else {},
            request=exchange.request,
            audit=audit,
            fields=fields,
        )

    @staticmethod
    def _find_in(state: _State, exchange: Exchange) -> tuple[Any, Any, Parsed, Any, Any]:
        """Pass one over the whole exchange; what pass two needs of it."""
        request, response = exchange.request, exchange.response
        state.path(request.path)
        query = state.query(request.query)
        request_headers = state.headers(request.headers, request=True)
        state.derived(exchange.endpoint, exchange.correlation_id, exchange.parent_id)
        request_body = Parsed.of(request.headers, request.body, request=True)
        state.body(request_body, "request body")
        response_headers = response_body = None
        if response is not None:
            response_headers = state.headers(response.headers)
            response_body = Parsed.of(response.headers, response.body)
            state.body(response_body, "response body")
        if exchange.error:
            state.where = "error"
            state.text(exchange.error)
        state.finished()
        return request_headers, query, request_body, response_headers, response_body

    def audit(self, exchange: Exchange, audit: Audit, *, fields: bool = True) -> None:
        """Pass one alone, each finding told to `audit` with where it is: what `parity
        scan` reports. Without `fields`, values are judged by the detectors only (a
        record sanitised already holds pseudonyms under its sensitive names)."""
        self._find_in(self._state(exchange, audit, fields), exchange)


class _State(BodyReplacing):
    """Both passes over one exchange: `Findings`, then the replacing; and its account."""

    def _lookalike(self, made: str) -> bool:
        known = self._lookalikes.get(made)
        if known is None:
            if len(self._lookalikes) >= _KEPT:
                self._lookalikes.clear()
            known = self._lookalikes[made] = not looks_made(made) and bool(self._find(made))
        return known

    def summary(self, *bodies: Parsed | None) -> dict[str, Any]:
        """The record's account of its sanitising. Pseudonyms the detectors would take for
        real data (a phone number stays phone-shaped) are listed, so that an audit
        (`parity scan`) can tell them from what was missed; they reveal nothing. Bodies
        that could not be read whole are named, with why their content was dropped."""
        summary: dict[str, Any] = {
            "policy": self._policy.fingerprint,
            "key": self._pseudonymiser.fingerprint,
            "changed": dict(sorted(self._counts.items())),
        }
        for side, parsed in zip(("request", "response"), bodies, strict=False):
            if parsed is not None and parsed.kind == "unreadable":
                summary.setdefault("dropped_bodies", {})[side] = parsed.reason
        lookalikes = [made for made in self._made if self._lookalike(made)]
        if lookalikes:
            summary["pseudonyms"] = sorted(lookalikes)
        if self.callers and self._pseudonymiser.keyed:
            # Who asked, as a keyed digest of the credentials removed: requests of one
            # caller can be told from another's (noise learning needs it), nothing more.
            summary["credential"] = self._pseudonymiser.hashed("\n".join(sorted(self.callers)))
        return summary


def _named(endpoint: str | None) -> str | None:
    return named_markers(endpoint) if endpoint else endpoint


#: Credential-named headers only a response carries: their removal says nothing of the caller.
_RESPONSE_ONLY: Final = frozenset({"set-cookie", "set-cookie2", "www-authenticate"})


def removed_credentials(exchange: Exchange) -> list[str]:
    """The credential headers (lower case; ``cookie`` for any cookie) the sanitiser removed
    from this exchange's request, by the record's own account (``meta.sanitised``): one of
    `CREDENTIAL_HEADERS`, or another header named as a credential, that the stored request
    no longer holds."""
    sanitised = exchange.meta.get("sanitised")
    changed = sanitised.get("changed") if isinstance(sanitised, Mapping) else None
    if not isinstance(changed, Mapping):
        return []
    headers = exchange.request.headers
    removed: list[str] = []
    for rule in changed:
        if rule.startswith("cookie:"):
            name = "cookie"
        elif rule.startswith("header:"):
            name = rule.removeprefix("header:")
            named = name in CREDENTIAL_HEADERS or kind_of_field(name) is not None
            if not named or name in _RESPONSE_ONLY:
                continue
        else:
            continue
        if name not in headers and name not in removed:
            removed.append(name)
    return removed

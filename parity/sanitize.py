"""Sanitising one exchange: no secret or personal data leaves it, and relations survive.

Two passes over the whole exchange (headers, query, path and bodies of the
request and the response):

1. **Find.** Credential headers are dropped; values under sensitive names
   (a JSON key, form field or query parameter such as ``email`` or
   ``password``, see `parity.detectors.kind_of_field`) and values the
   detectors recognise anywhere are each given a stand-in: a redaction
   marker for secrets, a keyed pseudonym (`parity.pseudonym`) for personal
   data.
2. **Replace.** Every occurrence of every value found, anywhere in the
   exchange, is replaced by its stand-in: a name caught in a ``name`` field
   does not survive in a ``notes`` sentence, a URL or the response, and a
   dropped session cookie's value is removed from the body that echoes it.

Nothing changes when nothing is found: bodies keep their bytes. JSON that
changes is written back compactly with orjson. The record's ``meta`` says
what was changed, by which rule, under which key (by fingerprint only).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote, quote_plus, unquote, urlencode

import orjson

from parity.detectors import Finder, Kind
from parity.exchange import Body, Exchange, Headers, Query
from parity.findings import CREDENTIAL_HEADERS, Findings, Parsed
from parity.jsonedit import DROPPED, rewrite, rewrite_at_paths
from parity.policy import Action, Policy
from parity.pseudonym import Pseudonymiser, looks_made

__all__ = ["CREDENTIAL_HEADERS", "Sanitiser"]

#: How many pseudonyms a sanitiser remembers the look of.
_KEPT: Final = 65_536
#: A stand-in that can replace text inside a JSON string without escaping.
_JSON_SAFE: Final = re.compile(r'[^"\\\x00-\x1f]*')


class Sanitiser:
    """Sanitises exchanges under one key; a callable usable wherever a recorder takes one."""

    def __init__(self, pseudonymiser: Pseudonymiser, policy: Policy | None = None) -> None:
        self.pseudonymiser = pseudonymiser
        self.policy = policy or Policy()
        self._finder = Finder()
        #: Pseudonyms made, and whether the detectors take each for real data.
        self._lookalikes: dict[str, bool] = {}
        #: What pass 1 found in each body seen, by digest (see `_State._remembered`).
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
        state = _State(
            self.pseudonymiser,
            self._finder,
            self.policy,
            exchange.endpoint,
            self._lookalikes,
            self._bodies,
        )
        request = exchange.request
        response = exchange.response
        # Pass 1: find what is sensitive, anywhere in the exchange.
        request_headers = state.headers(request.headers, request=True)
        query = state.query(request.query)
        state.text(unquote(request.path))
        request_body = Parsed.of(request.headers, request.body, request=True)
        state.body(request_body)
        response_headers = response_body = None
        if response is not None:
            response_headers = state.headers(response.headers)
            response_body = Parsed.of(response.headers, response.body)
            state.body(response_body)
        if exchange.error:
            state.text(exchange.error)
        state.searched()
        if not state.changes:
            return exchange
        # Pass 2: replace every occurrence of what was found.
        request = dataclasses.replace(
            request,
            headers=state.replaced_headers(request_headers),
            query=Query(state.replaced_pairs(query)),
            path=state.replaced_path(request.path),
            body=state.replaced_body(request_body),
        )
        if response is not None:
            assert response_headers is not None
            assert response_body is not None
            response = dataclasses.replace(
                response,
                headers=state.replaced_headers(response_headers),
                body=state.replaced_body(response_body),
            )
        error = state.replaced(exchange.error) if exchange.error else exchange.error
        meta = {**exchange.meta, "sanitised": state.summary()}
        return dataclasses.replace(
            exchange, request=request, response=response, error=error, meta=meta
        )


class _State(Findings):
    """Both passes over one exchange: `Findings`, then the replacing."""

    # -- pass 2 -------------------------------------------------------------------------

    def replaced(self, text: str) -> str:
        """`text` with every found value in it replaced, or its whole stand-in."""
        whole = self._whole.get(text)
        if whole is not None:
            return whole
        found = self.found
        if not found:
            return text
        stand_in = found.get(text)
        if stand_in is not None:
            return stand_in
        # Substring tests in C, longest value first: cheaper than compiling an alternation
        # of this exchange's values, which no other exchange would reuse.
        for value, stand_in in self._ordered():
            if value in text:
                text = text.replace(value, stand_in)
        return text

    def _ordered(self) -> list[tuple[str, str]]:
        """The found values, longest first (so that a value inside another goes last)."""
        if self._order is None:
            self._order = sorted(self.found.items(), key=lambda pair: -len(pair[0]))
        return self._order

    def _replaced_all(self, texts: list[str]) -> list[str]:
        """`replaced` for many short strings: found values are looked for in all of them
        at once, and only those present are replaced string by string."""
        if not self.found or not texts:
            return texts
        blob = "\n".join(texts)
        present = [(value, stand_in) for value, stand_in in self._ordered() if value in blob]
        result = []
        for text in texts:
            whole = self._whole.get(text) or self.found.get(text)
            if whole is None:
                for value, stand_in in present:
                    if value in text:
                        text = text.replace(value, stand_in)
                whole = text
            result.append(whole)
        return result

    def replaced_headers(self, kept: list[tuple[str, str, bool]]) -> Headers:
        loose = self._replaced_all([value for _, value, settled in kept if not settled])
        values = iter(loose)
        return Headers((name, value if settled else next(values)) for name, value, settled in kept)

    def replaced_pairs(self, decided: list[Any]) -> list[tuple[str, str]]:
        pairs = [pair for pair in decided if pair is not None]
        loose = iter(self._replaced_all([pair[1] for pair in pairs if not pair[2]]))
        return [(pair[0], pair[1] if pair[2] else next(loose)) for pair in pairs]

    def replaced_path(self, path: str) -> str:
        """The raw path with found values replaced, whether written plain or percent-encoded."""
        path = self.replaced(path)
        if "%" not in path and "+" not in path:
            return path
        for value, stand_in in self.found.items():
            for encoded in {quote(value, safe=""), quote(value, safe="@:+"), quote_plus(value)}:
                if encoded != value and encoded in path:
                    path = path.replace(encoded, quote(stand_in, safe="@:+"))
        return path

    def replaced_body(self, parsed: Parsed) -> Body:
        if parsed.kind == "empty":
            return parsed.body
        if parsed.kind == "json":
            content = parsed.body.content
            if parsed.decided:
                return self._replaced_at_paths(parsed)
            if self._raw_safe(content):
                replaced = self._replaced_raw(content)
                return _rebuilt(parsed.body, replaced, replaced != content)
            document, changed = rewrite(parsed.value, self._replaced_leaf)
            return self._dumped(parsed, document, changed)
        if parsed.kind == "form":
            pairs = self.replaced_pairs(parsed.decided)
            return _rebuilt(parsed.body, urlencode(pairs).encode(), pairs != parsed.value)
        text = self.replaced(parsed.value)
        if text == parsed.value:
            return parsed.body
        encoding = "utf-8" if parsed.kind == "text" else "latin-1"
        return _rebuilt(parsed.body, text.encode(encoding, "surrogateescape"), True)

    def _replaced_at_paths(self, parsed: Parsed) -> Body:
        decided: dict[str, Any] = parsed.decided

        def leaf(path: str, key: str, value: Any, kind: Kind | None) -> Any:
            if path in decided:
                choice = decided[path]
                return (
                    value if choice is Action.KEEP else DROPPED if choice is Action.DROP else choice
                )
            if isinstance(value, dict | list):
                return value
            return self._replaced_leaf(key, value, kind)

        document, changed = rewrite_at_paths(parsed.value, leaf)
        return self._dumped(parsed, document, changed)

    def _raw_safe(self, content: bytes) -> bool:
        """Whether replacing found values in the JSON text equals replacing them in its strings.

        It does when no value can hide behind an escape (the text has no
        backslash), no value is sensitive only where whole, no number is
        sensitive by its field (it must stay a number), and no stand-in would
        change a number into a string or break out of a string.
        """
        if b"\\" in content or self._whole or self._typed:
            return False
        if self._safe is None:
            self._safe = all(
                _JSON_SAFE.fullmatch(stand_in) and (not value.isdigit() or stand_in.isdigit())
                for value, stand_in in self.found.items()
            )
        return self._safe

    def _replaced_raw(self, content: bytes) -> bytes:
        if self._raw is None:
            self._raw = [(v.encode(), s.encode()) for v, s in self._ordered()]
        for value, stand_in in self._raw:
            if value in content:
                content = content.replace(value, stand_in)
        return content

    def _dumped(self, parsed: Parsed, document: Any, changed: bool) -> Body:
        if not changed:
            return parsed.body
        try:
            return _rebuilt(parsed.body, orjson.dumps(document), True)
        except orjson.JSONEncodeError:  # deeper than orjson writes: replace in the text
            text = self.replaced(parsed.body.content.decode("utf-8", "surrogateescape"))
            return _rebuilt(parsed.body, text.encode("utf-8", "surrogateescape"), True)

    def _replaced_leaf(self, key: str, value: Any, kind: Kind | None) -> Any:
        if isinstance(value, str):
            if kind is not None and value:
                return self.found.get(value) or self._whole.get(value) or self.replaced(value)
            return self.replaced(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if kind is not None:
                return self._pseudonymiser.replace_number(kind, value)
            text = str(value)
            if text in self.found:
                stand_in = self.found[text]
                return int(stand_in) if stand_in.isdigit() else stand_in
        return value

    def _lookalike(self, made: str) -> bool:
        known = self._lookalikes.get(made)
        if known is None:
            if len(self._lookalikes) >= _KEPT:
                self._lookalikes.clear()
            known = self._lookalikes[made] = not looks_made(made) and bool(self._find(made))
        return known

    def summary(self) -> dict[str, Any]:
        """The record's account of its sanitising. Pseudonyms the detectors would take for
        real data (a phone number stays phone-shaped) are listed, so that an audit
        (`parity scan`) can tell them from what was missed; they reveal nothing."""
        summary: dict[str, Any] = {
            "policy": self._policy.fingerprint,
            "key": self._pseudonymiser.fingerprint,
            "changed": dict(sorted(self._counts.items())),
        }
        lookalikes = sorted(made for made in self._made if self._lookalike(made))
        if lookalikes:
            summary["pseudonyms"] = lookalikes
        if self.callers and self._pseudonymiser.keyed:
            # Who asked, as a keyed digest of the credentials removed: requests of one
            # caller can be told from another's (noise learning needs it), nothing more.
            summary["credential"] = self._pseudonymiser.hashed("\n".join(sorted(self.callers)))
        return summary


def _rebuilt(original: Body, content: bytes, changed: bool) -> Body:
    if not changed:
        return original
    if original.truncated:  # the whole body was never seen: its size stays, its digest goes
        return Body(content, original.size, Body.of(content).sha256)
    return Body.of(content)

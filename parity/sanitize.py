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
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode

import orjson

from parity.detectors import SHORTEST, Finder, Kind, kind_of_field
from parity.exchange import Body, Exchange, Headers, Query
from parity.jsonedit import DROPPED, rewrite, rewrite_at_paths
from parity.jsonpath import child
from parity.policy import Action, Location, Mode, Policy
from parity.pseudonym import REMOVED, Pseudonymiser, looks_made, redacted

__all__ = ["CREDENTIAL_HEADERS", "Sanitiser"]

#: Headers (compared without case) that carry credentials or sessions: dropped whole.
CREDENTIAL_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-csrf-token",
        "x-xsrf-token",
        "x-amz-security-token",
        "x-goog-iap-jwt-assertion",
    }
)
#: Found values shorter than this are replaced where found, not searched for elsewhere:
#: "Al" or "12" would match inside unrelated words and numbers.
_PROPAGATED: Final = 4
#: Bodies at least this long have their findings remembered, at most this many of them.
_REMEMBERED_BODY: Final = 256
_BODIES_KEPT: Final = 4096
#: How many pseudonyms a sanitiser remembers the look of.
_KEPT: Final = 65_536
#: Dropped credentials are searched for elsewhere only when this long (session ids, tokens).
_CREDENTIAL_VALUE: Final = 8
#: A stand-in that can replace text inside a JSON string without escaping.
_JSON_SAFE: Final = re.compile(r'[^"\\\x00-\x1f]*')
_JSON_TYPES: Final = ("application/json", "+json", "application/graphql-response")
_FORM: Final = "application/x-www-form-urlencoded"


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
        request_headers = state.headers(request.headers)
        query = state.query(request.query)
        state.text(unquote(request.path))
        request_body = _Parsed.of(request.headers, request.body, request=True)
        state.body(request_body)
        response_headers = response_body = None
        if response is not None:
            response_headers = state.headers(response.headers)
            response_body = _Parsed.of(response.headers, response.body)
            state.body(response_body)
        if exchange.error:
            state.text(exchange.error)
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


@dataclasses.dataclass(slots=True)
class _Parsed:
    """A body as the sanitiser walks it: JSON, a form, text, or bytes read as Latin-1."""

    body: Body
    kind: str  # "json", "form", "text", "bytes", "empty"
    value: Any
    #: A GraphQL request (its variables are where ``graphql`` rules look).
    graphql: bool = False
    #: What policy rules decided, by JSON path; a form's pairs after its rules.
    decided: Any = None

    @classmethod
    def of(cls, headers: Headers, body: Body, *, request: bool = False) -> _Parsed:
        content = body.content
        if not content:
            return cls(body, "empty", None)
        media = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        text = body.text()
        if text is None:
            return cls(body, "bytes", content.decode("latin-1"))
        if not body.truncated and (
            any(marker in media for marker in _JSON_TYPES) or text[:1] in ("{", "[")
        ):
            try:
                document = orjson.loads(content)
            except orjson.JSONDecodeError:
                pass
            else:
                graphql = request and isinstance(document, dict) and "query" in document
                return cls(body, "json", document, graphql)
        if media == _FORM and not body.truncated:
            return cls(body, "form", parse_qsl(text, keep_blank_values=True))
        return cls(body, "text", text)


class _State:
    """What one exchange's sanitising has found so far, and the stand-ins chosen."""

    def __init__(
        self,
        pseudonymiser: Pseudonymiser,
        finder: Finder,
        policy: Policy,
        endpoint: str | None,
        lookalikes: dict[str, bool],
        bodies: dict[tuple[str, int], list[tuple[Kind, Any, str | None]]],
    ) -> None:
        self._pseudonymiser = pseudonymiser
        self._find = finder
        self._lookalikes = lookalikes
        self._bodies = bodies
        #: What pass 1 takes, while a body's findings are being remembered.
        self._log: list[tuple[Kind, Any, str | None]] | None = None
        self._policy = policy
        self._endpoint = endpoint
        #: Whether anything is to change: something found, dropped, or decided by a rule.
        self.changes = False
        #: The pseudonyms made for this exchange (see `summary`).
        self._made: set[str] = set()
        #: Each sensitive value found, and its stand-in.
        self.found: dict[str, str] = {}
        #: Values that are sensitive because of their field, replaced only where whole.
        self._whole: dict[str, str] = {}
        self.dropped: list[str] = []
        self._counts: Counter[str] = Counter()
        self._order: list[tuple[str, str]] | None = None
        self._raw: list[tuple[bytes, bytes]] | None = None
        self._safe: bool | None = None
        #: A number was found sensitive by its field: only the tree walk keeps it a number.
        self._typed = False

    # -- pass 1 -------------------------------------------------------------------------

    def _take(self, kind: Kind, value: str, rule: str) -> str:
        if self._log is not None:
            self._log.append((kind, value, rule))
        self._counts[rule] += 1
        self.changes = True
        stand_in = self.found.get(value) or self._whole.get(value)
        if stand_in is None:
            stand_in = self._pseudonymiser.replace(kind, value)
            self._made.add(stand_in)
            if len(value) >= _PROPAGATED:
                self.found[value] = stand_in
            else:
                self._whole[value] = stand_in
        return stand_in

    def text(self, text: str) -> None:
        for finding in self._find(text):
            self._take(finding.kind, finding.text, f"detector:{finding.kind.value}")

    def field(self, name: str, value: Any, inherited: Kind | None = None) -> None:
        """A value under field `name` (or below a sensitive field, `inherited`)."""
        kind = inherited or kind_of_field(name)
        if isinstance(value, str):
            if kind is not None and value:
                self._take(kind, value, f"field:{kind.value}")
            elif len(value) >= SHORTEST:
                self.text(value)
        elif isinstance(value, int) and not isinstance(value, bool) and kind is not None:
            self._take_number(kind, value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
            self.text(str(value))  # card numbers sent as JSON numbers

    def _take_number(self, kind: Kind, value: int) -> None:
        """A number under a sensitive field: it stays a number (see `_raw_safe`)."""
        if self._log is not None:
            self._log.append((kind, value, None))
        self._counts[f"field:{kind.value}"] += 1
        self.changes = True
        self._typed = True
        text = str(value)
        if len(text) >= _PROPAGATED:  # the same number written as text elsewhere
            self.found.setdefault(text, str(self._pseudonymiser.replace_number(kind, value)))

    def _ruled(self, action: Action, value: str, rule: str) -> str:
        """What a policy rule makes of `value`; the stand-in is used wherever it appears."""
        self._counts[rule] += 1
        if action is Action.KEEP:
            return value
        self.changes = True
        if action is Action.PSEUDONYMISE:
            stand_in = self._pseudonymiser.replace(Kind.PERSONAL, value)
            self._made.add(stand_in)
        elif action is Action.HASH:
            stand_in = self._pseudonymiser.hashed(value)
        else:  # REDACT, and what DROP leaves elsewhere
            stand_in = REMOVED
        if len(value) >= _PROPAGATED:
            self.found.setdefault(value, stand_in)
        return stand_in

    def headers(self, headers: Headers) -> list[tuple[str, str, bool]]:
        """The headers kept, each with whether a rule settled its value (then left alone)."""
        kept = []
        for name, value in headers:
            folded = name.lower()
            action = self._policy.named(Location.HEADER, folded, self._endpoint)
            if action is None and folded in ("cookie", "set-cookie"):
                cookies = self._cookies(folded, value)
                if cookies is not None:
                    kept.append((name, cookies, True))
                continue
            if action is None and folded in CREDENTIAL_HEADERS:
                action = Action.DROP
                for secret in _credential_values(folded, value):
                    self.found.setdefault(secret, redacted(Kind.TOKEN))
            if action is Action.DROP:
                self._ruled(Action.REDACT, value, f"header:{folded}")
                self.dropped.append(folded)
            elif action is None:
                kept.append((name, value, False))
                self.field(name, value)
            else:
                kept.append((name, self._ruled(action, value, f"header:{folded}"), True))
        return kept

    def _cookies(self, header: str, value: str) -> str | None:
        """A Cookie or Set-Cookie value with only the cookies rules keep (by default none)."""
        parts = value.split(";") if header == "cookie" else value.split(";", 1)[:1]
        kept = []
        for part in parts:
            name, _, cookie = part.strip().partition("=")
            action = self._policy.named(Location.COOKIE, name, self._endpoint) or Action.DROP
            for secret in _credential_values("cookie", part):
                if action is not Action.KEEP:
                    self.found.setdefault(secret, redacted(Kind.TOKEN))
            if action is Action.DROP:
                self._counts[f"cookie:{name.lower()}"] += 1
                self.changes = True
            else:
                kept.append(f"{name}={self._ruled(action, cookie, f'cookie:{name.lower()}')}")
        if not kept:
            self._counts[f"header:{header}"] += 1
            self.dropped.append(header)
            return None
        if header == "set-cookie":
            attributes = value.split(";", 1)[1:]
            return kept[0] + (";" + attributes[0] if attributes else "")
        return "; ".join(kept)

    def named_pairs(self, location: Location, pairs: Iterable[tuple[str, str]]) -> list[Any]:
        """Query parameters or form fields after their rules: (name, value, settled) or None."""
        decided: list[Any] = []
        for name, value in pairs:
            action = self._policy.named(location, name, self._endpoint)
            if action is None:
                if len(name) >= SHORTEST:
                    self.text(name)
                self.field(name, value)
                decided.append((name, value, False))
            elif action is Action.DROP:
                self._ruled(Action.REDACT, value, f"{location.value}:{name}")
                decided.append(None)
            else:
                decided.append((name, self._ruled(action, value, f"{location.value}:{name}"), True))
        return decided

    def query(self, query: Query) -> list[Any]:
        return self.named_pairs(Location.QUERY, query)

    def body(self, parsed: _Parsed) -> None:
        if parsed.kind == "json" and self._policy.has_paths:
            parsed.decided = self._json_at_paths(parsed.value, parsed.graphql)
            self.changes = self.changes or bool(parsed.decided)
        elif parsed.kind == "form":
            parsed.decided = self.named_pairs(Location.FORM, parsed.value)
        elif parsed.kind in ("json", "text", "bytes"):
            self._remembered(parsed)

    def _remembered(self, parsed: _Parsed) -> None:
        """Find in a JSON or text body, or repeat what was found in the same body before.

        Responses recur byte for byte (a popular item, a list page), and what a
        body holds does not depend on the rest of the exchange; so each body's
        findings are remembered by its digest and replayed when it comes again.
        """
        content = parsed.body.content
        key = (parsed.body.sha256, len(content))
        log = self._bodies.get(key) if len(content) >= _REMEMBERED_BODY else None
        if log is not None:
            for kind, value, rule in log:
                if rule is None:
                    self._take_number(kind, value)
                else:
                    self._take(kind, value, rule)
            return
        self._log = []
        try:
            if parsed.kind == "json":
                self._json(parsed.value)
            else:
                self.text(parsed.value)
        finally:
            log, self._log = self._log, None
        if len(content) >= _REMEMBERED_BODY:
            if len(self._bodies) >= _BODIES_KEPT:
                self._bodies.clear()
            self._bodies[key] = log

    def _json_at_paths(self, document: Any, graphql: bool) -> dict[str, Any]:
        """Pass 1 over JSON for a policy with path rules or in allow-list mode: what each
        rule decided, by path (KEEP, DROP, or the stand-in); the rest as `_json` does."""
        decided: dict[str, Any] = {}
        allow_list = self._policy.mode is Mode.ALLOW_LIST
        stack: list[tuple[str, str, Any, Kind | None]] = [("$", "", document, None)]
        while stack:
            path, key, value, inherited = stack.pop()
            action = self._policy.at_path(path, self._endpoint, graphql)
            if action is Action.KEEP or action is Action.DROP:
                decided[path] = action
                self._counts[f"json:{action.value}"] += 1
                continue
            if isinstance(value, dict):
                for name, item in value.items():
                    if len(name) >= SHORTEST:
                        self.text(name)
                    kind = inherited or kind_of_field(name)
                    stack.append((child(path, name), name, item, kind))
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    stack.append((child(path, index), "", item, inherited))
            elif action is not None and isinstance(value, str):
                decided[path] = self._ruled(action, value, f"json:{action.value}")
            elif action is not None or (allow_list and value is not None):
                decided[path] = self._unlisted(value, inherited, action)
            else:
                self.field(key, value, inherited)
        return decided

    def _unlisted(self, value: Any, kind: Kind | None, action: Action | None) -> Any:
        """A number or string no rule keeps in allow-list mode (or a number a rule names)."""
        if isinstance(value, bool):
            return value
        self.changes = True
        if isinstance(value, int | float):
            if action is Action.REDACT or action is Action.HASH:
                self._counts[f"json:{action.value}"] += 1
                return REMOVED
            self._counts["json:unlisted"] += 1
            return self._pseudonymiser.replace_number(kind or Kind.PERSONAL, int(value))
        return self._ruled(Action.PSEUDONYMISE, str(value), "json:unlisted")

    def _json(self, document: Any) -> None:
        # Iterative: orjson parses documents deeper than Python's recursion limit. The
        # common leaf (a short string or a number under an ordinary key) is decided
        # here without a call: this loop is most of a recorder's sanitising time.
        text, field, leaf = self.text, self.field, self._leaf
        clean = self._find.clean
        stack: list[tuple[Any, Kind | None]] = [(document, None)]
        while stack:
            value, inherited = stack.pop()
            if type(value) is list:
                for item in value:
                    if type(item) is dict or type(item) is list:
                        stack.append((item, inherited))
                    elif inherited is not None:
                        field("", item, inherited)
                    else:
                        leaf(item)
                continue
            if type(value) is not dict:
                field("", value, inherited)
                continue
            for key, item in value.items():
                if len(key) >= SHORTEST and key not in clean:
                    text(key)
                kind = inherited or kind_of_field(key)
                kind_of_item = type(item)
                if kind_of_item is dict or kind_of_item is list:
                    stack.append((item, kind))
                elif kind is not None:
                    field(key, item, kind)
                elif kind_of_item is str:
                    if len(item) >= SHORTEST and item not in clean:
                        text(item)
                elif kind_of_item is int and (item >= 10**12 or item <= -(10**12)):
                    text(str(item))  # card numbers sent as JSON numbers

    def _leaf(self, item: Any) -> None:
        """A list item under no sensitive field."""
        if type(item) is str:
            if len(item) >= SHORTEST and item not in self._find.clean:
                self.text(item)
        elif type(item) is int and (item >= 10**12 or item <= -(10**12)):
            self.text(str(item))

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

    def replaced_body(self, parsed: _Parsed) -> Body:
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

    def _replaced_at_paths(self, parsed: _Parsed) -> Body:
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

    def _dumped(self, parsed: _Parsed, document: Any, changed: bool) -> Body:
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
        return summary


def _credential_values(name: str, value: str) -> Iterable[str]:
    """The secret parts of a dropped credential header, to be removed wherever else they appear."""
    if name in ("cookie", "set-cookie"):
        parts = value.split(";") if name == "cookie" else value.split(";", 1)[:1]
        for part in parts:
            _, _, cookie = part.partition("=")
            cookie = cookie.strip().strip('"')
            if len(cookie) >= _CREDENTIAL_VALUE:
                yield cookie
        return
    token = value.split(None, 1)[-1].strip() if " " in value.strip() else value.strip()
    if len(token) >= _CREDENTIAL_VALUE:
        yield token


def _rebuilt(original: Body, content: bytes, changed: bool) -> Body:
    if not changed:
        return original
    if original.truncated:  # the whole body was never seen: its size stays, its digest goes
        return Body(content, original.size, Body.of(content).sha256)
    return Body.of(content)

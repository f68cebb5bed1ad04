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
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode

import orjson

from parity.detectors import SHORTEST, Finder, Kind, kind_of_field
from parity.exchange import Body, Exchange, Headers, Query
from parity.pseudonym import Pseudonymiser, redacted

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
#: Dropped credentials are searched for elsewhere only when this long (session ids, tokens).
_CREDENTIAL_VALUE: Final = 8
#: A stand-in that can replace text inside a JSON string without escaping.
_JSON_SAFE: Final = re.compile(r'[^"\\\x00-\x1f]*')
_JSON_TYPES: Final = ("application/json", "+json", "application/graphql-response")
_FORM: Final = "application/x-www-form-urlencoded"


class Sanitiser:
    """Sanitises exchanges under one key; a callable usable wherever a recorder takes one."""

    def __init__(self, pseudonymiser: Pseudonymiser) -> None:
        self.pseudonymiser = pseudonymiser
        self._finder = Finder()

    def __call__(self, exchange: Exchange) -> Exchange:
        state = _State(self.pseudonymiser, self._finder)
        request = exchange.request
        response = exchange.response
        # Pass 1: find what is sensitive, anywhere in the exchange.
        request_headers = state.headers(request.headers)
        state.query(request.query)
        state.text(unquote(request.path))
        request_body = _Parsed.of(request.headers, request.body)
        state.body(request_body)
        response_headers = response_body = None
        if response is not None:
            response_headers = state.headers(response.headers)
            response_body = _Parsed.of(response.headers, response.body)
            state.body(response_body)
        if exchange.error:
            state.text(exchange.error)
        if not state.found and not state.dropped:
            return exchange
        # Pass 2: replace every occurrence of what was found.
        request = dataclasses.replace(
            request,
            headers=state.replaced_headers(request_headers),
            query=Query((name, state.replaced(value)) for name, value in request.query),
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

    @classmethod
    def of(cls, headers: Headers, body: Body) -> _Parsed:
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
                return cls(body, "json", orjson.loads(content))
            except orjson.JSONDecodeError:
                pass
        if media == _FORM and not body.truncated:
            return cls(body, "form", parse_qsl(text, keep_blank_values=True))
        return cls(body, "text", text)


class _State:
    """What one exchange's sanitising has found so far, and the stand-ins chosen."""

    def __init__(self, pseudonymiser: Pseudonymiser, finder: Finder) -> None:
        self._pseudonymiser = pseudonymiser
        self._find = finder
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
        self._counts[rule] += 1
        stand_in = self.found.get(value) or self._whole.get(value)
        if stand_in is None:
            stand_in = self._pseudonymiser.replace(kind, value)
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
            self._counts[f"field:{kind.value}"] += 1
            self._typed = True
            text = str(value)
            if len(text) >= _PROPAGATED:  # the same number written as text elsewhere
                self.found.setdefault(text, str(self._pseudonymiser.replace_number(kind, value)))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
            self.text(str(value))  # card numbers sent as JSON numbers

    def headers(self, headers: Headers) -> list[tuple[str, str]]:
        kept = []
        for name, value in headers:
            folded = name.lower()
            if folded in CREDENTIAL_HEADERS:
                self.dropped.append(folded)
                self._counts[f"header:{folded}"] += 1
                for secret in _credential_values(folded, value):
                    self.found.setdefault(secret, redacted(Kind.TOKEN))
            else:
                kept.append((name, value))
                self.field(name, value)
        return kept

    def query(self, query: Query) -> None:
        for name, value in query:
            self.text(name)
            self.field(name, value)

    def body(self, parsed: _Parsed) -> None:
        if parsed.kind == "json":
            self._json(parsed.value)
        elif parsed.kind == "form":
            for name, value in parsed.value:
                self.field(name, value)
        elif parsed.kind in ("text", "bytes"):
            self.text(parsed.value)

    def _json(self, document: Any) -> None:
        # Iterative: orjson parses documents deeper than Python's recursion limit. The
        # common leaf (a short string or a number under an ordinary key) is decided
        # here without a call: this loop is most of a recorder's sanitising time.
        text, field = self.text, self.field
        clean = self._find.clean
        stack: list[tuple[Any, Kind | None]] = [(document, None)]
        while stack:
            value, inherited = stack.pop()
            if isinstance(value, dict):
                pairs: Iterable[tuple[str, Any]] = value.items()
            elif isinstance(value, list):
                pairs = (("", item) for item in value)
            else:
                field("", value, inherited)
                continue
            for key, item in pairs:
                if len(key) >= SHORTEST and key not in clean:
                    text(key)
                kind = inherited or (kind_of_field(key) if key else None)
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
        if self._order is None:
            self._order = sorted(found.items(), key=lambda pair: len(pair[0]), reverse=True)
        # Substring tests in C, longest value first: cheaper than compiling an alternation
        # of this exchange's values, which no other exchange would reuse.
        for value, stand_in in self._order:
            if value in text:
                text = text.replace(value, stand_in)
        return text

    def replaced_headers(self, kept: list[tuple[str, str]]) -> Headers:
        return Headers((name, self.replaced(value)) for name, value in kept)

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
            if self._raw_safe(content):
                replaced = self._replaced_raw(content)
                return _rebuilt(parsed.body, replaced, replaced != content)
            document, changed = _rewrite_json(parsed.value, self._replaced_leaf)
            if not changed:
                return parsed.body
            try:
                return _rebuilt(parsed.body, orjson.dumps(document), True)
            except orjson.JSONEncodeError:  # deeper than orjson writes: replace in the text
                text = content.decode("utf-8", "surrogateescape")
                return _rebuilt(
                    parsed.body, self.replaced(text).encode("utf-8", "surrogateescape"), True
                )
        if parsed.kind == "form":
            pairs = [(name, self.replaced(value)) for name, value in parsed.value]
            return _rebuilt(parsed.body, urlencode(pairs).encode(), pairs != parsed.value)
        text = self.replaced(parsed.value)
        if text == parsed.value:
            return parsed.body
        encoding = "utf-8" if parsed.kind == "text" else "latin-1"
        return _rebuilt(parsed.body, text.encode(encoding, "surrogateescape"), True)

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
            self._raw = sorted(
                ((v.encode(), s.encode()) for v, s in self.found.items()),
                key=lambda pair: len(pair[0]),
                reverse=True,
            )
        for value, stand_in in self._raw:
            if value in content:
                content = content.replace(value, stand_in)
        return content

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

    def summary(self) -> dict[str, Any]:
        return {
            "key": self._pseudonymiser.fingerprint,
            "changed": dict(sorted(self._counts.items())),
        }


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


def _rewrite_json(document: Any, leaf: Callable[[str, Any, Kind | None], Any]) -> tuple[Any, bool]:
    """`document` with every leaf and key passed through `leaf(key, value, kind)`, in place.

    Returns the document (a new one when it is itself a leaf) and whether
    anything changed. Iterative, for documents deeper than Python's recursion
    limit. The document is the sanitiser's own parse, so changing it is safe.
    """
    if not isinstance(document, dict | list):
        new = leaf("", document, None)
        return new, new != document or type(new) is not type(document)
    changed = False
    stack: list[tuple[Any, Kind | None]] = [(document, None)]
    while stack:
        value, kind = stack.pop()
        if isinstance(value, dict):
            renamed = []
            for key, item in value.items():
                child_kind = kind or kind_of_field(key)
                if isinstance(item, dict | list):
                    stack.append((item, child_kind))
                else:
                    new = leaf(key, item, child_kind)
                    if new is not item and (new != item or type(new) is not type(item)):
                        value[key] = new
                        changed = True
                new_key = leaf("", key, None)
                if new_key != key:
                    renamed.append((key, new_key))
            for key, new_key in renamed:  # keeps the other keys' order; moves renamed ones last
                value[new_key] = value.pop(key)
                changed = True
        else:
            for index, item in enumerate(value):
                if isinstance(item, dict | list):
                    stack.append((item, kind))
                else:
                    new = leaf("", item, kind)
                    if new is not item and (new != item or type(new) is not type(item)):
                        value[index] = new
                        changed = True
    return document, changed

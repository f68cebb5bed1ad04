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
import html.entities
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import quote, unquote, urlencode

import orjson

from parity.sanitize import jsontext, xmlbody
from parity.sanitize.bodies import Parsed, is_blank
from parity.sanitize.findings import CREDENTIAL_HEADERS, Findings
from parity.sanitize.found import Audit
from parity.sanitize.jsonedit import DROPPED, rewrite_at_paths, rewrite_leaves
from parity.sanitize.multipart import rebuild_multipart
from parity.sanitize.policy import Action, Policy
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic.detectors import SHORTEST, Finder
from parity.traffic.endpoint import named_markers
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from parity.traffic.markers import looks_made, url_safe

__all__ = ["CREDENTIAL_HEADERS", "Sanitiser", "removed_credentials"]

#: How many pseudonyms a sanitiser remembers the look of.
_KEPT: Final = 65_536
#: A stand-in that can replace text inside a JSON string without escaping.
_JSON_SAFE: Final = re.compile(r'[^"\\\x00-\x1f]*')
#: A redaction marker in its bracketed form (see `parity.pseudonym.url_safe`).
_MARKER: Final = re.compile(r"\[redacted(?::[a-z-]+)?\]")
_MARKER_BYTES: Final = re.compile(rb"\[redacted(?::[a-z-]+)?\]")
#: What stands before a marker where a URL puts a value: a slash, an equals sign, a
#: question mark or an ampersand (an echoed ``/users/[redacted:email]/profile``).
_URL_PLACES: Final = frozenset("/=?&")
_URL_PLACES_BYTES: Final = frozenset(b"/=?&")
#: What a path segment may hold unescaped (RFC 3986's pchar, less the percent sign).
_PATH_SAFE: Final = "!$&'()*+,;=:@-._~"


def encoded_forms(values: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for `values` written with entities or percent-escapes for their
    punctuation (``&#64;``, ``&#x40;``, ``&commat;``, ``%40``), or None when none has any."""
    alternatives = []
    for value in values:
        if value.isalnum():
            continue
        pieces = []
        for char in value:
            if char.isalnum():
                pieces.append(re.escape(char))
                continue
            code = ord(char)
            forms = [re.escape(char), f"&#0*{code};", f"&#[xX]0*{code:x};", f"%{code:02x}"]
            named = html.entities.codepoint2name.get(code)
            if named:
                forms.append(f"&{named};")
            if char == "@":
                forms.append("&commat;")
            pieces.append("(?:" + "|".join(forms) + ")")
        alternatives.append("".join(pieces))
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.I)


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
            Query(state.replaced_pairs(query, url=True)),
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
        if "&" in text or "%" in text:
            text = self._replaced_encoded(text)
        if "[redacted" in text:  # in a URL written in text, as the request's URL has it
            text = _MARKER.sub(_url_safe_in_url, text)
        return text

    def _replaced_encoded(self, text: str) -> str:
        """Found values written with entities or percent-escapes (``a&#64;b.example``)."""
        if self._encoded is None:
            self._encoded = encoded_forms(value for value, _ in self._ordered()) or False
        if self._encoded is False:
            return text
        pattern: re.Pattern[str] = self._encoded
        return pattern.sub(lambda match: self._stand_in_of(match.group()), text)

    def _stand_in_of(self, written: str) -> str:
        value = unquote(html.unescape(written))
        return self.found.get(value) or self._whole.get(value) or written

    def replaced_url(self, text: str) -> str:
        """`replaced`, with markers in the form a URL or an HTTP token can hold."""
        replaced = self.replaced(text)
        return _url_markers(replaced) if "[redacted" in replaced else replaced

    def replaced_derived(self, value: str | None) -> str | None:
        """An endpoint name, correlation or parent id, with what the request lost."""
        return value if not value else self.replaced_url(value)

    def _ordered(self) -> list[tuple[str, str]]:
        """The found values, longest first (so that a value inside another goes last)."""
        if self._order is None:
            self._order = sorted(self.found.items(), key=lambda pair: -len(pair[0]))
        return self._order

    def _replaced_all(self, texts: list[str]) -> list[str]:
        """`replaced` for many short strings: found values are looked for in all of them
        at once, and only those present are replaced string by string."""
        if not texts:
            return texts
        present = []
        if self.found:
            blob = "\n".join(texts)
            present = [(value, stand_in) for value, stand_in in self._ordered() if value in blob]
        if not present:  # then no text is a found value either: only whole stand-ins apply
            wholes = self._whole
            return [wholes.get(text, text) for text in texts] if wholes else texts
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

    def replaced_headers(
        self, kept: list[tuple[str, str, bool]], before: Body, after: Body, original: Headers
    ) -> Headers:
        """The headers kept, found values replaced in names and values; a Content-Length
        states the length of the body as stored when sanitising changed it."""
        # Names and values in one search: found values are looked for once in all of them.
        texts = [name for name, _, _ in kept]
        texts += [value for _, value, settled in kept if not settled]
        replaced = self._replaced_all(texts)
        resized = (
            after is not before
            and not before.truncated
            and len(after.content) != len(before.content)
        )
        if (
            replaced is texts
            and not resized
            and len(kept) == len(original)
            and not any(settled for _, _, settled in kept)
        ):
            return original  # nothing dropped, ruled or replaced
        names = [_url_markers(n) if "[redacted" in n else n for n in replaced[: len(kept)]]
        values = iter(replaced[len(kept) :])
        headers = []
        for (_, value, settled), name in zip(kept, names, strict=True):
            if not settled:
                value = next(values)
            if resized and name.lower() == "content-length":
                value = str(len(after.content))
            headers.append((name, value))
        return Headers(headers)

    def _replaced_urls(self, texts: list[str]) -> list[str]:
        """`replaced_url` for many short strings at once (see `_replaced_all`)."""
        return [
            _url_markers(text) if "[redacted" in text else text
            for text in self._replaced_all(texts)
        ]

    def replaced_pairs(self, decided: list[Any], *, url: bool = False) -> list[tuple[str, str]]:
        """Query parameters or form fields, names and values replaced; in a query, markers
        take their URL form (``redacted-email``, not ``%5Bredacted%3Aemail%5D``)."""
        pairs = [pair for pair in decided if pair is not None]
        texts = [pair[0] for pair in pairs]
        texts += [pair[1] for pair in pairs if not pair[2]]
        replaced = self._replaced_all(texts)  # names and values in one search
        names = replaced[: len(pairs)]
        if url:
            names = [_url_markers(name) if "[redacted" in name else name for name in names]
        loose = iter(replaced[len(pairs) :])
        out = []
        for (_, value, settled), name in zip(pairs, names, strict=True):
            value = value if settled else next(loose)
            if url and "[redacted" in value:
                value = _url_markers(value)
            out.append((name, value))
        return out

    def replaced_path(self, path: str) -> str:
        """The path with found values replaced segment by segment: separators are never
        touched, and a changed segment is percent-encoded where it must be."""
        segments = path.split("/")
        if "%" not in path and not any(value in path for value, _ in self._ordered()):
            whole = self._whole
            if not whole or not any(segment in whole for segment in segments):
                return path
        texts = [unquote(segment) if "%" in segment else segment for segment in segments]
        for index, (text, replaced) in enumerate(
            zip(texts, self._replaced_urls(texts), strict=True)
        ):
            if not text:
                continue
            if replaced == text and text in self._whole:
                replaced = url_safe(self._whole[text])
            if replaced != text:
                segments[index] = quote(replaced, safe=_PATH_SAFE)
        return "/".join(segments)

    def echoed_body(self, before: Body, after: Body) -> None:
        """A response that echoes the request's body as a string (httpbin's ``data``)
        echoes it as stored: the whole text sent stands for the whole text kept, so that
        values replaced only where they were found (a short CVV) go from the echo too."""
        if after is before or before.truncated:
            return
        old, new = before.text(), after.text()
        if old is None or new is None or len(old) < SHORTEST:
            return
        self.found[old] = new
        self._order = self._raw = self._safe = self._encoded = None

    def echoed_length(self, before: Body, after: Body, response: Response) -> Response:
        """A response that echoes the request's headers (httpbin's do) states the
        request's length as sent: when sanitising changed it, the echo says the new."""
        if after is before or before.truncated or response.body.truncated:
            return response
        old, new = str(len(before.content)), str(len(after.content))
        content = response.body.content
        if old == new or old.encode() not in content or b"ength" not in content:
            return response
        pattern = re.compile(rb'("content-length"\s*:\s*")' + old.encode() + rb'"', re.I)
        echoed = pattern.sub(lambda match: match.group(1) + new.encode() + b'"', content)
        if echoed == content:
            return response
        body = _rebuilt(response.body, echoed, True)
        return dataclasses.replace(response, headers=_resized(response.headers, body), body=body)

    def replaced_body(self, parsed: Parsed) -> Body:
        kind = parsed.kind
        if kind == "empty":
            return parsed.body
        if kind == "unreadable":
            # Not stored as sent: the content goes, its size and the reason stay, and no
            # digest of it (a digest of a short secret can be guessed back).
            return Body(b"", parsed.body.size, "")
        if kind == "json":
            content = parsed.body.content
            if parsed.decided:
                return self._replaced_at_paths(parsed)
            if self._raw_safe(content):
                replaced = self._replaced_raw(content)
                return _rebuilt(parsed.body, replaced, replaced != content)
            document, changed = rewrite_leaves(parsed.value, self._replaced_leaf)
            return self._dumped(parsed, document, changed)
        if kind == "form":
            pairs = self.replaced_pairs(parsed.decided)
            return _rebuilt(parsed.body, urlencode(pairs).encode(), pairs != parsed.value)
        if kind == "jsontext":
            text, changed = jsontext.rewrite_tokens(parsed.value, self._replaced_leaf)
            return _rebuilt(parsed.body, text.encode("utf-8", "surrogateescape"), changed)
        if kind == "ndjson":
            return self._replaced_lines(parsed)
        if kind == "multipart":
            return self._replaced_parts(parsed)
        if kind == "xml":
            content, changed = xmlbody.rewrite_xml(parsed.value, self._replaced_leaf)
            return _rebuilt(parsed.body, content, changed)
        text = self.replaced(parsed.value)
        if text == parsed.value:
            return parsed.body
        encoding = "latin-1" if kind == "bytes" else "utf-8"
        return _rebuilt(parsed.body, text.encode(encoding, "surrogateescape"), True)

    def _replaced_lines(self, parsed: Parsed) -> Body:
        lines = parsed.body.content.split(b"\n")
        changed = False
        for index, document in enumerate(parsed.value):
            if is_blank(document):
                continue
            # Token by token, so that what is not replaced keeps its bytes and spacing.
            text, line_changed = jsontext.rewrite_tokens(
                lines[index].decode("utf-8", "surrogateescape"), self._replaced_leaf
            )
            if line_changed:
                lines[index] = text.encode("utf-8", "surrogateescape")
                changed = True
        return _rebuilt(parsed.body, b"\n".join(lines), changed)

    def _replaced_parts(self, parsed: Parsed) -> Body:
        assert parsed.parts is not None
        parts, changed = [], False
        for part, nested in parsed.parts:
            new = part
            if nested is None:
                text = part.content.decode("utf-8", "surrogateescape")
                value = self._replaced_leaf(part.name or "", text, kind_of_field(part.name or ""))
                if value != text:
                    new = dataclasses.replace(part, content=str(value).encode("utf-8"))
            else:
                body = self.replaced_body(nested)
                if body is not nested.body:
                    new = dataclasses.replace(
                        part,
                        content=body.content,
                        headers=_resized(Headers(part.headers), body).fields,
                    )
            if part.filename:
                headers = tuple((name, self.replaced(value)) for name, value in new.headers)
                if headers != new.headers:
                    new = dataclasses.replace(new, headers=headers)
            changed = changed or new is not part
            parts.append(new)
        if not changed:
            return parsed.body
        content = rebuild_multipart(parsed.body.content, parsed.content_type, parts)
        return _rebuilt(parsed.body, content, True)

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
                _JSON_SAFE.fullmatch(stand_in)
                and (not value.isdigit() or stand_in.isdigit())
                and not _OUTSIDE_STRINGS.issuperset(value)  # "true" may be JSON's true
                for value, stand_in in self.found.items()
            )
        return self._safe

    def _replaced_raw(self, content: bytes) -> bytes:
        if self._raw is None:
            self._raw = [(v.encode(), s.encode()) for v, s in self._ordered()]
        for value, stand_in in self._raw:
            if value in content:
                content = content.replace(value, stand_in)
        if b"[redacted" in content:
            content = _MARKER_BYTES.sub(_url_safe_in_url_bytes, content)
        return content

    def _dumped(self, parsed: Parsed, document: Any, changed: bool) -> Body:
        if not changed:
            return parsed.body
        try:
            return _rebuilt(parsed.body, orjson.dumps(document), True)
        except orjson.JSONEncodeError:  # deeper than orjson writes: rewrite the text
            text = parsed.body.content.decode("utf-8")
            text, _ = jsontext.rewrite_tokens(text, self._replaced_leaf)
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
        dropped = {
            side: parsed.reason
            for side, parsed in zip(("request", "response"), bodies, strict=False)
            if parsed is not None and parsed.kind == "unreadable"
        }
        if dropped:
            summary["dropped_bodies"] = dropped
        lookalikes = sorted(made for made in self._made if self._lookalike(made))
        if lookalikes:
            summary["pseudonyms"] = lookalikes
        if self.callers and self._pseudonymiser.keyed:
            # Who asked, as a keyed digest of the credentials removed: requests of one
            # caller can be told from another's (noise learning needs it), nothing more.
            summary["credential"] = self._pseudonymiser.hashed("\n".join(sorted(self.callers)))
        return summary


#: Every character JSON text may hold outside its strings but punctuation and space: a
#: found value made of these alone (``true``, ``1.5e3``) may stand outside a string.
_OUTSIDE_STRINGS: Final = frozenset("0123456789+-.eEtrufalsn")


def _named(endpoint: str | None) -> str | None:
    return named_markers(endpoint) if endpoint else endpoint


def _url_safe_in_url(match: re.Match[str]) -> str:
    """A marker in its token form where it stands in a URL, else as it is.

    The pattern finds the marker by its literal start and this looks one character
    back: a lookbehind in the pattern would make the engine try every position of a
    body, ten times slower on a 2 KB one.
    """
    start = match.start()
    if start and match.string[start - 1] in _URL_PLACES:
        return url_safe(match.group())
    return match.group()


def _url_safe_in_url_bytes(match: re.Match[bytes]) -> bytes:
    start = match.start()
    if start and match.string[start - 1] in _URL_PLACES_BYTES:
        return url_safe(match.group().decode()).encode()
    return match.group()


def _url_markers(text: str) -> str:
    return _MARKER.sub(lambda match: url_safe(match.group()), text)


def _resized(headers: Headers, body: Body) -> Headers:
    """`headers` whose Content-Length, if any, states `body`'s stored length."""
    if "content-length" not in headers or body.truncated:
        return headers
    return Headers(
        (name, str(len(body.content)) if name.lower() == "content-length" else value)
        for name, value in headers
    )


def _rebuilt(original: Body, content: bytes, changed: bool) -> Body:
    if not changed:
        return original
    if original.truncated:  # the whole body was never seen: its size stays, its digest goes
        return Body(content, original.size, Body.of(content).sha256)
    return Body.of(content)


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

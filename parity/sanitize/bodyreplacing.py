"""Sanitising, pass two, in bodies: each kind written back with what was found replaced.

A body in which nothing was replaced keeps its bytes. JSON is replaced in its
text where that equals replacing in its strings (`_raw_safe`), else walked and
written back compactly with orjson; forms, multipart parts, XML and
newline-delimited JSON are rewritten where they changed, token by token where
bytes and spacing must stay. A body that could not be read is stored without
its content, and a response that echoes the request's body or length echoes
them as stored.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Final
from urllib.parse import urlencode

import orjson

import parity.sanitize.jsontext as jsontext
import parity.sanitize.xmlbody as xmlbody
from parity.sanitize.bodies import Parsed, is_blank
from parity.sanitize.jsonedit import DROPPED, rewrite_at_paths, rewrite_leaves
from parity.sanitize.multipart import rebuild_multipart
from parity.sanitize.policy import Action
from parity.sanitize.replacing import Replacing
from parity.traffic.detectors import SHORTEST
from parity.traffic.exchange import Body, Headers, Response
from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from parity.traffic.markers import is_marker, url_safe

__all__ = ["BodyReplacing"]

#: A stand-in that can replace text inside a JSON string without escaping.
_JSON_SAFE: Final = re.compile(r'[^"\\\x00-\x1f]*')
#: A redaction marker in its bracketed form, and what stands before one where a URL
#: puts a value, in bytes (see `parity.sanitize.replacing`).
_MARKER_BYTES: Final = re.compile(rb"\[redacted(?::[a-z-]+)?\]")
_URL_PLACES_BYTES: Final = frozenset(b"/=?&")


class BodyReplacing(Replacing):
    """Pass two over an exchange's bodies, and the echoes of its request's body."""

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
            self._safe = True
            for value, stand_in in self.found.items():  # a loop: most exchanges find one or two
                if (
                    not (is_marker(stand_in) or _JSON_SAFE.fullmatch(stand_in))
                    or (value.isdigit() and not stand_in.isdigit())
                    or _OUTSIDE_STRINGS.issuperset(value)  # "true" may be JSON's true
                ):
                    self._safe = False
                    break
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


#: Every character JSON text may hold outside its strings but punctuation and space: a
#: found value made of these alone (``true``, ``1.5e3``) may stand outside a string.
_OUTSIDE_STRINGS: Final = frozenset("0123456789+-.eEtrufalsn")


def _url_safe_in_url_bytes(match: re.Match[bytes]) -> bytes:
    start = match.start()
    if start and match.string[start - 1] in _URL_PLACES_BYTES:
        return url_safe(match.group().decode()).encode()
    return match.group()


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

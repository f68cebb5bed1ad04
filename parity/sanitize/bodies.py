"""Bodies as the sanitiser reads them: parsed by what they are, or refused with a reason.

The sanitiser can only promise what it read. So a body is first taken apart
by its media type (sniffed when the type is missing or generic): JSON, JSON
text it must read token by token (cut short at the recorder's body limit,
malformed, or holding duplicate keys, which a parser would fold into one),
JSON Lines, a URL-encoded form, ``multipart/form-data`` (each part by its own
type), XML, text, or bytes. A body it cannot read whole is *unreadable*: a
content coding that could not be removed, JSON nested deeper than the parser
goes, a malformed multipart or XML document, a structured body cut short
where no reader can resume. Unreadable bodies are never stored as sent: the
sanitiser drops their content and says why (docs/SANITISING.md).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from parity.sanitize.multipart import Part, UnreadableMultipart, parse_multipart
from parity.traffic.exchange import Body, Headers, media_type

__all__ = ["Parsed", "is_blank", "keys_of"]

_JSON_MEDIA: Final = re.compile(r"application/json|\+json|application/graphql-response")
_FORM: Final = "application/x-www-form-urlencoded"
_XML_MEDIA: Final = re.compile(r"application/xml|text/xml|\+xml")
_NDJSON_TYPES: Final = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonlines",
        "application/json-lines",
    }
)
_MULTIPART: Final = "multipart/form-data"


@dataclasses.dataclass(slots=True)
class Parsed:
    """A body as the sanitiser walks it.

    `kind` is one of ``json``, ``jsontext`` (JSON read token by token),
    ``ndjson``, ``form``, ``multipart``, ``xml``, ``graphql`` (a document sent
    as ``application/graphql``), ``text``, ``bytes`` (not text: read as
    Latin-1), ``empty`` and ``unreadable`` (with `reason`).
    """

    body: Body
    kind: str
    value: Any
    #: A GraphQL request (its variables are where ``graphql`` rules look).
    graphql: bool = False
    #: What policy rules decided, by JSON path; a form's pairs after its rules.
    decided: Any = None
    #: Why the body could not be read whole (``unreadable``).
    reason: str | None = None
    #: A multipart body's parts, each with its own parse (None for a plain field).
    parts: list[tuple[Part, Parsed | None]] | None = None
    #: The raw Content-Type (a multipart body is rebuilt with its boundary).
    content_type: str = ""
    #: For ``json``: how many keys the text writes (see `folds_keys`).
    keys_written: int = -1

    @classmethod
    def unreadable(cls, body: Body, reason: str) -> Parsed:
        return cls(body, "unreadable", None, reason=reason)

    @classmethod
    def of(cls, headers: Headers, body: Body, *, request: bool = False) -> Parsed:
        content = body.content
        if not content:
            return cls(body, "empty", None)
        coding = (headers.get("content-encoding") or "").strip().lower()
        if coding not in ("", "identity"):
            return cls.unreadable(
                body, f"its content-encoding {coding!r} could not be removed, so it was not read"
            )
        media = media_type(headers)
        if media == "application/json":  # most bodies: spared the tests below
            return cls._json(body, None, request)
        if media == _MULTIPART:
            return cls._multipart(headers.get("content-type") or "", body)
        if _XML_MEDIA.search(media):
            if body.truncated:
                return cls.unreadable(body, _cut("an XML document", body))
            return cls(body, "xml", content)
        text = body.text()
        if text is None:
            return cls._bytes(body)
        if media in _NDJSON_TYPES:
            return cls._lines(body, text)
        if _JSON_MEDIA.search(media) or (
            text[:1] in ("{", "[") and media in ("", "text/plain", "application/octet-stream")
        ):
            return cls._json(body, text, request)
        if media == _FORM:
            return cls(body, "form", parse_qsl(text, keep_blank_values=True))
        if media == "application/graphql":
            return cls(body, "graphql", text)
        if not media and text.lstrip()[:5] == "<?xml":
            return cls(body, "xml", content)
        return cls(body, "text", text)

    @classmethod
    def _bytes(cls, body: Body) -> Parsed:
        """A body that is not UTF-8 text, searched as Latin-1 (every byte a character)."""
        return cls(body, "bytes", body.content.decode("latin-1"))

    @classmethod
    def _json(cls, body: Body, text: str | None, request: bool) -> Parsed:
        """A body that says it is JSON; `text` is its content decoded, when known (orjson
        reads the bytes, and most bodies never need the text)."""
        if body.truncated:
            text = body.text() if text is None else text
            return cls(body, "jsontext", text) if text is not None else cls._bytes(body)
        try:
            document = orjson.loads(body.content)
        except orjson.JSONDecodeError as exc:
            if "depth" in str(exc):
                return cls.unreadable(body, "its JSON is nested deeper than 1024 levels")
            text = body.text() if text is None else text
            if text is None:  # not UTF-8
                return cls._bytes(body)
            if "\n" in text.strip():
                lines = cls._lines(body, text)
                if lines.kind == "ndjson":
                    return lines
            return cls(body, "jsontext", text)
        graphql = request and _is_graphql(document)
        return cls(body, "json", document, graphql)

    def folds_keys(self, keys: int) -> bool:
        """Whether this JSON body names a key twice in one object, which the parse folded
        into one (keeping the last value), given the number of `keys` its parse holds.

        Every key the text writes is a ``"`` followed by a colon, and only a ``\\"``
        inside a string can add to that count; so when the parse holds as many keys as
        the text writes there is no duplicate, and only when the counts differ is the
        text parsed again, keeping every pair, to tell. Counting colons comes first: any
        other colon is inside a string, so as many colons as keys settles it at once.
        """
        content = self.body.content
        if content.count(b":") == keys:  # each key has its colon; no other colon, no fold
            return False
        if self.keys_written < 0:  # counted only when asked: a remembered body is not
            self.keys_written = _written_keys(content)
        if keys == self.keys_written:
            return False
        return _duplicated(content)

    def as_text(self) -> None:
        """Read this JSON body token by token from now on (it folds keys)."""
        self.kind, self.value, self.graphql = "jsontext", self.body.content.decode(), False

    @classmethod
    def _lines(cls, body: Body, text: str) -> Parsed:
        documents: list[Any] = []
        for line in text.split("\n"):
            if line.strip():
                try:
                    document = orjson.loads(line)
                except orjson.JSONDecodeError:
                    return cls(body, "jsontext", text)
                encoded = line.encode("utf-8", "surrogateescape")
                if _written_keys(encoded) != keys_of(document) and _duplicated(encoded):
                    return cls(body, "jsontext", text)
                documents.append(document)
            else:
                documents.append(_BLANK)
        return cls(body, "ndjson", documents)

    @classmethod
    def _multipart(cls, content_type: str, body: Body) -> Parsed:
        if body.truncated:
            return cls.unreadable(body, _cut("a multipart body", body))
        try:
            parts = parse_multipart(body.content, content_type)
        except UnreadableMultipart as exc:
            return cls.unreadable(body, f"its multipart form is malformed ({exc})")
        read: list[tuple[Part, Parsed | None]] = []
        for part in parts:
            nested = None
            if part.filename is not None or (
                part.content_type and not part.content_type.lower().startswith("text/plain")
            ):
                nested = cls.of(Headers(part.headers), Body.of(part.content))
            read.append((part, nested))
        return cls(body, "multipart", None, parts=read, content_type=content_type)


#: Stands for a blank line of JSON Lines, kept as it was.
_BLANK: Final[Any] = object()


def is_blank(line: Any) -> bool:
    return line is _BLANK


def _cut(what: str, body: Body) -> str:
    return f"{what} cut at {len(body.content)} of {body.size} bytes cannot be read whole"


def _is_graphql(document: Any) -> bool:
    if isinstance(document, dict):
        return "query" in document
    return isinstance(document, list) and any(
        isinstance(item, dict) and "query" in item for item in document
    )


#: Where a key ends: its closing quote, any white space, the colon.
_KEY_END = re.compile(rb'"[ \t\r\n]*:')
_QUOTE_SPACE = re.compile(rb'"[ \t\r\n]')


def _written_keys(content: bytes) -> int:
    """How many times `content` writes a quote, perhaps white space, then a colon: at least
    once for each key of its objects. Two byte counts, unless a quote is followed by white
    space somewhere (pretty-printed text): then a regex."""
    if _QUOTE_SPACE.search(content):
        return len(_KEY_END.findall(content))
    return content.count(b'":')


def _duplicated(content: bytes) -> bool:
    """Whether a JSON text names a key twice in one object (parsed again, keeping pairs)."""
    seen_twice = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal seen_twice
        if len({key for key, _ in items}) != len(items):
            seen_twice = True
        return dict(items)

    try:
        json.loads(content, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return True
    return seen_twice


def keys_of(document: Any) -> int:
    """How many keys the objects of a parsed document hold, iteratively (the loop is
    written out: it runs over every response body a recorder keeps)."""
    count = 0
    stack = [document]
    pop, push = stack.pop, stack.append
    while stack:
        value = pop()
        items = value.values() if type(value) is dict else value
        if type(value) is dict:
            count += len(value)
        for item in items:
            kind = type(item)
            if kind is dict or kind is list:
                push(item)
    return count

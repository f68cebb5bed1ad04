"""Sanitising, pass one, in bodies: each kind read as `parity.sanitize.bodies` parses it.

JSON and text bodies are searched whole, and what a body held is remembered by
its digest, as responses recur byte for byte; forms go through their fields'
rules, JSON under path rules through its paths; XML, JSON that cannot be parsed
whole, newline-delimited JSON and GraphQL documents token by token; multipart
bodies part by part. A body that cannot be read is dropped, and so is any echo
of it.
"""

from __future__ import annotations

import html
from typing import Final
from urllib.parse import unquote

import parity.sanitize.jsontext as jsontext
import parity.sanitize.xmlbody as xmlbody
from parity.sanitize.bodies import Parsed, is_blank, keys_of
from parity.sanitize.found import _PROPAGATED
from parity.sanitize.jsonwalk import JsonWalk
from parity.sanitize.policy import Location
from parity.traffic.kinds import Kind
from parity.traffic.markers import redacted

__all__ = ["BodyFindings"]

#: Bodies at least this long have their findings remembered, at most this many of them.
_REMEMBERED_BODY: Final = 256
_BODIES_KEPT: Final = 4096
#: Markers of text that may hold entity- or percent-encoded characters.
_ENCODED_MARKS: Final = ("&#", "&commat;", "&period;", "%")


class BodyFindings(JsonWalk):
    """Pass one over request and response bodies."""

    def body(self, parsed: Parsed, where: str = "body") -> None:
        self._at(where)
        kind = parsed.kind
        if kind == "json" and self._policy.has_paths and parsed.folds_keys(keys_of(parsed.value)):
            parsed.as_text()
            jsontext.rewrite_tokens(parsed.value, self._seen)
        elif kind == "json" and self._policy.has_paths:
            parsed.decided = self._json_at_paths(parsed.value, parsed.graphql)
            self.changes = self.changes or bool(parsed.decided)
        elif kind == "form":
            parsed.decided = self.named_pairs(Location.FORM, parsed.value)
        elif kind in ("json", "text", "bytes"):
            if not self._remembered(parsed):  # a JSON text that names a key twice
                parsed.as_text()
                jsontext.rewrite_tokens(parsed.value, self._seen)
            if kind == "text" and any(mark in parsed.value for mark in _ENCODED_MARKS):
                self._decoded_views(parsed.value)
        elif kind == "jsontext":
            jsontext.rewrite_tokens(parsed.value, self._seen)
        elif kind == "ndjson":
            for line in parsed.value:
                if not is_blank(line):
                    self._json(line)
        elif kind == "multipart":
            self._multipart(parsed, where)
        elif kind == "xml":
            try:
                xmlbody.rewrite_xml(parsed.value, self._seen)
            except xmlbody.UnreadableXml as exc:
                parsed.kind, parsed.reason = "unreadable", f"its XML cannot be read ({exc})"
        elif kind == "graphql":
            self.text(parsed.value)
            self._graphql(parsed.value)
        if parsed.graphql:
            documents = parsed.value if isinstance(parsed.value, list) else [parsed.value]
            for document in documents:
                query = document.get("query") if isinstance(document, dict) else None
                if isinstance(query, str):
                    self._graphql(query)
        if parsed.kind == "unreadable":
            self.changes = True
            # Its content is dropped, so what it holds is unknown: an echo of it (httpbin's
            # "data") goes too. Bytes that are not text cannot be echoed as a string.
            text = parsed.body.text()
            if text and len(text) >= _PROPAGATED and not parsed.body.truncated:
                self.note(text, redacted(Kind.TOKEN))
            if self._audit is not None:
                self._audit(self.where, "unreadable body", parsed.body.content.decode("latin-1"))

    def _multipart(self, parsed: Parsed, where: str) -> None:
        assert parsed.parts is not None
        for index, (part, nested) in enumerate(parsed.parts):
            self._at(f"{where} part {index + 1}")
            if part.filename:
                self.short(part.filename)
            if nested is None:
                text = part.content.decode("utf-8", "surrogateescape")
                self.field(part.name or "", text)
            else:
                self.body(nested, f"{where} part {index + 1}")

    def _decoded_views(self, text: str) -> None:
        """Text with characters written as entities (``&#64;``) or percent-escapes (``%40``):
        searched as a reader would see it, so that an address written so is found."""
        for view in {html.unescape(text), unquote(text)}:
            if view != text:
                self.text(view)

    def _remembered(self, parsed: Parsed) -> bool:
        """Find in a JSON or text body, or repeat what was found in the same body before.

        Responses recur byte for byte (a popular item, a list page), and what a
        body holds does not depend on the rest of the exchange; so each body's
        findings are remembered by its digest and replayed when it comes again.

        False, with nothing remembered, for a JSON body that names a key twice: its
        parse lost the first value, and the caller reads the text instead.
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
            return True
        self._log = []
        outer, self._queued = self._queued, []  # what the body holds, and nothing else
        try:
            if parsed.kind == "json":
                if parsed.folds_keys(self._json(parsed.value)):
                    return False
            else:
                self.text(parsed.value)
            self.searched()
        finally:
            log, self._log = self._log, None
            self._queued = outer
        if len(content) >= _REMEMBERED_BODY:
            if len(self._bodies) >= _BODIES_KEPT:
                self._bodies.clear()
            self._bodies[key] = log
        return True

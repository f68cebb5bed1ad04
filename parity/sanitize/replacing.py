"""Sanitising, pass two: every occurrence of what pass one found, replaced in text.

Text is searched for the found values, longest first, and for their entity- and
percent-encoded forms (`encoded_forms`); a redaction marker where a URL puts a
value takes its URL form. Header names and values, and query parameters or form
fields, are replaced in one search of all of them; the path segment by segment,
so that its separators are never touched. Bodies build on this
(`parity.sanitize.bodyreplacing`).
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import quote, unquote

from parity.sanitize.findings import Findings
from parity.traffic.exchange import Body, Headers, Query
from parity.traffic.markers import url_safe

__all__ = ["Replacing", "encoded_forms"]

#: A redaction marker in its bracketed form (see `parity.traffic.markers.url_safe`).
_MARKER: Final = re.compile(r"\[redacted(?::[a-z-]+)?\]")
#: What stands before a marker where a URL puts a value: a slash, an equals sign, a
#: question mark or an ampersand (an echoed ``/users/[redacted:email]/profile``).
_URL_PLACES: Final = frozenset("/=?&")
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


class Replacing(Findings):
    """Pass two over an exchange's text: its headers, query, path and record fields."""

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
        if replaced is texts and not resized and len(texts) == 2 * len(kept):
            # Nothing replaced, and no value settled by a rule: the fields as they came,
            # less those dropped.
            if len(kept) == len(original):
                return original
            if "[redacted" not in "".join(texts[: len(kept)]):
                return Headers([(name, value) for name, value, _ in kept])
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
        if (
            replaced is texts
            and len(texts) == 2 * len(pairs)  # no value settled by a rule
            and not (url and "[redacted" in "\n".join(texts))
        ):
            return [(name, value) for name, value, _ in pairs]  # nothing to replace
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

    def replaced_query(self, decided: list[Any], original: Query) -> Query:
        """The request's query after `replaced_pairs`: the original when nothing changed."""
        pairs = self.replaced_pairs(decided, url=True)
        return original if tuple(pairs) == original.fields else Query(pairs)

    def replaced_path(self, path: str) -> str:
        """The path with found values replaced segment by segment: separators are never
        touched, and a changed segment is percent-encoded where it must be."""
        segments = path.split("/")
        if "%" not in path and not any(value in path for value, _ in self._ordered()):
            whole = self._whole
            if not whole or whole.keys().isdisjoint(segments):
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


def _url_markers(text: str) -> str:
    return _MARKER.sub(lambda match: url_safe(match.group()), text)

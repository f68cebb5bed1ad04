"""Reading ``multipart/*`` bodies into parts, and writing changed parts back in place.

The sanitiser reads each part of a form upload (a field, or a file with its
own Content-Type) and replaces what is sensitive; everything it does not
replace must be stored byte for byte as it was sent: preamble, epilogue,
line ends (CRLF, or the bare LF some clients write), header spellings and
order. The ``multipart`` package and the stdlib's ``email`` parser read the
parts but do not say where each one lay in the body, and writing their parse
back changes line ends, header case and folding; so this module splits the
body itself (RFC 2046's delimiters), remembers every part's offsets, and
`rebuild` splits the original again, deterministically, and splices in only
what changed. Content-Disposition parameters are read here too: ``email``
decodes ``filename*`` as Latin-1 and fails on the raw UTF-8 browsers write.

A body this module cannot read whole raises `UnreadableMultipart`, whose
message is one sentence, and is then not stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple
from urllib.parse import unquote

__all__ = ["Part", "UnreadableMultipart", "parse_multipart", "rebuild_multipart"]

#: RFC 2046: a boundary is 1 to 70 characters.
_LONGEST_BOUNDARY: Final = 70
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: One ``; name=value`` parameter: a quoted string (with backslash escapes) or a bare value.
_PARAMETER = re.compile(r'(?:\s*;)+\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;"]*))', re.S)
_ESCAPE = re.compile(r'\\(["\\])')
_PADDING: Final = b" \t"


class UnreadableMultipart(Exception):
    """A multipart body that cannot be read whole; the message says why, in one sentence."""


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart body. `rebuild` writes `headers` and `content` back; the
    other fields are read from the headers, for callers, and are not written."""

    #: The part's own header fields, in order, names as written, values without padding.
    headers: tuple[tuple[str, str], ...]
    #: The Content-Disposition ``name`` parameter.
    name: str | None
    #: The Content-Disposition ``filename*`` (RFC 5987) or ``filename``, for a file part.
    filename: str | None
    #: The part's Content-Type, if it has one.
    content_type: str | None
    content: bytes


class _Span(NamedTuple):
    """Where one part lies: its header lines, the end of its head, its content."""

    lines: tuple[tuple[int, int], ...]
    head_start: int
    content_start: int
    content_end: int


class _Layout(NamedTuple):
    eol: bytes
    delimiter: bytes
    spans: list[_Span]


def parse_multipart(content: bytes, content_type: str) -> list[Part]:
    """The parts of `content`, a body sent as `content_type` (``multipart/...; boundary=``).

    Raises `UnreadableMultipart` when the body cannot be read whole.
    """
    layout = _layout(content, content_type)
    return [_part(content, span, index) for index, span in enumerate(layout.spans, 1)]


def rebuild_multipart(content: bytes, content_type: str, parts: Sequence[Part]) -> bytes:
    """`content` with each part's headers and content taken from `parts`, as `parse` returned
    them or changed with `dataclasses.replace`; all the rest stays byte for byte.

    A changed header value is written ``Name: value``; a part whose number of headers
    changed has its head written anew. Raises ValueError for the wrong number of parts, a
    header that cannot be written, or content that holds the boundary delimiter.
    """
    layout = _layout(content, content_type)
    if len(parts) != len(layout.spans):
        raise ValueError(f"the body has {len(layout.spans)} parts, {len(parts)} were given")
    eol, out, at = layout.eol, [], 0
    for index, (span, part) in enumerate(zip(layout.spans, parts, strict=True), 1):
        old = _headers(content, span, index)
        if part.headers == old:
            out.append(content[at : span.content_start])
        elif len(part.headers) == len(old):
            for (start, end), new, was in zip(span.lines, part.headers, old, strict=True):
                out.append(content[at:start])
                out.append(content[start:end] if new == was else _written(*new, index))
                at = end
            out.append(content[at : span.content_start])
        else:
            out.append(content[at : span.head_start])
            out.append(b"".join(_written(*new, index) + eol for new in part.headers) + eol)
        if layout.delimiter in eol + part.content:
            raise ValueError(f"the new content of part {index} holds the boundary delimiter")
        out.append(part.content)
        at = span.content_end
    out.append(content[at:])
    return b"".join(out)


def _written(name: str, value: str, index: int) -> bytes:
    if not _TOKEN.fullmatch(name) or "\r" in value or "\n" in value:
        raise ValueError(f"header {name!r} of part {index} cannot be written on one line")
    return f"{name}: {value}".encode("utf-8", "surrogateescape")


def _boundary(content_type: str) -> bytes:
    media, params = _parameters(content_type, "the Content-Type")
    if not media.lower().startswith("multipart/"):
        raise UnreadableMultipart(f"the Content-Type {media!r} is not a multipart type")
    boundary = params.get("boundary")
    if not boundary:
        raise UnreadableMultipart("the Content-Type names no boundary")
    if len(boundary) > _LONGEST_BOUNDARY:
        raise UnreadableMultipart(f"the boundary is longer than {_LONGEST_BOUNDARY} characters")
    if "\r" in boundary or "\n" in boundary:
        raise UnreadableMultipart("the boundary holds a line break")
    return boundary.encode("utf-8", "surrogateescape")


def _after_delimiter(content: bytes, end: int, eol: bytes | None) -> tuple[bool, int] | None:
    """Whether a delimiter ending at `end` closes the body, and where what follows starts;
    None if it is no delimiter (its line goes on with other characters)."""
    if content.startswith(b"--", end):
        return True, end + 2
    while end < len(content) and content[end] in _PADDING:
        end += 1
    for ending in (eol,) if eol else (b"\r\n", b"\n"):
        if content.startswith(ending, end):
            return False, end + len(ending)
    return None


def _delimiter(
    content: bytes, needle: bytes, at: int, eol: bytes | None
) -> tuple[int, bool, int] | None:
    """The first delimiter `needle` from `at` on: where it starts, whether it closes the
    body, and where what follows it starts."""
    found = content.find(needle, at)
    while found >= 0:
        follows = _after_delimiter(content, found + len(needle), eol)
        if follows is not None:
            return found, *follows
        found = content.find(needle, found + 1)
    return None


def _layout(content: bytes, content_type: str) -> _Layout:
    dash = b"--" + _boundary(content_type)
    first = _after_delimiter(content, len(dash), None) if content.startswith(dash) else None
    if first is not None:
        start, (closed, at) = 0, first
    elif opening := _delimiter(content, b"\n" + dash, 0, None):
        start, closed, at = opening[0] + 1, opening[1], opening[2]
    else:
        raise UnreadableMultipart("the body has no opening boundary delimiter")
    eol = b"\r\n" if closed or content.endswith(b"\r\n", start, at) else b"\n"
    delimiter = eol + dash
    spans: list[_Span] = []
    while not closed:
        index, following = len(spans) + 1, _delimiter(content, delimiter, at, eol)
        if following is None:
            raise UnreadableMultipart("the body has no closing boundary delimiter")
        found = following[0]
        if content.startswith(eol, at):
            head_end, content_start = at, at + len(eol)
        else:
            head_end = content.find(eol + eol, at, found)
            content_start = head_end + 2 * len(eol)
        if head_end < 0 or content_start > found:
            raise UnreadableMultipart(f"part {index} has no blank line after its headers")
        lines, line_start = [], at
        while line_start < head_end:
            line_end = content.find(eol, line_start, head_end)
            line_end = head_end if line_end < 0 else line_end
            lines.append((line_start, line_end))
            line_start = line_end + len(eol)
        spans.append(_Span(tuple(lines), at, content_start, found))
        closed, at = following[1], following[2]
    return _Layout(eol, delimiter, spans)


def _headers(content: bytes, span: _Span, index: int) -> tuple[tuple[str, str], ...]:
    headers = []
    for number, (start, end) in enumerate(span.lines, 1):
        matched = _HEADER.fullmatch(content, start, end)
        if matched is None or b"\r" in matched[2] or b"\n" in matched[2]:
            raise UnreadableMultipart(
                f"header line {number} of part {index} is not of the form 'Name: value'"
            )
        name, value = (field.decode("utf-8", "surrogateescape") for field in matched.groups())
        headers.append((name, value))
    return tuple(headers)


def _part(content: bytes, span: _Span, index: int) -> Part:
    headers = _headers(content, span, index)
    fields = {name.lower(): value for name, value in reversed(headers)}
    name = filename = None
    if "content-disposition" in fields:
        _, params = _parameters(fields["content-disposition"], f"part {index}'s disposition")
        name = params.get("name*") or params.get("name")
        filename = params.get("filename*") or params.get("filename")
    data = content[span.content_start : span.content_end]
    return Part(headers, name, filename, fields.get("content-type"), data)


def _parameters(value: str, where: str) -> tuple[str, dict[str, str]]:
    """A header value's first word and its ``; name=value`` parameters (first one wins).

    Quoted strings lose their quotes and the backslashes before ``"`` and ``\\`` (other
    backslashes stay: browsers write Windows paths unescaped); ``name*=charset'lang'%xx``
    values are percent-decoded in their charset.
    """
    first, separator, rest = value.partition(";")
    rest = separator + rest
    params: dict[str, str] = {}
    at = 0
    while rest[at:].strip(" \t;"):
        matched = _PARAMETER.match(rest, at)
        if matched is None:
            raise UnreadableMultipart(f"{where} has a parameter that cannot be read")
        key, quoted, bare = matched[1].lower(), matched[2], matched[3]
        text = _ESCAPE.sub(r"\1", quoted) if quoted is not None else bare.strip()
        if key.endswith("*"):
            charset, quote, encoded = text.partition("'")
            if quote:
                try:
                    text = unquote(encoded.partition("'")[2], charset or "utf-8", "replace")
                except LookupError:
                    raise UnreadableMultipart(f"{where} names an unknown charset") from None
        params.setdefault(key, text)
        at = matched.end()
    return first.strip(), params

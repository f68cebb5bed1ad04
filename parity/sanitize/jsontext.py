"""Changing the values of JSON text that no parser accepts, token by token.

A body declared as JSON is not always JSON a parser takes whole: it can be cut
off at the recorder's body limit, repeat a key (a parser keeps the last
value, so the first would go to the store unseen), nest deeper than any
parser's limit, or be nearly JSON (a bare word, a missing comma). Such text
still has to be searched and sanitised member by member, and what is not
changed must stay byte for byte as it was, because the replay sends it.

`rewrite` walks the text with a regular expression, one token at a time, and
keeps its own stack of objects and arrays, so depth is unlimited and no
input makes it raise. Each key is passed to the leaf function as
``leaf("", key, None)``; each value as ``leaf(key, value, kind)`` with the
kind inherited from the members around it, as `parity.sanitize.jsonedit.rewrite_leaves` does
for parsed documents. Only the tokens whose value the leaf changed are
written again (strings JSON-escaped); everything between them is copied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind

__all__ = ["rewrite_tokens"]

Leaf = Callable[[str, Any, Kind | None], Any]

#: One token: a string (perhaps unterminated at the end of a cut-off body), a number,
#: a structural character, white space, or any other run of characters (a bare word).
_TOKEN: Final = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*(?P<close>")?)'
    r"|(?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?(?![^\s{}\[\]:,\"]))"
    r"|(?P<punct>[{}\[\]:,])"
    r"|(?P<space>\s+)"
    r'|(?P<word>[^\s{}\[\]:,"]+)',
    re.S,
)
_WORDS: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}

# What an object frame waits for next.
_KEY, _COLON, _VALUE, _COMMA = range(4)


class _Frame:
    """One open object or array: what comes next, and the key and kind its values get."""

    __slots__ = ("is_object", "key", "kind", "parent_kind", "state")

    def __init__(self, is_object: bool, kind: Kind | None) -> None:
        self.is_object = is_object
        self.state = _KEY if is_object else _VALUE
        self.parent_kind = kind
        self.key = ""
        self.kind = kind


def rewrite_tokens(text: str, leaf: Leaf) -> tuple[str, bool]:
    """`text` with every key and value passed through `leaf`, and whether anything changed.

    Never raises on any input: what is not a token of JSON is taken as a bare word.
    """
    out: list[str] = []
    copied = 0  # text[:copied] is accounted for in `out`
    changed = False
    stack: list[_Frame] = []
    top = _Frame(False, None)  # the document itself: one value under "" with no kind

    for match in _TOKEN.finditer(text):
        group = match.lastgroup
        if group == "space":
            continue
        frame = stack[-1] if stack else top
        token = match.group()
        if group == "punct":
            if token in "{[":
                stack.append(_Frame(token == "{", _value_context(frame)[1]))
            elif token in "}]":
                if stack:
                    stack.pop()
                    _after_value(stack[-1] if stack else top)
            elif token == ":":
                if frame.is_object:
                    frame.state = _VALUE
            elif frame.is_object:  # ","
                frame.state = _KEY
            continue

        value = _scalar(group, token, match.group("close") is not None)
        if frame.is_object and frame.state in (_KEY, _COMMA):
            frame.key = value if isinstance(value, str) else token
            frame.kind = frame.parent_kind or kind_of_field(frame.key)
            frame.state = _COLON
            value = frame.key
            new = leaf("", value, None)
        else:
            key, kind = _value_context(frame)
            new = leaf(key, value, kind)
            _after_value(frame)
        if new is value or (new == value and type(new) is type(value)):
            continue
        out.append(text[copied : match.start()])
        out.append(_written(new, group == "string" and match.group("close") is None))
        copied = match.end()
        changed = True

    if not changed:
        return text, False
    out.append(text[copied:])
    return "".join(out), True


def _value_context(frame: _Frame) -> tuple[str, Kind | None]:
    if frame.is_object:
        return frame.key, frame.kind
    return "", frame.parent_kind


def _after_value(frame: _Frame) -> None:
    if frame.is_object:
        frame.state = _COMMA


def _scalar(group: str | None, token: str, closed: bool) -> Any:
    """The value a token stands for: a string, a number, True, False, None or a bare word."""
    if group == "string":
        return _unquoted(token[1:-1] if closed else token[1:])
    if group == "number":
        return float(token) if any(c in token for c in ".eE") else int(token)
    return _WORDS.get(token, token)


def _unquoted(inner: str) -> str:
    """A JSON string's text; a badly escaped one as best read."""
    if "\\" not in inner:
        return inner
    try:
        value: str = json.loads(f'"{inner}"')
        return value
    except ValueError:
        return re.sub(r"\\(.)", r"\1", inner, flags=re.S)


def _written(value: Any, unterminated: bool) -> str:
    """A new value as JSON text; strings escaped, others as JSON writes them."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text[:-1] if unterminated else text
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)

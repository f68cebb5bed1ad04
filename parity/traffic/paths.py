"""JSON documents as `parity.compare` sees them: paths, path patterns, and the walks.

A path names one value in a JSON document: ``$`` is the document, ``.name`` a key
that is an identifier, ``['odd key']`` any other key, ``[3]`` a list index. The
printed form is canonical (one spelling per value), so a pattern compiles to a
single regex over printed paths and matching a path costs one regex call.

Patterns use the same steps plus ``*`` (exactly one step, key or index), ``[*]``
(any index) and ``..`` (any number of steps), or ``re:<regex>`` searched in the
printed path. A pattern `covers` the paths it names and everything below them.

`normalise` walks iteratively: orjson parses documents 1024 levels deep, beyond
Python's recursion limit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "PathPattern",
    "any_index",
    "canonical",
    "child",
    "compile_pattern",
    "normalise",
    "shown",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STEP = r"(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\['(?:[^'\\]|\\.)*'\])"
_ANY_INDEX = r"\[\d+\]"
_BELOW = r"(?:[.\[].*)?"
_QUOTED = re.compile(r"""\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]""", re.S)
_INDEX = re.compile(r"\[(\d+)\]")
_ESCAPE = re.compile(r"\\(.)", re.S)
#: Deeper values are shown as a note: orjson refuses to write more than 254 levels.
_SHOWN_DEPTH = 200


def child(path: str, step: str | int) -> str:
    """The printed path of the value at `step` (a key or an index) below `path`."""
    if isinstance(step, int):
        return f"{path}[{step}]"
    if _IDENTIFIER.fullmatch(step):
        return f"{path}.{step}"
    quoted = step.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{quoted}']"


#: A step that is a quoted key (left as it is) or a list index (made any index).
_KEY_OR_INDEX = re.compile(r"\['(?:[^'\\]|\\.)*'\]|\[\d+\]", re.S)


def any_index(path: str) -> str:
    """`path` with every list index made ``[*]``: ``$.items[0].percent`` and
    ``$.items[2].percent`` are one field of a list's items, ``$.items[*].percent``.
    Brackets inside a quoted key (``$['a[0]']``) are part of the key and kept."""
    if "[" not in path:
        return path
    return _KEY_OR_INDEX.sub(lambda m: m.group() if m.group()[1] == "'" else "[*]", path)


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A compiled pattern: `names` tests a path itself, `covers` it or anything below it."""

    text: str
    names: Callable[[str], object]
    covers: Callable[[str], object]


@functools.lru_cache(maxsize=4096)
def compile_pattern(text: str) -> PathPattern:
    """The compiled form of `text`, cached: merged rules compile the same patterns again.

    Raises ValueError with the problem and its fix, worded to follow the pattern.
    """
    if text.startswith("re:"):
        try:
            regex = re.compile(text[3:])
        except re.error as exc:
            raise ValueError(f"is not a valid regular expression ({exc})") from None
        return PathPattern(text, regex.search, regex.search)
    if not text.startswith("$"):
        raise ValueError("must start with '$' (as in '$.meta.id') or 're:' for a regex")
    source = r"\$" + "".join(_steps(text))
    exact, below = re.compile(source, re.S), re.compile(source + _BELOW, re.S)
    return PathPattern(text, exact.fullmatch, below.fullmatch)


def _steps(text: str) -> list[str]:
    """The regex source of each step of a `$` pattern."""
    steps: list[str] = []
    pos = 1
    while pos < len(text):
        if text.startswith("..", pos):
            if pos + 2 == len(text):
                raise ValueError("must name a step after '..', as in '$..id' or '$..*'")
            steps.append(f"{_STEP}*")
            pos += 2 if text[pos + 2] == "[" else 1  # '..name' is any depth, then '.name'
            continue
        if text[pos] == ".":
            pos += 1
            steps.append(_name(text, pos))
            pos = _name_end(text, pos)
        elif text.startswith("[*]", pos):
            steps.append(_ANY_INDEX)
            pos += 3
        elif found := _INDEX.match(text, pos):
            steps.append(re.escape(f"[{int(found[1])}]"))
            pos = found.end()
        elif found := _QUOTED.match(text, pos):
            key = _ESCAPE.sub(r"\1", found[1] if found[1] is not None else found[2])
            steps.append(re.escape(child("", key)))
            pos = found.end()
        else:
            raise ValueError(
                f"has an unexpected {text[pos]!r} at position {pos}; write steps as "
                "'.name', \"['any key']\", '[0]', '[*]', '.*' or '..name'"
            )
    return steps


def _name_end(text: str, pos: int) -> int:
    ends = [end for end in (text.find(".", pos), text.find("[", pos)) if end != -1]
    return min(ends, default=len(text))


def _name(text: str, pos: int) -> str:
    """The regex source of the '.name' or '.*' step whose name starts at `pos`."""
    name = text[pos : _name_end(text, pos)]
    if name == "*":
        return _STEP
    if not name:
        raise ValueError(f"has an empty name at position {pos}; write '.name' or '.*'")
    if "*" in name:
        raise ValueError(f"has '*' inside the name {name!r}; use '.*' for a whole step or 're:'")
    return re.escape(child("", name))


def canonical(value: Any) -> object:
    """Canonical JSON of `value`: equal only for equal values of equal types (True != 1 != 1.0).

    A value orjson cannot write (more than 254 levels deep) gets a key equal to nothing.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return object()


def _sort_key(value: Any) -> bytes:
    key = canonical(value)
    # A value too deep for a canonical key sorts last, keeping its order.
    return key if isinstance(key, bytes) else b"\xff"


def normalise(
    document: Any, unordered: Sequence[PathPattern], ignore_case: Sequence[PathPattern]
) -> Any:
    """`document` with unordered lists sorted and case-insensitive strings case-folded.

    Works in place on a freshly parsed document, children before parents, so
    a list's sort keys see its items already normalised.
    """
    fold_all = any(pattern.covers("$") for pattern in ignore_case)
    if not isinstance(document, dict | list):
        return document.casefold() if fold_all and isinstance(document, str) else document
    stack: list[tuple[Any, str, bool, bool]] = [(document, "$", fold_all, False)]
    while stack:
        node, path, fold, children_done = stack.pop()
        if children_done:
            node.sort(key=_sort_key)
            continue
        if isinstance(node, list) and any(p.names(path) for p in unordered):
            stack.append((node, path, fold, True))
        for step, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(value, str):
                if fold or any(p.covers(child(path, step)) for p in ignore_case):
                    node[step] = value.casefold()
            elif isinstance(value, dict | list):
                below = child(path, step)
                folds = fold or any(p.covers(below) for p in ignore_case)
                stack.append((value, below, folds, False))
    return document


def shown(value: Any) -> Any:
    """`value` as a report shows it: nested too deeply for orjson to write, it
    becomes a note, so that every difference can be serialised."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= _SHOWN_DEPTH:
                return f"<a value nested more than {_SHOWN_DEPTH} levels deep>"
            stack.extend(
                (item, depth + 1) for item in (node.values() if isinstance(node, dict) else node)
            )
    return value

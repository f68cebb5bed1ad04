"""Changing parsed JSON documents in place, leaf by leaf, with or without their paths.

The sanitiser's second pass: every walk is iterative, for documents deeper
than Python's recursion limit, and works on the sanitiser's own parse, so
changing it in place is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from parity.traffic.paths import child

__all__ = ["DROPPED", "rewrite_at_paths", "rewrite_leaves"]

#: Returned by a `rewrite_at_paths` leaf function to remove the value (a list item becomes null).
DROPPED: Any = object()


def rewrite_leaves(document: Any, leaf: Callable[[str, Any, Kind | None], Any]) -> tuple[Any, bool]:
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


def rewrite_at_paths(
    document: Any, leaf: Callable[[str, str, Any, Kind | None], Any]
) -> tuple[Any, bool]:
    """Like `rewrite`, but `leaf(path, key, value, kind)` also gets each value's printed
    path, is asked about containers too (return the container to go on into it), and may
    return `DROPPED`. Keys are passed as leaves at the path of their value, key "".
    """
    root = [document]
    changed = False
    stack: list[tuple[Any, Any, str, Any, Kind | None]] = [(root, 0, "$", document, None)]
    while stack:
        parent, slot, path, value, kind = stack.pop()
        new = leaf(path, "" if isinstance(slot, int) else slot, value, kind)
        if new is DROPPED:
            if isinstance(parent, dict):
                del parent[slot]
            else:
                parent[slot] = None
            changed = True
            continue
        if new is not value:
            parent[slot] = new
            changed = changed or new != value or type(new) is not type(value)
            continue
        if isinstance(value, dict):
            for key in list(value):
                child_kind = kind or kind_of_field(key)
                stack.append((value, key, child(path, key), value[key], child_kind))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((value, index, child(path, index), item, kind))
    return root[0], changed

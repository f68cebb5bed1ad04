"""Changing the literals written inside a GraphQL document.

Variables are not the only way a client sends values: ``mutation { login(email:
"quinn@example.com", password: "hunter2") }`` carries them in the document
itself. `rewrite` parses the document with graphql-core and passes every
string, integer and float literal to a leaf function under the name it
stands for (the argument, the input object field, or the variable whose
default it is) with the kind inherited from the input objects around it,
as for JSON members: ``leaf(name, value, kind)``. The literals the leaf
changes are replaced in the source text by their offsets, so the rest of the
document (its layout, comments and other values) stays exactly as it was
sent, and its operation keeps its name and shape.

A document graphql-core cannot parse is returned unchanged: the caller
searches its text as text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind

if TYPE_CHECKING:
    from graphql.language import ast

__all__ = ["rewrite_literals"]

Leaf = Callable[[str, Any, Kind | None], Any]

#: More tokens than this and the document is searched as text only (graphql-core's guard
#: against documents built to exhaust the parser).
MAX_TOKENS: Final = 100_000


def rewrite_literals(document: str, leaf: Leaf) -> tuple[str, bool]:
    """`document` with its literals passed through `leaf`, and whether any changed."""
    if '"' not in document and not any(c.isdigit() for c in document):
        return document, False  # no literal a secret could be written in
    # graphql-core is imported when a document is first read, not with the sanitiser: a
    # tenth of a second that a process meeting no GraphQL (a replay, `parity ls`) saves.
    from graphql import GraphQLError, parse
    from graphql.language import ast

    try:
        tree = parse(document, max_tokens=MAX_TOKENS)
    except (GraphQLError, RecursionError):
        return document, False
    edits: list[tuple[int, int, str]] = []
    # (name, value node, kind) still to look at; iterative, for deeply nested input objects.
    pending: list[tuple[str, ast.ValueNode, Kind | None]] = []
    for node in _nodes(tree):
        if isinstance(node, ast.ArgumentNode):
            pending.append((node.name.value, node.value, kind_of_field(node.name.value)))
        elif isinstance(node, ast.VariableDefinitionNode) and node.default_value is not None:
            name = node.variable.name.value
            pending.append((name, node.default_value, kind_of_field(name)))
    while pending:
        name, value, kind = pending.pop()
        if isinstance(value, ast.ObjectValueNode):
            for field in value.fields:
                pending.append(
                    (field.name.value, field.value, kind or kind_of_field(field.name.value))
                )
        elif isinstance(value, ast.ListValueNode):
            pending.extend((name, item, kind) for item in value.values)
        elif isinstance(value, ast.StringValueNode | ast.IntValueNode | ast.FloatValueNode):
            edit = _edited(name, value, kind, leaf)
            if edit is not None:
                edits.append(edit)
    if not edits:
        return document, False
    out, copied = [], 0
    for start, end, text in sorted(edits):
        out.append(document[copied:start])
        out.append(text)
        copied = end
    out.append(document[copied:])
    return "".join(out), True


def _nodes(tree: ast.DocumentNode) -> list[ast.Node]:
    """Every node of `tree` that can hold arguments or variable definitions, iteratively."""
    from graphql.language import ast

    found: list[ast.Node] = []
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ArgumentNode | ast.VariableDefinitionNode):
            found.append(node)
            continue
        if isinstance(node, ast.ValueNode | ast.NameNode | ast.TypeNode):
            continue
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, ast.Node):
                stack.append(child)
            elif isinstance(child, tuple | list):
                stack.extend(item for item in child if isinstance(item, ast.Node))
    return found


def _edited(
    name: str,
    node: ast.StringValueNode | ast.IntValueNode | ast.FloatValueNode,
    kind: Kind | None,
    leaf: Leaf,
) -> tuple[int, int, str] | None:
    """The replacement for one literal, or None when the leaf keeps its value."""
    from graphql.language import ast

    value: Any
    if isinstance(node, ast.StringValueNode):
        value = node.value
    elif isinstance(node, ast.IntValueNode):
        value = int(node.value)
    else:
        value = float(node.value)
    new = leaf(name, value, kind)
    if new is value or (new == value and type(new) is type(value)) or node.loc is None:
        return None
    if isinstance(new, bool) or new is None:
        text = json.dumps(str(new))
    elif isinstance(new, int | float):
        text = repr(new)
    else:  # JSON's string escapes are GraphQL's too
        text = json.dumps(str(new), ensure_ascii=False)
    return node.loc.start, node.loc.end, text

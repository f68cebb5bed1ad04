"""Changing the values of XML and SOAP bodies, text by text and attribute by attribute.

The sanitiser reads an XML body as it reads JSON: every element's text,
attribute value, tail text, comment and processing instruction is passed to
a leaf function with the name it stands under (an element's or attribute's
local name, so ``<wsse:Password>`` is ``Password``) and the sensitive kind
inherited from the elements around it, exactly as `parity.sanitize.jsonedit.rewrite_leaves`
does for JSON members. A body where nothing changes is returned as it was;
one where something did is written again by lxml, which keeps namespace
prefixes, comments, CDATA sections, attribute order and the XML declaration
(a CDATA section whose text changes is written as escaped text instead).

A body that cannot be read whole or safely raises `UnreadableXml` and is then
not stored: a syntax error (with its line and column), anything that is not
XML, a document deeper than lxml reads without its ``huge_tree`` option, and
any document with a DOCTYPE: entities declared in a DTD can carry a secret and
expand anywhere, or expand a billion times, and SOAP forbids DTDs anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

# lxml ships no type information; lxml-stubs is not among the project's dependencies, so
# lxml's objects are `Any` here (and the ignore is left unused where the stubs are installed).
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind

__all__ = ["UnreadableXml", "rewrite_xml"]

_BOM: Final = b"\xef\xbb\xbf"
#: A DOCTYPE after what may come before it (a declaration, comments, PIs), in an encoding
#: that writes ASCII as ASCII: refused before parsing. lxml's document info catches the rest.
_DOCTYPE = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s|<\?.*?\?>|<!--.*?-->)*<!DOCTYPE", re.S)
#: lxml ends its messages with the position, which `UnreadableXml` says its own way.
_POSITION = re.compile(r",? line \d+, column \d+\s*$")

Leaf = Callable[[str, Any, Kind | None], Any]


class UnreadableXml(Exception):
    """An XML body that cannot be read whole or safely; the message says why, in one sentence."""


def rewrite_xml(content: bytes, leaf: Leaf) -> tuple[bytes, bool]:
    """`content` with every text, attribute value, comment and processing instruction passed
    through `leaf(name, value, kind)`, and whether anything changed.

    Element texts are passed under the element's local name and attributes under theirs,
    with the kind inherited from the enclosing elements or given by that name (``kind or
    kind_of_field(name)`` going down, as for JSON); tail texts under "" with their parent's
    kind; comments and processing instructions under "" with no kind. Whitespace-only texts
    are not passed. A value the leaf returns changed is set in the tree (a non-string as its
    `str`, None as ""), and only then is the document serialised again; otherwise `content`
    is returned as it is. Raises `UnreadableXml`.
    """
    tree = _parsed(content)
    changed = False
    root = tree.getroot()
    stack: list[tuple[Any, Kind | None]] = [(node, None) for node in _top_level(root)]
    while stack:
        node, inherited = stack.pop()
        tag = node.tag
        if isinstance(tag, str):
            name = tag.rpartition("}")[2]
            kind = inherited or kind_of_field(name)
            text = node.text
            if text is not None and not text.isspace():
                new = _changed(leaf(name, text, kind), text)
                if new is not None:
                    node.text, changed = new, True
            for key, value in node.attrib.items():
                attribute = key.rpartition("}")[2]
                new = _changed(leaf(attribute, value, kind or kind_of_field(attribute)), value)
                if new is not None:
                    node.set(key, new)
                    changed = True
            stack.extend((child, kind) for child in reversed(node))
        elif tag is etree.Comment or tag is etree.ProcessingInstruction:
            text = node.text
            if text is not None and not text.isspace():
                new = _changed(leaf("", text, None), text)
                if new is not None:
                    node.text, changed = _fitted(new, tag is etree.Comment), True
        else:
            raise UnreadableXml(f"the document holds a node lxml reads as {node!r}")
        tail = node.tail
        if tail is not None and not tail.isspace():
            new = _changed(leaf("", tail, inherited), tail)
            if new is not None:
                node.tail, changed = new, True
    if not changed:
        return content, False
    return _serialised(tree, content), True


def _parsed(content: bytes) -> Any:
    if not content.strip():
        raise UnreadableXml("the body is empty")
    if _DOCTYPE.match(content):
        raise UnreadableXml("the document has a DOCTYPE, whose entities could hide any value")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        strip_cdata=False,
        recover=False,
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        reason = _POSITION.sub("", str(exc.msg)).rstrip(".")
        raise UnreadableXml(
            f"it is not well-formed XML at line {line}, column {column}: {reason}"
        ) from None
    except (etree.LxmlError, ValueError) as exc:
        raise UnreadableXml(f"lxml cannot read it: {exc}") from None
    if root is None:
        raise UnreadableXml("the body holds no XML element")
    tree = root.getroottree()
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise UnreadableXml("the document has a DOCTYPE, whose entities could hide any value")
    return tree


def _top_level(root: Any) -> list[Any]:
    """The root and the comments and PIs around it, last first (the walk's stack order)."""
    after = list(root.itersiblings())
    before = list(root.itersiblings(preceding=True))  # nearest first
    return [*reversed(after), root, *before]


def _changed(new: Any, old: str) -> str | None:
    """What to set in the tree for `new`, the leaf's answer for `old`; None if unchanged."""
    if new is old or (new == old and type(new) is str):
        return None
    return "" if new is None else new if isinstance(new, str) else str(new)


def _fitted(text: str, comment: bool) -> str:
    """`text` made writable as a comment (no ``--``, no final ``-``) or a PI (no ``?>``)."""
    if not comment:
        return text.replace("?>", "? >")
    while "--" in text:
        text = text.replace("--", "- -")
    return text + " " if text.endswith("-") else text


def _serialised(tree: Any, content: bytes) -> bytes:
    """The changed tree in the document's encoding, with the input's XML declaration."""
    info = tree.docinfo
    encoding = info.encoding or "UTF-8"
    declared = _declaration(content)
    try:
        output: bytes = etree.tostring(
            tree,
            xml_declaration=declared is not None,
            encoding=encoding,
            standalone=info.standalone if declared is not None else None,
        )
    except (etree.LxmlError, LookupError, ValueError) as exc:
        raise UnreadableXml(f"it cannot be written back in {encoding}: {exc}") from None
    if declared and output.startswith(b"<?xml"):  # the declaration as it was written
        output = declared + output[output.index(b"?>") + 2 :]
    return output


def _declaration(content: bytes) -> bytes | None:
    """The input's XML declaration as written (with a UTF-8 BOM before it); b"" for one in
    an encoding that does not write ASCII as ASCII, None without one."""
    text = content.removeprefix(_BOM)
    if text.startswith(b"<?xml") and text[5:6].isspace():
        return content[: content.index(b"?>") + 2]
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        for start in (bom, b""):
            if content.startswith(start + "<?xml".encode(codec)):
                return b""
    return None

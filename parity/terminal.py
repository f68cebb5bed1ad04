"""Text shown in a terminal: recorded bytes are shown, never obeyed.

A recording holds whatever clients and services sent, and a candidate answers
whatever it likes; shown raw, ``ESC ] 0 ; ... BEL`` would retitle the window,
``ESC [ 2 J`` wipe the screen and a right-to-left override reorder what the
reader sees. `printable` writes each such character as an escape instead
(``\\x1b``, ``\\u202e``), and a lone surrogate (half of a cut emoji), which no
terminal encoding can write, the same way.
"""

from __future__ import annotations

import re
from typing import Final, Protocol, TextIO

__all__ = ["PrintableStream", "Writer", "printable"]

#: C0 controls, DEL, C1 controls, lone surrogates, line and paragraph separators, and
#: the marks, embeddings, overrides and isolates that reorder text.
_OBEYED: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep: str = "") -> str:
    """`text` with every character a terminal would obey escaped, but those in `keep`
    (``"\\n\\t"`` for a body shown as lines)."""
    if text.isprintable() and text.isascii():  # the common case, in C
        return text
    if not keep:
        return _OBEYED.sub(_escaped, text)
    return _OBEYED.sub(lambda m: m.group() if m.group() in keep else _escaped(m), text)


class Writer(Protocol):
    """Where `print` can write."""

    def write(self, text: str, /) -> int: ...


class PrintableStream:
    """A text stream that writes through `printable`: for commands whose output is
    made of recorded values (``parity show``)."""

    def __init__(self, stream: TextIO, keep: str = "\n\t") -> None:
        self._stream = stream
        self._keep = keep

    def write(self, text: str) -> int:
        return self._stream.write(printable(text, self._keep))

    def flush(self) -> None:
        self._stream.flush()

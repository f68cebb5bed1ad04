"""What a terminal would obey is escaped; everything else is shown as it is."""

from __future__ import annotations

import io

import pytest

from parity.terminal import PrintableStream, printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # a window title
        ("\x1b[2J", "\\x1b[2J"),  # a screen wipe
        ("\x9b31m", "\\x9b31m"),  # C1's CSI
        ("a\rb", "a\\x0db"),  # a carriage return overwrites the line
        ("\x7f\x00", "\\x7f\\x00"),
        ("abc\u202edef", "abc\\u202edef"),  # a right-to-left override
        ("half \ud83d emoji", "half \\ud83d emoji"),  # a lone surrogate
        ("two\nlines", "two\\x0alines"),
    ],
)
def test_what_a_terminal_obeys_is_escaped(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize("text", ["plain", "café crème", "😀 emoji", "日本語", "tab\tand space"])
def test_ordinary_text_is_shown_as_it_is(text: str) -> None:
    assert printable(text, keep="\t") == text


def test_kept_characters_pass_and_a_stream_escapes_what_it_writes() -> None:
    assert printable("a\nb\x1bc", keep="\n") == "a\nb\\x1bc"
    out = io.StringIO()
    print("body \x1b[2J\nnext", file=PrintableStream(out))
    assert out.getvalue() == "body \\x1b[2J\nnext\n"

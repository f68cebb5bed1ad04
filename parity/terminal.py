"""Text shown in a terminal: recorded bytes are shown, never obeyed.

A recording holds whatever clients and services sent, and a candidate answers
whatever it likes; shown raw, ``ESC ] 0 ; ... BEL`` would retitle the window,
``ESC [ 2 J`` wipe the screen and a right-to-left override reorder what the
reader sees. `printable` writes each such character as an escape instead
(``\\x1b``, ``\\u202e``), and a lone surrogate (half of a cut emoji), which no
terminal encoding can write, the same way. `write_exchange` shows one
exchange as HTTP messages (``parity show``).
"""

from __future__ import annotations

import re
from typing import Final, Protocol, TextIO

from parity.traffic.exchange import Body, Exchange, Headers
from parity.traffic.times import format_time

__all__ = ["PrintableStream", "Writer", "printable", "write_exchange"]

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


def write_exchange(exchange: Exchange, out: Writer, body_limit: int) -> None:
    """`exchange` as HTTP messages: a line of facts (id, endpoint, recorder, time,
    duration), the request, then the response or why there is none; each text body cut
    at `body_limit` characters. Give a `PrintableStream`: the text is as recorded."""
    request, response = exchange.request, exchange.response
    facts = [
        f"exchange {exchange.id}",
        exchange.endpoint or "-",
        f"recorder {exchange.recorder_id or '-'}",
        f"{format_time(request.timestamp_start)} UTC",
    ]
    if response is not None and response.timestamp_end is not None:
        facts.append(f"{(response.timestamp_end - request.timestamp_start) * 1000:.1f} ms")
    print(" | ".join(facts), file=out)
    if exchange.correlation_id or exchange.parent_id:
        print(
            f"correlation {exchange.correlation_id or '-'}, parent {exchange.parent_id or '-'}",
            file=out,
        )
    print(file=out)
    print(f"{request.method} {request.url} {request.http_version}", file=out)
    _write_headers(request.headers, out)
    _write_body(request.body, body_limit, out)
    print(file=out)
    if response is None:
        print(f"<no response: {exchange.error or 'unknown error'}>", file=out)
        return
    print(f"{response.http_version} {response.status} {response.reason}".rstrip(), file=out)
    _write_headers(response.headers, out)
    _write_body(response.body, body_limit, out)


def _write_headers(headers: Headers, out: Writer) -> None:
    for name, value in headers:
        print(f"{name}: {value}", file=out)


def _write_body(body: Body, limit: int, out: Writer) -> None:
    if not body.size:
        return
    text = body.text()
    print(file=out)
    if text is None:
        print(f"<binary body: {body.size} bytes, sha256 {body.sha256}>", file=out)
    else:
        shown = text[:limit]
        print(shown, file=out)
        if len(shown) < len(text):
            print(
                f"<... {len(text) - len(shown)} more characters; --body-limit 0 shows all>",
                file=out,
            )
    if body.truncated:
        print(
            f"<recorded body truncated: {len(body.content)} of {body.size} bytes kept, "
            f"sha256 of the whole body {body.sha256}>",
            file=out,
        )

"""A fast HTTP/1.1 upstream for proxy benchmarks: 2 KB JSON bodies, keep-alive, no framework.

    python -m benchmarks.upstream --port 8000

A proxy benchmark must measure the proxy, so the upstream has to answer far
faster than mitmproxy can forward: an asyncio protocol that parses just enough
of each request (its path, and a body of known length if any) and answers
from a table of precomputed responses, one per item id. Bodies differ from id
to id, as recorded traffic does, so compression figures are not flattered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
from collections.abc import Sequence

import orjson

__all__ = ["ITEMS", "body_for", "main", "serve"]

#: How many distinct bodies the upstream serves: ``/api/items/{0..ITEMS-1}``.
ITEMS = 512
_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]


def body_for(item: int, size: int = 2048) -> bytes:
    """A JSON document of about `size` bytes describing item `item`, the same every time."""
    rng = random.Random(item)
    document: dict[str, object] = {"id": item, "name": f"item-{item}", "tags": [], "rows": []}
    rows: list[object] = document["rows"]  # type: ignore[assignment]
    while len(orjson.dumps(document)) < size - 120:
        rows.append(
            {
                "n": len(rows),
                "word": rng.choice(_WORDS),
                "score": round(rng.random() * 100, 3),
                "note": " ".join(rng.choices(_WORDS, k=rng.randint(2, 6))),
            }
        )
    return orjson.dumps(document)


def _response(body: bytes, status: bytes = b"200 OK") -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Cache-Control: no-store\r\n"
        b"\r\n"
    )
    return head + body


class _Upstream(asyncio.Protocol):
    """One connection: requests are answered in order as they complete (pipelining works)."""

    def __init__(
        self,
        responses: Sequence[bytes],
        missing: bytes,
        open_transports: set[asyncio.Transport],
        delay: float = 0.0,
    ) -> None:
        self._responses = responses
        self._missing = missing
        self._open = open_transports
        self._delay = delay
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._open.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._open.discard(self._transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        out = []
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self._buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or b"0")
            if len(self._buffer) < end + 4 + length:
                break
            self._buffer = self._buffer[end + 4 + length :]
            out.append(self._answer(head.split(b" ", 2)[1] if b" " in head else b"/"))
        if out and self._transport is not None:
            if self._delay:  # a slow service: each batch of answers waits, off the loop
                loop = asyncio.get_running_loop()
                loop.call_later(self._delay, self._write, b"".join(out))
            else:
                self._transport.write(b"".join(out))

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _answer(self, target: bytes) -> bytes:
        path = target.partition(b"?")[0]
        prefix, _, item = path.rpartition(b"/")
        if prefix == b"/api/items" and item.isdigit() and int(item) < len(self._responses):
            return self._responses[int(item)]
        return self._missing


async def serve(
    host: str, port: int, ready: asyncio.Event | None = None, delay: float = 0.0
) -> None:
    """Answer on host:port until cancelled, each answer `delay` seconds late."""
    responses = [_response(body_for(item)) for item in range(ITEMS)]
    missing = _response(b'{"error": "not found"}', b"404 Not Found")
    open_transports: set[asyncio.Transport] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Upstream(responses, missing, open_transports, delay), host, port
    )
    if ready is not None:
        ready.set()
    try:
        await loop.create_future()  # serve until cancelled
    finally:
        # From Python 3.12 on, a closing server waits for its connections to end, so a
        # client keeping one alive would hold the upstream open: end them first.
        server.close()
        for transport in list(open_transports):
            transport.abort()
        await server.wait_closed()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.upstream", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=int, default=0, help="answer this late (a slow service)")
    args = parser.parse_args(argv)

    async def until_stopped() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(args.host, args.port, delay=args.delay_ms / 1000)

    asyncio.run(until_stopped())
    return 0


if __name__ == "__main__":
    sys.exit(main())

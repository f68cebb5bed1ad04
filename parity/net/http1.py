"""The HTTP/1.1 client of URL targets: keep-alive connections on asyncio, framing by h11.

A replay sends tens of thousands of requests from the pytest process, so the
client's CPU time is the suite's speed. httpx over httpcore and anyio spent
640-770 µs of CPU per request here; an asyncio protocol driving h11 (the
HTTP/1.1 state machine httpcore itself uses) spends about 65 µs
(docs/PERFORMANCE.md). h11 gives the framing every answer needs: Content-Length,
chunked and close-delimited bodies, HEAD, 1xx, 204 and 304.

One request at a time per connection (no pipelining); at most `size`
connections are kept open for reuse. Nothing here retries a request the
server may have acted on: only a request on a reused keep-alive connection
that the server closed before answering anything is sent again on a new
connection, and only when its method is idempotent (RFC 9110 section 9.2.2).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import Final

import h11

__all__ = ["Answer", "ConnectionClosed", "InvalidAnswer", "Pool"]

#: Methods a server may see twice without harm (RFC 9110 section 9.2.2).
_IDEMPOTENT: Final = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})

#: The largest answer head accepted (status line and headers); h11's default is 16 KiB.
_MAX_HEAD: Final = 1 << 20


class ConnectionClosed(Exception):
    """The server closed the connection before a complete answer."""


class InvalidAnswer(Exception):
    """What the server sent is not an HTTP/1.1 answer."""


@dataclass(slots=True)
class Answer:
    """One answer as it came off the wire; the body still content-encoded."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    http_version: bytes
    first_byte: float  # time.time() when the head was complete
    last_byte: float  # time.time() when the body was complete


class _Connection(asyncio.Protocol):
    """One client connection, answering one request at a time."""

    def __init__(self) -> None:
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Answer] | None = None
        self._head: h11.Response | None = None
        self._first_byte = 0.0
        self._body: list[bytes] = []
        self.closed = False
        self.answered_anything = False
        self._eof = False

    @property
    def reusable(self) -> bool:
        return not self.closed and self._h11.our_state is h11.IDLE

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self.answered_anything = True
        self._h11.receive_data(data)
        self._read()

    def eof_received(self) -> bool:
        self._eof = True
        self._h11.receive_data(b"")  # ends a close-delimited body
        self._read()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            if isinstance(exc, ConnectionResetError):
                self._waiter.set_exception(exc)
            else:
                self._waiter.set_exception(ConnectionClosed(str(exc) if exc else "end of stream"))
        self._waiter = None

    def abort(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    async def request(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Answer:
        """Send one request and wait for its answer; raises h11.LocalProtocolError if unsendable."""
        assert self._transport is not None
        assert self._waiter is None
        data = self._h11.send(h11.Request(method=method, target=target, headers=headers)) or b""
        if body:
            data += self._h11.send(h11.Data(data=body)) or b""
        data += self._h11.send(h11.EndOfMessage()) or b""
        self.answered_anything = False
        self._head, self._body = None, []
        waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._transport.write(data)
        return await waiter

    def _read(self) -> None:
        waiter = self._waiter
        if waiter is None:  # bytes nobody asked for: the connection is out of step
            self.abort()
            return
        try:
            while True:
                event = self._h11.next_event()
                if event is h11.NEED_DATA:
                    return
                kind = type(event)
                if kind is h11.Data:
                    self._body.append(event.data)  # type: ignore[union-attr]
                elif kind is h11.Response:
                    self._head = event  # type: ignore[assignment]
                    self._first_byte = time.time()
                elif kind is h11.EndOfMessage:
                    self._finish(waiter)
                    return
                elif kind is h11.ConnectionClosed:
                    raise h11.RemoteProtocolError("closed")
                # InformationalResponse (1xx): not the answer; keep reading.
        except h11.RemoteProtocolError as exc:
            if self._eof:  # h11 refuses an end of stream inside an answer
                where = "in the middle of the answer" if self.answered_anything else "before it"
                self._fail(waiter, ConnectionClosed(f"end of stream {where}"))
            else:
                self._fail(waiter, InvalidAnswer(str(exc)))

    def _finish(self, waiter: asyncio.Future[Answer]) -> None:
        head = self._head
        assert head is not None
        answer = Answer(
            head.status_code,
            head.reason,
            list(head.headers.raw_items()),
            b"".join(self._body),
            head.http_version,
            self._first_byte,
            time.time(),
        )
        self._waiter, self._head, self._body = None, None, []
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        else:  # the server closes after this answer (Connection: close, HTTP/1.0...)
            self.abort()
        if not waiter.done():
            waiter.set_result(answer)

    def _fail(self, waiter: asyncio.Future[Answer], exc: Exception) -> None:
        self._waiter = None
        self.abort()
        if not waiter.done():
            waiter.set_exception(exc)


class Pool:
    """Keep-alive HTTP/1.1 connections to one origin, at most `size` of them kept idle.

    The caller bounds how many requests are in flight; a request that finds no
    idle connection opens one. Cancelling a request (a timeout) closes its
    connection, since its answer may still arrive.
    """

    def __init__(
        self, host: str, port: int, *, tls: ssl.SSLContext | None = None, size: int = 8
    ) -> None:
        self._host, self._port, self._tls, self._size = host, port, tls, size
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Answer:
        """The answer to one request: Host and framing headers are the caller's to give.

        Raises OSError when no connection can be made, ConnectionResetError,
        `ConnectionClosed` and `InvalidAnswer` for a broken answer, and
        h11.LocalProtocolError for a request that cannot be written as HTTP/1.1.
        """
        while self._idle:
            connection = self._idle.pop()
            if not connection.reusable:
                connection.abort()
                continue
            try:
                return await self._exchange(connection, method, target, headers, body)
            except (ConnectionClosed, ConnectionResetError):
                if connection.answered_anything or method not in _IDEMPOTENT:
                    raise
                break  # a stale keep-alive connection: once more on a new one
        connection = await self._connect()
        return await self._exchange(connection, method, target, headers, body)

    async def _connect(self) -> _Connection:
        if self._closed:
            raise ConnectionClosed("the client is closed")
        _, connection = await asyncio.get_running_loop().create_connection(
            _Connection,
            self._host,
            self._port,
            ssl=self._tls,
            server_hostname=self._host if self._tls is not None else None,
        )
        return connection

    async def _exchange(
        self,
        connection: _Connection,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> Answer:
        try:
            answer = await connection.request(method, target, headers, body)
        except BaseException:
            connection.abort()
            raise
        if connection.reusable and len(self._idle) < self._size and not self._closed:
            self._idle.append(connection)
        elif not connection.closed:
            connection.abort()
        return answer

    async def aclose(self) -> None:
        """Close the idle connections; connections in use close when their requests end."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.abort()

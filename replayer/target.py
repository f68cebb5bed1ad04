"""Where a replay sends requests: a running service (a URL) or an app in this process.

`open_target` turns a --replay-target spec into a `Target`. Every target sends
the request `outgoing` rebuilds and reports what went wrong as one sentence in
`Reply.error` instead of raising, so an unreachable candidate fails the tests
that needed it, not the run. Failures are explained in the user's terms: the
candidate is down, slow, or raised.

The building blocks live in `replayer.wire` (the request sent and what comes
back), `replayer.inprocess` (finding and calling apps) and `replayer.prefetch`
(the `Replayer`); this module is the public face and re-exports them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import re
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import certifi
import h11
import httpx

from parity.net.http1 import ConnectionClosed, InvalidAnswer, Pool
from parity.traffic.exchange import Headers, Request, Response
from replayer.inprocess import InProcessASGI, InProcessWSGI, load_app
from replayer.prefetch import Replayer
from replayer.wire import (
    Reply,
    Target,
    TargetError,
    UnreadableAnswer,
    curl_command,
    outgoing,
    response_of,
)

__all__ = [
    "Replayer",
    "Reply",
    "Target",
    "TargetError",
    "curl_command",
    "open_target",
    "outgoing",
]

#: Sees each request as it goes out, keyed: a sentence refusing it, or None to send it.
Refusal = Callable[[str, Request], str | None]

_APP_SPEC = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(\))?")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Methods whose requests carry Content-Length even when empty, as browsers and httpx send them.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: How Python 3.11 words a refused connection when a host has several addresses.
_REFUSED = f"[Errno {errno.ECONNREFUSED}]"


class _Failure(Exception):
    """A failure already explained in one sentence."""


def _client_options() -> dict[str, Any]:
    # Cookies a target sets must not ride on later requests: each replay sends
    # exactly the recorded headers, so the jar refuses every cookie.
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return {"trust_env": False, "follow_redirects": False, "cookies": jar}


def _bare(client: httpx.Client | httpx.AsyncClient) -> None:
    """Drop httpx's default headers (User-Agent, Accept...): only recorded ones are sent."""
    for name in list(client.headers.keys()):
        del client.headers[name]


def _encoded(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    # Values were decoded as UTF-8 when recorded (see parity.proxy.convert), so they go back so.
    return [(n.encode(), v.encode("utf-8", "surrogateescape")) for n, v in headers]


def _in_process_response(answer: httpx.Response, raw: bytes, started: float) -> Response:
    """What an in-process app answered; `raw` is the body as the app sent it, still encoded."""
    return response_of(
        answer.status_code,
        answer.reason_phrase,
        answer.headers.raw,
        raw,
        answer.http_version,
        started,
        time.time(),
    )


class _Sending:
    """What every target does around the exchange itself: rebuild, bound, time, explain."""

    def __init__(
        self,
        description: str,
        timeout: float,
        concurrency: int,
        headers: Sequence[tuple[str, str]],
        refuse: Refusal | None = None,
    ) -> None:
        self.description = description
        self._timeout = timeout
        self._extra = tuple(headers)
        self._slots = asyncio.Semaphore(concurrency)
        self._refuse = refuse
        #: The exchanges under way, by the task sending each: when it runs out of time.
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        #: Those cancelled for running out of time, not yet told so.
        self._expired: set[asyncio.Task[Any]] = set()
        self._watch: asyncio.Task[None] | None = None

    @property
    def _no_answer(self) -> str:
        return f"no answer within {self._timeout:g} s (raise --replay-timeout)"

    async def send(self, key: str, request: Request) -> Reply:
        if request.body.truncated and not request.body.sha256:
            dropped = (
                f"the recorded request body ({request.body.size} bytes) was dropped when it was "
                "sanitised, since it could not be read whole (the record's "
                "meta.sanitised.dropped_bodies says why), so it cannot be replayed"
            )
            return Reply(key, None, dropped, 0.0)
        if request.body.truncated:
            kept, size = len(request.body.content), request.body.size
            cut = f"the recorded request body was cut to {kept} of {size} bytes, so it cannot be "
            return Reply(key, None, cut + "replayed (record with a larger parity_max_body)", 0.0)
        method, target, headers, body = outgoing(request, self._extra)
        if self._refuse is not None:
            # Judged as it goes out: after every rewrite, and the extra headers merged.
            refused = self._refuse(key, dataclasses.replace(request, headers=Headers(headers)))
            if refused is not None:
                return Reply(key, None, refused, 0.0)
        async with self._slots:
            start = time.perf_counter()
            # One bound for every target, over the whole exchange, body included.
            task = self._bound()
            cancelling = task.cancelling()
            try:
                response = await self._exchange(request, method, target, _encoded(headers), body)
            except asyncio.CancelledError:
                # Ours, and nobody else's too (as asyncio.timeout tells them apart).
                if task not in self._expired or task.uncancel() > cancelling:
                    raise
                return Reply(key, None, self._no_answer, time.perf_counter() - start)
            except (_Failure, UnreadableAnswer) as failure:
                return Reply(key, None, str(failure), time.perf_counter() - start)
            except Exception as exc:
                return Reply(key, None, self._explain(exc), time.perf_counter() - start)
            finally:
                del self._deadlines[task]
                self._expired.discard(task)
            return Reply(key, response, None, time.perf_counter() - start)

    def _bound(self) -> asyncio.Task[Any]:
        """Put the task sending an exchange under the timeout; it is cancelled once past it.

        One watcher checks every exchange under way twenty times per timeout, rather
        than a timer being set and cancelled for each (`asyncio.timeout`, about 4% of
        the CPU of sending a request): a timeout takes effect up to a twentieth of it
        (at most 0.25 s) late.
        """
        task = asyncio.current_task()
        assert task is not None
        loop = task.get_loop()
        self._deadlines[task] = loop.time() + self._timeout
        if self._watch is None or self._watch.done():
            self._watch = loop.create_task(self._watch_deadlines())
        return task

    def _unwatch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()

    async def _watch_deadlines(self) -> None:
        loop = asyncio.get_running_loop()
        every = min(self._timeout / 20, 0.25)
        while self._deadlines:
            await asyncio.sleep(every)
            now = loop.time()
            for task, deadline in list(self._deadlines.items()):
                if deadline <= now and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()

    async def _exchange(
        self,
        request: Request,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> Response:
        raise NotImplementedError

    def _explain(self, exc: Exception) -> str:
        return f"the app raised {type(exc).__name__}: {exc}"


def _in_process_request(
    client: httpx.Client | httpx.AsyncClient,
    request: Request,
    method: str,
    target: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> httpx.Request:
    """The request an in-process app gets: at the recorded origin, with the exact target."""
    raw_target = target.encode("utf-8", "surrogateescape")
    return client.build_request(
        method,
        _origin(request),
        headers=headers,
        content=body,
        extensions={"target": raw_target},
    )


def _origin(request: Request) -> str:
    """The recorded scheme and authority: an in-process app sees the host it was called as."""
    host = request.host or "localhost"
    host = f"[{host}]" if ":" in host else host
    scheme = "https" if request.scheme == "https" else "http"
    return f"{scheme}://{host}:{request.port}/"


class _URLTarget(_Sending):
    """A service listening on a URL, optionally under a path prefix, over `parity.net.http1`."""

    def __init__(self, url: httpx.URL, description: str, **options: Any) -> None:
        super().__init__(description, **options)
        self._prefix = url.raw_path.partition(b"?")[0].rstrip(b"/")
        self._host = url.netloc
        self._host_given = any(name.strip().lower() == "host" for name, _ in self._extra)
        tls = None
        if url.scheme == "https":
            tls = ssl.create_default_context(cafile=certifi.where())
            tls.set_alpn_protocols(["http/1.1"])
        port = url.port or (443 if tls else 80)
        self._pool = Pool(url.host, port, tls=tls, size=options["concurrency"])

    async def _exchange(
        self,
        request: Request,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> Response:
        # The exact target goes on the request line: no normalisation of "/../" segments.
        raw_target = self._prefix + target.encode("utf-8", "surrogateescape")
        framing = []
        if body or method in _BODY_METHODS:
            framing.append((b"Content-Length", b"%d" % len(body)))
        # A Host given with --replay-header is sent in place of the target's, never beside it
        # (`outgoing` drops the recorded one).
        host = [] if self._host_given else [(b"Host", self._host)]
        answer = await self._pool.request(
            method.encode("ascii"), raw_target, [*host, *headers, *framing], body
        )
        version = "HTTP/" + answer.http_version.decode("ascii")
        reason = answer.reason.decode("latin-1")
        return response_of(
            answer.status,
            reason,
            answer.headers,
            answer.body,
            version,
            answer.first_byte,
            answer.last_byte,
        )

    def _explain(self, exc: Exception) -> str:
        where = self.description
        if isinstance(exc, ConnectionRefusedError) or _REFUSED in str(exc):
            return f"connection refused by {where} (is the candidate running?)"
        if isinstance(exc, ConnectionResetError):
            return f"connection reset by {where} before a complete answer"
        if isinstance(exc, ConnectionClosed):
            return f"{where} closed the connection without a complete answer ({exc})"
        if isinstance(exc, InvalidAnswer):
            return f"{where} answered with something that is not HTTP/1.1 ({exc})"
        if isinstance(exc, h11.LocalProtocolError):
            return f"the recorded request cannot be sent as HTTP/1.1 ({exc})"
        if isinstance(exc, ssl.SSLError):
            return f"TLS with {where} failed ({exc})"
        if isinstance(exc, OSError):
            return f"cannot connect to {where} ({exc or type(exc).__name__})"
        return f"sending to {where} failed ({type(exc).__name__}: {exc})"

    async def aclose(self) -> None:
        self._unwatch()
        await self._pool.aclose()


class _ASGITarget(_Sending):
    """An ASGI app called in this process; no lifespan events are sent."""

    def __init__(self, app: Any, description: str, **options: Any) -> None:
        super().__init__(description, **options)
        self._client = httpx.AsyncClient(transport=InProcessASGI(app), **_client_options())
        _bare(self._client)

    async def _exchange(
        self,
        request: Request,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> Response:
        sent = _in_process_request(self._client, request, method, target, headers, body)
        answer = await self._client.send(sent, stream=True)
        started = time.time()
        try:
            raw = b"".join([chunk async for chunk in answer.aiter_raw()])
        finally:
            await answer.aclose()
        return _in_process_response(answer, raw, started)

    async def aclose(self) -> None:
        self._unwatch()
        await self._client.aclose()


class _WSGITarget(_Sending):
    """A WSGI app called in this process, on a pool of at most `concurrency` threads.

    A WSGI call cannot be interrupted: past the timeout its outcome is reported
    and the thread finishes on its own.
    """

    def __init__(self, app: Any, description: str, **options: Any) -> None:
        super().__init__(description, **options)
        self._client = httpx.Client(transport=InProcessWSGI(app), **_client_options())
        _bare(self._client)
        self._threads = ThreadPoolExecutor(options["concurrency"], "parity-wsgi")

    def _call(self, sent: httpx.Request) -> Response:
        try:
            answer = self._client.send(sent, stream=True)
            started = time.time()
            try:
                raw = b"".join(answer.iter_raw())
            finally:
                answer.close()
        except Exception as exc:
            raise _Failure(self._explain(exc)) from exc
        return _in_process_response(answer, raw, started)

    async def _exchange(
        self,
        request: Request,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> Response:
        sent = _in_process_request(self._client, request, method, target, headers, body)
        # Past the timeout the wait is cancelled; the thread finishes on its own.
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._call, sent)

    async def aclose(self) -> None:
        self._unwatch()
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._client.close()


def _check(timeout: float, concurrency: int, headers: Sequence[tuple[str, str]]) -> None:
    if not timeout > 0:
        raise TargetError(f"--replay-timeout must be more than 0 seconds, not {timeout}")
    if concurrency < 1:
        raise TargetError(f"--replay-concurrency must be at least 1, not {concurrency}")
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\0"):
            raise TargetError(
                f"the extra header {name!r}: {value!r} cannot be sent: a name is letters, "
                f"digits and -, and a value holds no line breaks"
            )


def open_target(
    spec: str,
    *,
    timeout: float = 5.0,
    concurrency: int = 8,
    headers: Sequence[tuple[str, str]] = (),
    loader: Callable[[str], tuple[str, Any]] = load_app,
    option: str = "--replay-target",
    refuse: Refusal | None = None,
) -> Target:
    """The target a --replay-target spec names (`option` names the spec in errors).

    "http://host:port" or "https://..." (a path after it prefixes every
    recorded path) is a running service; redirects it answers are compared,
    never followed. "module:attr", "module:attr.sub" or "module:factory()" is
    an app imported into this process, ASGI or WSGI as its signature says.
    `headers` are sent with every request (see `outgoing`). `loader` imports an
    app spec; a caller opening one spec several times can pass a cached one, so
    that a ``module:factory()`` is called once. `refuse(key, request)` sees each request
    as it is about to go out and may refuse it with a sentence, which becomes its outcome.
    """
    _check(timeout, concurrency, headers)
    options: dict[str, Any] = {
        "timeout": timeout,
        "concurrency": concurrency,
        "headers": headers,
        "refuse": refuse,
    }
    if "://" in spec:
        try:
            url = httpx.URL(spec)
        except httpx.InvalidURL as exc:
            raise TargetError(f"{option} {spec!r} is not a valid URL ({exc})") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise TargetError(
                f"{option} {spec!r} is not a service URL: write it as http://host:port"
            )
        return _URLTarget(url, spec.rstrip("/"), **options)
    if _APP_SPEC.fullmatch(spec):
        try:
            kind, app = loader(spec)
        except TargetError as exc:  # the loader words its errors for --replay-target
            raise TargetError(str(exc).replace("--replay-target", option)) from exc
        description = f"{spec} ({kind}, in-process)"
        if kind == "ASGI":
            return _ASGITarget(app, description, **options)
        return _WSGITarget(app, description, **options)
    raise TargetError(
        f"{option} {spec!r} is neither a URL (http://host:port) nor an app (module:attr)"
    )

"""Hermetic replay: the candidate's own outbound calls answered from recordings.

With ``--replay-hermetic`` and an in-process candidate, nothing the candidate
sends leaves the process. The calls the monolith made while it answered a
request (recorded by a recorder in forward-proxy mode, `meta.outbound`, tied
to the request by its correlation id) answer the calls the candidate makes
while it answers the replay of that request.

vcrpy does the intercepting: it patches the HTTP clients it supports
(requests, httpx, urllib3, aiohttp, http.client...) once for the whole run,
with one `HermeticCassette`. Which recordings may answer a call is decided
per replayed request: the app is wrapped (`HermeticApp`) so that, while it
runs a request, a context variable holds that request's `Calls`. Context
variables follow asyncio tasks and the threads Starlette or the WSGI runner
start, so requests replayed concurrently each see only their own calls.
The replayer's own request to the app is made outside that context and
passes through.

A call no recording answers fails in the candidate (vcrpy raises, as with
``record_mode="none"``) and is reported as a difference of its own, and so
is a recorded call the candidate never made.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from unittest import mock

from vcr import patch as vcr_patch
from vcr.cassette import Cassette
from vcr.config import VCR
from vcr.matchers import requests_match
from vcr.patch import CassettePatcherBuilder
from vcr.record_mode import RecordMode
from vcr.request import Request as VcrRequest

from parity.compare.differences import Difference, DiffKind
from parity.errors import UsageError
from parity.traffic.exchange import Exchange, Response
from replayer.inprocess import Kind

__all__ = ["DEFAULT_MATCHERS", "EXCHANGE_HEADER", "Calls", "Hermetic", "HermeticApp"]

#: The header that tells the wrapped app which replayed exchange a request is; removed
#: before the candidate sees the request.
EXCHANGE_HEADER: Final = "X-Parity-Exchange"
DEFAULT_MATCHERS: Final = ("method", "uri", "body")

_current: contextvars.ContextVar[Calls | None] = contextvars.ContextVar(
    "parity_hermetic_calls", default=None
)


def _vcr_request(exchange: Exchange) -> VcrRequest:
    request = exchange.request
    return VcrRequest(request.method, request.url, request.body.content, dict(request.headers))


def _vcr_response(response: Response) -> dict[str, Any]:
    headers: dict[str, list[str]] = {}
    for name, value in response.headers:
        if name.lower() == "content-length":  # the stored body is decoded: its own length
            value = str(len(response.body.content))
        headers.setdefault(name, []).append(value)
    return {
        "status": {"code": response.status, "message": response.reason},
        "headers": headers,
        "body": {"string": response.body.content},
    }


@dataclass
class Calls:
    """One replayed request's recorded dependency calls, and what the candidate did."""

    recorded: list[Exchange]
    matchers: Sequence[Callable[[Any, Any], Any]]
    used: list[bool] = field(init=False)
    _requests: list[VcrRequest] = field(init=False)
    #: Each request object asked about, with its answer (the object is kept: ids recur).
    _asked: dict[int, tuple[VcrRequest, dict[str, Any] | None]] = field(default_factory=dict)
    #: Calls no recording answered, once each (vcrpy may report one call twice).
    _refused: list[VcrRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.used = [False] * len(self.recorded)
        self._requests = [_vcr_request(exchange) for exchange in self.recorded]

    def answer(self, request: VcrRequest) -> dict[str, Any] | None:
        """The recorded answer to `request` (each recording answers once), or None.

        vcrpy asks more than once about one call (when connecting, then for the
        response): the same request object gets the same answer.
        """
        with self._lock:
            asked = self._asked.get(id(request))
            if asked is not None and asked[0] is request:
                return asked[1]
            answer = self._match(request)
            self._asked[id(request)] = (request, answer)
            return answer

    def _match(self, request: VcrRequest) -> dict[str, Any] | None:
        probe = request
        if probe.body is None:  # clients say "no body" as None or b""; recordings say b""
            probe = VcrRequest(request.method, request.uri, b"", request.headers)
        for index, recorded in enumerate(self._requests):
            response = self.recorded[index].response
            if self.used[index] or response is None:
                continue
            if requests_match(probe, recorded, self.matchers):
                self.used[index] = True
                return _vcr_response(response)
        return None

    def refused(self, request: VcrRequest) -> None:
        """Note a call no recording answers (vcrpy then refuses it)."""
        with self._lock:
            if not any(seen is request for seen in self._refused):
                self._refused.append(request)

    def differences(self) -> list[Difference]:
        """Calls the candidate made that were not recorded, and recorded ones it never made."""
        calls = [f"{request.method} {request.uri}" for request in self._refused]
        found = [
            Difference(f"unrecorded outbound call: {call}", DiffKind.ADDED, None, call)
            for call in calls
        ]
        for exchange, used in zip(self.recorded, self.used, strict=True):
            if not used:
                call = f"{exchange.request.method} {exchange.request.url}"
                missing = f"recorded outbound call not made: {call}"
                found.append(Difference(missing, DiffKind.REMOVED, call, None))
        return found


class HermeticCassette(Cassette):  # type: ignore[misc]
    """A cassette that answers from the current replayed request's `Calls` and never
    records; outside a replayed request it lets everything through."""

    def __init__(self) -> None:
        super().__init__("<parity hermetic replay>", record_mode=RecordMode.NONE)

    def filter_request(self, request: Any) -> Any:
        # vcrpy asks this only of a call it is about to refuse: the place to note it.
        calls = _current.get()
        if calls is None:
            return None
        calls.refused(request)
        return request

    def can_play_response_for(self, request: Any) -> bool:
        calls = _current.get()
        return calls is not None and calls.answer(request) is not None

    def play_response(self, request: Any) -> dict[str, Any]:
        calls = _current.get()
        answer = calls.answer(request) if calls is not None else None
        assert answer is not None, "vcrpy plays only what can_play_response_for allowed"
        return answer

    def _save(self, force: bool = False) -> None:
        return None


@contextlib.contextmanager
def _kept_patched() -> Iterator[None]:
    yield


class HermeticApp:
    """An ASGI or WSGI app, run with its replayed request's recorded calls in context."""

    def __init__(self, app: Any, kind: str, hermetic: Hermetic) -> None:
        self._app = app
        self._kind = kind
        self._hermetic = hermetic

    def __call__(self, *args: Any) -> Any:
        if self._kind == "ASGI":
            return self._asgi(*args)
        environ, start_response = args
        key = environ.pop("HTTP_" + EXCHANGE_HEADER.upper().replace("-", "_"), None)
        token = _current.set(self._hermetic.calls(key))
        try:
            return self._app(environ, start_response)
        finally:
            _current.reset(token)

    async def _asgi(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any
    ) -> None:
        key = None
        if scope.get("type") == "http":
            name = EXCHANGE_HEADER.lower().encode()
            kept = []
            for header, value in scope.get("headers", []):
                if header.lower() == name:
                    key = value.decode("latin-1")
                else:
                    kept.append((header, value))
            scope = {**scope, "headers": kept}
        token = _current.set(self._hermetic.calls(key))
        try:
            await self._app(scope, receive, send)
        finally:
            _current.reset(token)


class Hermetic:
    """A run's recorded dependency calls, by correlation id, and the patching."""

    def __init__(self, matchers: Sequence[str] = DEFAULT_MATCHERS) -> None:
        known = VCR().matchers
        unknown = [name for name in matchers if name not in known]
        if unknown:
            raise UsageError(
                f"--replay-hermetic-match: unknown matcher(s) {', '.join(unknown)}; use "
                f"{', '.join(sorted(known))}"
            )
        self._matchers = [known[name] for name in matchers]
        self._outbound: dict[str, list[Exchange]] = {}
        #: Per replayed exchange: its correlation id, and when it started and ended.
        self._replayed: dict[str, tuple[str, float, float | None]] = {}
        self._active: dict[str, Calls] = {}
        self._patching: contextlib.ExitStack | None = None

    def add_outbound(self, exchange: Exchange) -> None:
        """Keep a recorded dependency call, to answer the candidate's calls with."""
        if exchange.correlation_id:
            self._outbound.setdefault(exchange.correlation_id, []).append(exchange)

    def add_replayed(self, exchange: Exchange) -> None:
        """Note which correlation id a replayed exchange has, and its time span."""
        if exchange.correlation_id:
            ended = exchange.response.timestamp_end if exchange.response else None
            span = (exchange.correlation_id, exchange.request.timestamp_start, ended)
            self._replayed[exchange.id] = span

    def recorded_for(self, exchange_id: str) -> list[Exchange]:
        """The recorded calls a replayed exchange made: those with its correlation id that
        started while it was being answered (a trace id can span several requests)."""
        span = self._replayed.get(exchange_id)
        if span is None:
            return []
        correlation, started, ended = span
        return [
            call
            for call in self._outbound.get(correlation, [])
            if ended is None or started <= call.request.timestamp_start <= ended
        ]

    @property
    def outbound_count(self) -> int:
        return sum(len(calls) for calls in self._outbound.values())

    def calls(self, key: str | None) -> Calls | None:
        """The `Calls` of a replayed exchange (`key` is its id), made when its request first
        reaches the app. A key ``<id>#<anything>`` (a noise run) gets fresh calls each time."""
        if key is None:
            return None
        exchange_id, extra, _ = key.partition("#")
        calls = self._active.get(key)
        if calls is None:
            calls = Calls(self.recorded_for(exchange_id), self._matchers)
            if not extra:
                self._active[key] = calls
        return calls

    def finish(self, exchange_id: str) -> list[Difference]:
        """The outbound differences of a replayed exchange, once its answer is in."""
        calls = self._active.pop(exchange_id, None)
        if calls is None:  # the app never ran: none made
            calls = Calls(self.recorded_for(exchange_id), self._matchers)
        self._replayed.pop(exchange_id, None)  # judged: a long run forgets it
        return calls.differences()

    def start(self) -> None:
        """Patch the HTTP clients vcrpy knows, for the rest of the run.

        vcrpy builds each real connection with every patch taken off for a moment
        (`vcr.patch.force_reset`), for the whole process: a request another thread
        starts then would bypass the recordings and go out. The patches stay on here
        instead; the real connections vcrpy builds are the libraries' own classes.
        """
        if self._patching is not None:
            return
        stack = contextlib.ExitStack()
        stack.enter_context(mock.patch.object(vcr_patch, "force_reset", _kept_patched))
        for patcher in CassettePatcherBuilder(HermeticCassette()).build():
            stack.enter_context(patcher)
        self._patching = stack

    def close(self) -> None:
        if self._patching is not None:
            self._patching.close()
            self._patching = None

    def wrap(self, loader: Callable[[str], tuple[Kind, Any]]) -> Callable[[str], tuple[Kind, Any]]:
        """An app loader whose apps run each request with its recorded calls."""

        def load(spec: str) -> tuple[Kind, Any]:
            kind, app = loader(spec)
            return kind, HermeticApp(app, kind, self)

        return load

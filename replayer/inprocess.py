"""Apps replayed in-process: finding them from "module:attr" and handing them requests.

httpx's ASGI and WSGI transports build the scope or environ from the URL they
are given, which is normalised: percent-escapes kept, but dot segments removed,
and the WSGI environ keeps only the last of repeated headers and refuses
non-ASCII values. The transports here wrap the app per request so it sees what
a server would pass on: the exact recorded target (from the request's
``target`` extension) and every header.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, unquote_to_bytes

import httpx

from replayer.wire import TargetError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ASGIApp", "InProcessASGI", "InProcessWSGI", "load_app"]

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
Kind = Literal["ASGI", "WSGI"]


def load_app(spec: str) -> tuple[Kind, Any]:
    """The app named by "module:attr", "module:attr.sub" or "module:factory()", and its kind."""
    module_name, _, path = spec.partition(":")
    call = path.endswith("()")
    attrs = path.removesuffix("()")
    if os.getcwd() not in sys.path:  # as `python -m` would: the project's own modules import
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise TargetError(
            f"cannot import module {module_name!r} for --replay-target "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    for attr in attrs.split("."):
        if not hasattr(obj, attr):
            raise TargetError(
                f"{spec!r} names nothing: module {module_name} has no attribute {attrs}"
            )
        obj = getattr(obj, attr)
    if call:
        try:
            obj = obj()
        except Exception as exc:
            raise TargetError(
                f"calling {attrs}() for --replay-target {spec!r} failed "
                f"({type(exc).__name__}: {exc}); it must build the app without arguments"
            ) from exc
    kind = app_kind(obj)
    if kind is None:
        raise TargetError(
            f"{spec!r} is neither an ASGI nor a WSGI app: expected an async callable taking "
            f"(scope, receive, send) or a callable taking (environ, start_response)"
        )
    return kind, obj


def _takes(func: Any, count: int) -> bool:
    try:
        inspect.signature(func).bind(*range(count))
    except (TypeError, ValueError):
        return False
    return True


def app_kind(obj: object) -> Kind | None:
    """ASGI for an async callable of (scope, receive, send), WSGI for a callable of two."""
    if not callable(obj) or inspect.isclass(obj):
        return None
    call = obj if inspect.isroutine(obj) else getattr(obj, "__call__", None)  # noqa: B004
    if inspect.iscoroutinefunction(call):
        return "ASGI" if _takes(obj, 3) else None
    return "WSGI" if _takes(obj, 2) else None


def _split(target: bytes) -> tuple[bytes, bytes]:
    path, _, query = target.partition(b"?")
    return path, query


def _target(request: httpx.Request) -> bytes:
    target = request.extensions.get("target")
    return target if isinstance(target, bytes) else request.url.raw_path


class InProcessASGI(httpx.AsyncBaseTransport):
    """httpx's ASGITransport, with the scope's path and query taken from the recorded target.

    An app that raises after sending its whole answer (Starlette re-raises after
    its error handler answered 500) yields that answer, as under a server; an
    app that raises before answering raises here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raw_path, query = _split(_target(request))
        app = self.app

        async def faithful(
            scope: Message,
            receive: Callable[[], Awaitable[Message]],
            send: Callable[[Message], Awaitable[None]],
        ) -> None:
            scope["raw_path"] = raw_path
            scope["path"] = unquote(raw_path.decode("latin-1"))
            scope["query_string"] = query
            answered = False

            async def tracking_send(message: Message) -> None:
                nonlocal answered
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    answered = True

            try:
                await app(scope, receive, tracking_send)
            except Exception:
                if not answered:
                    raise

        return await httpx.ASGITransport(app=faithful).handle_async_request(request)


def _environ_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """CGI-style header keys, repeats joined with "," as WSGI servers do (PEP 3333: latin-1)."""
    environ: dict[str, str] = {}
    for name, value in headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


class InProcessWSGI(httpx.BaseTransport):
    """httpx's WSGITransport, with the environ built from the recorded target and every header."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = _target(request)
        raw_path, query = _split(target)
        headers = _environ_headers(request.headers.raw)
        app = self.app

        def faithful(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            for key in [k for k in environ if k.startswith("HTTP_")]:
                del environ[key]
            environ.pop("CONTENT_TYPE", None)
            environ.pop("CONTENT_LENGTH", None)
            environ.update(headers)
            environ["PATH_INFO"] = unquote_to_bytes(raw_path).decode("latin-1")
            environ["QUERY_STRING"] = query.decode("latin-1")
            environ["REQUEST_URI"] = environ["RAW_URI"] = target.decode("latin-1")
            return app(environ, start_response)

        # httpx decodes header values as ASCII: the app gets them from `headers` instead.
        bare = httpx.Request(
            request.method, request.url, content=request.read(), extensions=request.extensions
        )
        return httpx.WSGITransport(app=faithful).handle_request(bare)

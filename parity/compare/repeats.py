"""Noise learned from the store itself: the monolith answering the same request more
than once, each answer paired with the previous one to that request.

"The same request" is strict (`fingerprint`): everything that can select what
an answer holds must be equal, or what differs between the answers is not
noise but a different question.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final

import orjson

from parity.compare.evidence import Source
from parity.compare.noise import NoiseModel
from parity.compare.rules import Rules
from parity.sanitize.engine import removed_credentials
from parity.traffic.exchange import Exchange, Response

__all__ = ["TRANSPORT_HEADERS", "RecordedNoise", "fingerprint"]

#: Request headers that say who is asking: requests differing in them are different requests.
_CALLER_HEADERS: Final = frozenset(
    {"authorization", "cookie", "x-api-key", "api-key", "x-auth-token", "x-access-token"}
)

#: Request headers that cannot select what an answer holds: how the message travelled
#: (framing, connection, compression, which the recorder undoes) and tracing ids that
#: differ on every request. Every other header is part of a request's identity.
TRANSPORT_HEADERS: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "transfer-encoding",
        "content-length",
        "accept-encoding",
        "date",
        "x-request-id",
        "request-id",
        "x-correlation-id",
        "correlation-id",
        "traceparent",
        "tracestate",
        "baggage",
        "b3",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-parentspanid",
        "x-b3-sampled",
        "x-b3-flags",
        "uber-trace-id",
        "x-amzn-trace-id",
        "x-cloud-trace-context",
        "x-datadog-trace-id",
        "x-datadog-parent-id",
        "x-datadog-sampling-priority",
        "sentry-trace",
    }
)

#: What the sanitiser writes for a value it removed (``[redacted:email]``, or in a URL or a
#: header ``redacted-email``): two requests holding it may have held different values.
_REDACTED: Final = "redacted"


def fingerprint(exchange: Exchange) -> bytes | None:
    """What makes two recorded requests the same request, or None when it cannot be known.

    Everything that can select what the answer holds: method, path, query (in
    any order), body (JSON compared as data) and every header but
    `TRANSPORT_HEADERS` (names in any case, in any order). Two requests that
    differ in one header (``X-Tenant``, ``Accept-Language``, a feature flag)
    are different requests, and what differs between their answers is not
    noise. A sanitised request that holds a redacted value (an email in the
    path without a key, a token in the query) cannot be told from another
    user's, so it is not learned from, nor is one whose credentials were
    removed without a key; with a key, removed credentials leave a keyed tag
    of the caller, and pseudonyms differ as the values did. (A request that
    holds the word "redacted" of its own is left out too: failing closed.)
    """
    request = exchange.request
    digest = hashlib.blake2b(digest_size=16)
    parts = [request.method, request.path, *sorted(f"{k}={v}" for k, v in request.query)]
    headers = sorted(
        f"{name.lower()}:{value}"
        for name, value in request.headers
        if name.lower() not in TRANSPORT_HEADERS
    )
    # One string, each part ended by NUL (which "redacted" cannot span), read at once.
    text = "\0".join((*parts, "\0headers", *headers)) + "\0"
    if _REDACTED in text:
        return None
    digest.update(text.encode("utf-8", "surrogatepass"))
    content = request.body.content
    if content[:1] in (b"{", b"["):
        with contextlib.suppress(orjson.JSONDecodeError, orjson.JSONEncodeError):
            content = orjson.dumps(orjson.loads(content), option=orjson.OPT_SORT_KEYS)
    if _REDACTED.encode() in content:
        return None
    digest.update(b"\0body" + content)
    sanitised = exchange.meta.get("sanitised")
    if isinstance(sanitised, Mapping):
        tag = sanitised.get("credential")
        if isinstance(tag, str):
            digest.update(b"\0caller:" + tag.encode())
        elif removed_credentials(exchange):
            return None
    return digest.digest()


class RecordedNoise:
    """Learns noise from the store: each answer to a request is paired with the previous
    answer to the same request, if it is still among the last `window` ones kept.

    Feed it every exchange of a pass over the store with `add`; `learnable`
    says which may be repeated without changing state (only those are
    learned from: a second POST is answered differently for a reason).
    """

    def __init__(
        self,
        model: NoiseModel,
        rules_for: Callable[[str], Rules],
        learnable: Callable[[Exchange, str], bool],
    ) -> None:
        self._model = model
        self._rules_for = rules_for
        self._learnable = learnable
        self._window = model.settings.window
        self._last: OrderedDict[bytes, Response] = OrderedDict()
        #: How many exchanges were looked at and how many were a repeat.
        self.seen = 0
        self.repeats = 0

    def add(self, exchange: Exchange, endpoint: str) -> None:
        response = exchange.response
        if response is None or not self._learnable(exchange, endpoint):
            return
        self.seen += 1
        key = fingerprint(exchange)
        if key is None:
            return
        previous = self._last.pop(key, None)
        if previous is not None:
            self.repeats += 1
            self._model.observe(
                Source.RECORDED, endpoint, previous, response, self._rules_for(endpoint)
            )
        self._last[key] = response
        if len(self._last) > self._window:
            self._last.popitem(last=False)

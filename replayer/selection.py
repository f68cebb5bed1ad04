"""Which recorded exchanges a run replays, and which it must not.

Selection streams the store once and keeps a few facts per exchange, never
the exchanges themselves, so a run over millions of recordings collects in
bounded memory; the exchanges are read again, in the same order, when they
are replayed.

The per-endpoint sample is reproducible and stratified: for each endpoint it
keeps the `per_endpoint` exchanges whose ids hash lowest under the seed. The
same seed over the same store picks the same exchanges whatever order the
store lists them in, and a different seed picks an independent sample.
"""

from __future__ import annotations

import hashlib
import heapq
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from parity.store import Store, iter_exchanges
from parity.store.reader import SegmentDamage
from parity.traffic.endpoint import DEFAULT_RULES, EndpointRules, describes, identify, matches
from parity.traffic.exchange import Exchange
from parity.traffic.safety import unsafe_reason

__all__ = ["Planned", "Selection", "plan", "repeatable", "scan", "unsafe_skip"]


@dataclass(frozen=True, slots=True)
class Selection:
    """What to replay: endpoint globs, a time range, and a per-endpoint sample."""

    endpoints: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    per_endpoint: int | None = None
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Planned:
    """One exchange the run will collect as a test item."""

    position: int
    id: str
    endpoint: str
    method: str
    #: ``host:port`` the request was sent to when it was recorded.
    recorded_host: str
    #: Why the exchange is not replayed, or None: not shown safe, or nothing recorded.
    skip: str | None
    #: Why sending the request could change state, even when the run allows it; None
    #: when it is shown safe (`parity.safety`).
    unsafe: str | None = None


def repeatable(rules: EndpointRules = DEFAULT_RULES) -> Callable[[Exchange, str], bool]:
    """Whether a recorded request may be answered again alike: one shown to change no
    state, judged from the request (`parity.safety`), whatever it is named."""
    return lambda exchange, endpoint: unsafe_reason(exchange.request, rules) is None


def _rank(seed: int, exchange_id: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{exchange_id}".encode(), digest_size=8).digest()


def plan(
    store: Store,
    selection: Selection,
    *,
    allow_unsafe: Callable[[str], bool] = lambda endpoint: False,
    rules: EndpointRules = DEFAULT_RULES,
    on_damage: Callable[[SegmentDamage], None] | None = None,
    on_exchange: Callable[[Exchange, str], None] | None = None,
    on_outbound: Callable[[Exchange], None] | None = None,
) -> list[Planned]:
    """The exchanges to collect, in store order; `allow_unsafe(endpoint)` says whether a
    request not shown safe may be replayed anyway. Safety is judged from each request
    itself (`parity.safety`, GraphQL paths by `rules`), and a stored endpoint name is
    matched against the ``safe`` list only where it fits the request (see
    `parity.traffic.endpoint.describes`). `on_exchange(exchange, endpoint)`
    sees every exchange selected, sampled or not (noise is learned from them).

    Calls the recorded service made to its dependencies (``meta.outbound``) are
    never collected: `on_outbound` gets them (hermetic replays answer from them).
    """
    chosen: Iterator[Planned] = _scan(
        store, selection, allow_unsafe, rules, on_damage, on_exchange, on_outbound
    )
    if selection.per_endpoint is None:
        return list(chosen)
    keep = selection.per_endpoint
    heaps: dict[str, list[tuple[bytes, int, Planned]]] = {}
    for item in chosen:
        heap = heaps.setdefault(item.endpoint, [])
        # A max-heap of the `keep` lowest ranks: negate by inverting the bytes.
        entry = (bytes(255 - b for b in _rank(selection.seed, item.id)), item.position, item)
        if len(heap) < keep:
            heapq.heappush(heap, entry)
        elif keep and entry > heap[0]:
            heapq.heapreplace(heap, entry)
    picked = [entry[2] for heap in heaps.values() for entry in heap]
    return sorted(picked, key=lambda item: item.position)


def scan(
    store: Store,
    selection: Selection,
    *,
    allow_unsafe: Callable[[str], bool] = lambda endpoint: False,
    rules: EndpointRules = DEFAULT_RULES,
    on_damage: Callable[[SegmentDamage], None] | None = None,
    on_exchange: Callable[[Exchange, str], None] | None = None,
    on_outbound: Callable[[Exchange], None] | None = None,
) -> Iterator[Planned]:
    """Each exchange `plan` would plan, streamed in store order, before any per-endpoint
    sample: judged as `plan` judges it, none kept. `on_exchange` sees each exchange
    just before its `Planned` comes."""
    return _scan(store, selection, allow_unsafe, rules, on_damage, on_exchange, on_outbound)


def _scan(
    store: Store,
    selection: Selection,
    allow_unsafe: Callable[[str], bool],
    rules: EndpointRules,
    on_damage: Callable[[SegmentDamage], None] | None,
    on_exchange: Callable[[Exchange, str], None] | None,
    on_outbound: Callable[[Exchange], None] | None,
) -> Iterator[Planned]:
    patterns = selection.endpoints
    for position, exchange in enumerate(
        iter_exchanges(store, selection.since, selection.until, on_damage=on_damage)
    ):
        if exchange.meta.get("outbound"):
            if on_outbound is not None:
                on_outbound(exchange)
            continue
        if exchange.meta.get("mirror"):  # the candidate's answer to a mirrored request
            continue
        endpoint = endpoint_of(exchange)
        if patterns and not any(matches(endpoint, pattern) for pattern in patterns):
            continue
        if on_exchange is not None:
            on_exchange(exchange, endpoint)
        request = exchange.request
        method = request.method
        skip = None
        reason = unsafe_reason(request, rules)
        if exchange.response is None:
            skip = f"the monolith gave no answer when recorded ({exchange.error or 'no response'})"
        elif reason is not None:
            declared = endpoint if describes(endpoint, request, rules) else identify(request, rules)
            if not allow_unsafe(declared):
                skip = unsafe_skip(reason, endpoint, declared)
        # Interned: a run holds one Planned per exchange, and these repeat across all of them.
        authority = sys.intern(f"{request.host}:{request.port}")
        yield Planned(
            position,
            exchange.id,
            sys.intern(endpoint),
            sys.intern(method),
            authority,
            _interned(skip),
            _interned(reason),
        )


def _interned(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)


def unsafe_skip(reason: str, endpoint: str, declared: str) -> str:
    """The skip reason of a request not shown safe: why, and how to send it anyway."""
    how = (
        "replay it with --replay-unsafe or declare the endpoint safe in the 'safe' list of "
        "the config's [replay] table"
    )
    if declared != endpoint:
        how += f" (as {declared!r}: its record's name {endpoint!r} does not fit the request"
        if endpoint.startswith("graphql ") and not declared.startswith("graphql "):
            how += "; if its path serves GraphQL, add it to graphql_paths in [replay]"
        how += ")"
    return f"{reason}; {how}"


def endpoint_of(exchange: Exchange) -> str:
    """The endpoint the recorder named, or one named now for records without it."""
    return exchange.endpoint or identify(exchange.request)


def selected(store: Store, selection: Selection, ids: Sequence[str]) -> Iterator[Exchange]:
    """The exchanges with these ids, streamed from the store in store order."""
    wanted = set(ids)
    # Damage was reported when the run was planned from the same segments.
    quiet = lambda damage: None  # noqa: E731
    for exchange in iter_exchanges(store, selection.since, selection.until, on_damage=quiet):
        if exchange.id in wanted:
            yield exchange

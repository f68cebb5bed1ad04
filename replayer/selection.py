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

import dataclasses
import hashlib
import heapq
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from parity.errors import ParityError
from parity.store import SegmentInfo, Store, iter_exchanges
from parity.store.reader import SegmentDamage
from parity.traffic.endpoint import DEFAULT_RULES, EndpointRules, describes, identify, matches
from parity.traffic.exchange import Exchange
from parity.traffic.safety import unsafe_reason
from replayer.shard import Shard, ShardBy

__all__ = [
    "Planned",
    "Selection",
    "ShardPart",
    "plan",
    "positioned",
    "refuse_repeats",
    "repeatable",
    "scan",
    "segments_of",
    "stored_twice",
    "unsafe_skip",
]


@dataclass(frozen=True, slots=True)
class Selection:
    """What to replay: endpoint globs, a time range, and a per-endpoint sample."""

    endpoints: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    per_endpoint: int | None = None
    seed: int = 0


#: A position is the segment's place in the store's listing above, and the exchange's
#: place in its segment below: the same in every shard, whichever segments it reads.
_SEGMENT_SHIFT = 32
_IN_SEGMENT = (1 << _SEGMENT_SHIFT) - 1


@dataclass(frozen=True, slots=True)
class Planned:
    """One exchange the run will collect as a test item."""

    #: Where the exchange lies in the store: positions sort in store order.
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
    #: In a sharded run, a state-changing request another shard replays and counts, that
    #: this shard sends too, in its place, so its own requests find the state they found
    #: when recorded (see `replayer.shard`); not collected as an item.
    carried: bool = False


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
    shard: Shard | None = None,
    whole_store: bool = False,
) -> list[Planned]:
    """The exchanges to collect, in store order; `allow_unsafe(endpoint)` says whether a
    request not shown safe may be replayed anyway. Safety is judged from each request
    itself (`parity.safety`, GraphQL paths by `rules`), and a stored endpoint name is
    matched against the ``safe`` list only where it fits the request (see
    `parity.traffic.endpoint.describes`). `on_exchange(exchange, endpoint)`
    sees every exchange selected, sampled or not (noise is learned from them).

    Calls the recorded service made to its dependencies (``meta.outbound``) are
    never collected: `on_outbound` gets them (hermetic replays answer from them).

    A `shard` keeps its part of what an unsharded run would collect, and, as
    carried, the state-changing requests of the others that the run sends (see
    `replayer.shard`). Split by segment, it reads only its own segments unless
    the selection needs them all (a per-endpoint sample) or the caller does
    (`whole_store`: `on_exchange` and `on_outbound` then see every exchange; a
    run that may send state-changing requests needs it, to carry the others').
    """
    part = ShardPart(shard)
    chosen = scan(
        store,
        selection,
        allow_unsafe=allow_unsafe,
        rules=rules,
        on_damage=on_damage,
        on_exchange=on_exchange,
        on_outbound=on_outbound,
        part=part,
        whole_store=whole_store or selection.per_endpoint is not None,
    )
    if selection.per_endpoint is not None:
        chosen = iter(_sampled(chosen, selection))
    return [kept for planned in chosen if (kept := part.keep(planned)) is not None]


class ShardPart:
    """What one shard keeps of a run's planned exchanges (all of them, without a shard):
    its own, and, as carried, the state-changing requests of the others that the run
    sends. Told of each segment listed (`listed`), it knows a split by segment's own."""

    def __init__(self, shard: Shard | None) -> None:
        self.shard = shard
        #: Split by segment: whether each segment listed so far is this shard's.
        self._mine: list[bool] = []
        self._by_segment = shard is not None and shard.by is ShardBy.SEGMENT

    def listed(self, info: SegmentInfo) -> None:
        if self._by_segment:
            assert self.shard is not None
            self._mine.append(self.shard.takes_segment(str(info.key)))

    def reads(self, whole_store: bool) -> Callable[[int, SegmentInfo], bool] | None:
        """Which segments to read: only a split by segment's own, unless the `whole_store`
        is needed."""
        if not self._by_segment or whole_store:
            return None
        return lambda ordinal, info: self._mine[ordinal]

    def owns(self, planned: Planned) -> bool:
        shard = self.shard
        if shard is None:
            return True
        if self._by_segment:
            return self._mine[planned.position >> _SEGMENT_SHIFT]
        return shard.takes_exchange(planned.id)

    def keep(self, planned: Planned) -> Planned | None:
        """`planned` if this shard replays it, carried if it only sends it, else None."""
        if self.owns(planned):
            return planned
        if planned.unsafe is not None and planned.skip is None:
            return dataclasses.replace(planned, carried=True)
        return None


def _sampled(chosen: Iterator[Planned], selection: Selection) -> list[Planned]:
    """The per-endpoint sample of `chosen`, in store order."""
    keep = selection.per_endpoint
    assert keep is not None
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
    part: ShardPart | None = None,
    whole_store: bool = False,
) -> Iterator[Planned]:
    """Each exchange `plan` would plan, streamed in store order, before any per-endpoint
    sample or shard's part: judged as `plan` judges it, none kept. `on_exchange` sees
    each exchange just before its `Planned` comes. A shard's `part` hears of the
    segments listed, and says which are read unless the `whole_store` is needed;
    `ShardPart.keep` then takes its own."""
    listed = None if part is None else part.listed
    take = None if part is None else part.reads(whole_store)
    return _scan(
        store, selection, allow_unsafe, rules, on_damage, on_exchange, on_outbound, listed, take
    )


def _scan(
    store: Store,
    selection: Selection,
    allow_unsafe: Callable[[str], bool],
    rules: EndpointRules,
    on_damage: Callable[[SegmentDamage], None] | None,
    on_exchange: Callable[[Exchange, str], None] | None,
    on_outbound: Callable[[Exchange], None] | None,
    listed: Callable[[SegmentInfo], None] | None = None,
    take: Callable[[int, SegmentInfo], bool] | None = None,
) -> Iterator[Planned]:
    patterns = selection.endpoints
    # A segment copied into the store twice starts with an exchange another segment
    # started with: told by the first of each, as every id of a big store is not held.
    firsts: set[str] = set()
    for position, exchange in positioned(store, selection, on_damage, listed, take):
        if not position & _IN_SEGMENT:
            if exchange.id in firsts:
                raise stored_twice(exchange.id)
            firsts.add(exchange.id)
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


def positioned(
    store: Store,
    selection: Selection,
    on_damage: Callable[[SegmentDamage], None] | None = None,
    listed: Callable[[SegmentInfo], None] | None = None,
    take: Callable[[int, SegmentInfo], bool] | None = None,
) -> Iterator[tuple[int, Exchange]]:
    """The store's exchanges in the selection's time range, in store order, each with
    its position; `listed` hears of every segment listed, `take(ordinal, info)` says
    which are read (by their place in the listing, from 0)."""
    place = [-1, 0]  # the segment's place in the listing, the exchange's in its segment

    def next_segment(info: SegmentInfo) -> None:
        place[0] += 1
        place[1] = 0
        if listed is not None:
            listed(info)

    for exchange in iter_exchanges(
        store,
        selection.since,
        selection.until,
        on_damage=on_damage,
        on_segment=next_segment,
        take=None if take is None else lambda info: take(place[0], info),
    ):
        yield place[0] << _SEGMENT_SHIFT | place[1], exchange
        place[1] += 1


def segments_of(planned: Iterable[Planned]) -> Callable[[int, SegmentInfo], bool]:
    """Which segments hold these planned exchanges: a run reads only those to replay."""
    ordinals = frozenset(p.position >> _SEGMENT_SHIFT for p in planned)
    return lambda ordinal, info: ordinal in ordinals


def refuse_repeats(planned: Iterable[Planned]) -> None:
    """Raise `stored_twice` for the first exchange id `planned` holds twice."""
    seen: set[str] = set()
    for each in planned:
        if each.id in seen:
            raise stored_twice(each.id)
        seen.add(each.id)


def stored_twice(exchange_id: str) -> ParityError:
    """The error for an exchange the store holds more than once."""
    return ParityError(
        f"exchange {exchange_id} is in the store more than once (a segment copied in "
        "twice?): remove the copy and run again"
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


def selected(
    store: Store,
    selection: Selection,
    ids: Sequence[str],
    segments: Callable[[int, SegmentInfo], bool] | None = None,
) -> Iterator[Exchange]:
    """The exchanges with these ids, streamed from the store in store order, from the
    `segments` that hold them when known (see `segments_of`)."""
    wanted = set(ids)
    # Damage was reported when the run was planned from the same segments.
    quiet = lambda damage: None  # noqa: E731
    for _, exchange in positioned(store, selection, quiet, take=segments):
        if exchange.id in wanted:
            yield exchange

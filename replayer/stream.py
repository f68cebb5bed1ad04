"""Endpoint granularity: one test item per endpoint, the store streamed through them.

A store of millions of exchanges cannot be an item per exchange: pytest
holds every item and every report. With ``--replay-granularity=endpoint``
planning keeps, per endpoint, only what its item needs (an `EndpointPlan`:
counts, the position of its last exchange, why exchanges were skipped), and
the run reads the store a second time as one stream in store order, judged
as planning judged it (`replayer.selection.scan`). The stream's requests go
to the candidate ahead of the items, through a `Replayer`; an endpoint's item
judges streamed exchanges until its own last one is judged, tallying every
exchange it judges on the way straight into the run's tallies, whatever its
endpoint. Items run in the order of their endpoint's last exchange, so each
takes up the stream where the one before left it, and only the exchanges in
flight are held.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from parity.errors import ParityError
from parity.traffic.exchange import Exchange, Request
from replayer.certify import Outcome, Tally
from replayer.selection import Planned, ShardPart, plan, scan, stored_twice
from replayer.target import Replayer

if TYPE_CHECKING:
    from replayer.run import ReplayRun

__all__ = ["EndpointPlan", "EndpointStream", "Outline"]

#: Requests sent ahead of the exchange being judged.
_LOOKAHEAD = 256


@dataclass(slots=True)
class EndpointPlan:
    """What the item of one endpoint needs to know of its exchanges, none of them held."""

    endpoint: str
    #: Exchanges planned (in a per-endpoint sample: those sampled), and those replayed.
    exchanges: int = 0
    runnable: int = 0
    #: Replayed exchanges whose requests are not shown safe (the run allowed them).
    unsafe: int = 0
    #: Store positions of its last exchange, and of its last replayed one.
    last: int = -1
    last_runnable: int = -1
    #: Skipped exchanges by the reason they were skipped.
    skips: Counter[str] = field(default_factory=Counter)

    @property
    def order(self) -> int:
        """Where its item runs: when the stream has passed its last replayed exchange."""
        return self.last_runnable if self.runnable else self.last

    def add(self, planned: Planned) -> None:
        self.exchanges += 1
        self.last = planned.position
        if planned.skip is not None:
            self.skips[planned.skip] += 1
            return
        self.runnable += 1
        self.last_runnable = planned.position
        if planned.unsafe is not None:
            self.unsafe += 1

    @property
    def skip_reason(self) -> str:
        """Why none of its exchanges is replayed: the commonest reason, and how many."""
        reason, count = self.skips.most_common(1)[0]
        others = self.exchanges - count
        also = f" ({others} more for other reasons)" if others else ""
        return f"{self.endpoint}: {count} exchange(s) not replayed{also}: {reason}"


@dataclass(slots=True)
class Outline:
    """A run planned by endpoint: each endpoint's plan, in the order its item runs."""

    endpoints: dict[str, EndpointPlan] = field(default_factory=dict)
    #: The ``host:port`` the traffic was recorded from.
    hosts: set[str] = field(default_factory=set)
    #: The ids of a per-endpoint sample (bounded by it), or None when every exchange runs.
    sampled: frozenset[str] | None = None
    #: Other shards' state-changing requests this shard sends in their place, uncounted.
    carried: int = 0

    @classmethod
    def of(cls, planned: Iterable[Planned], sampled: bool = False) -> Outline:
        outline = cls()
        ids: set[str] = set()
        for each in planned:
            if sampled:  # held anyway: a repeat anywhere is found (a copied segment, by scan)
                if each.id in ids:
                    raise stored_twice(each.id)
                ids.add(each.id)
            if each.carried:  # another shard's: sent in its place, counted there
                outline.carried += 1
                continue
            entry = outline.endpoints.get(each.endpoint)
            if entry is None:
                entry = outline.endpoints[each.endpoint] = EndpointPlan(each.endpoint)
            entry.add(each)
            outline.hosts.add(each.recorded_host)
        if sampled:
            outline.sampled = frozenset(ids)
        ordered = sorted(outline.endpoints.values(), key=lambda e: (e.order, e.endpoint))
        outline.endpoints = {entry.endpoint: entry for entry in ordered}
        return outline


def outline(run: ReplayRun) -> Outline:
    """Plan `run` by endpoint, learning from the store as `ReplayRun.plan` does."""
    hermetic = run.hermetic
    options = {
        "allow_unsafe": run.settings.is_safe,
        "rules": run.settings.rules,
        "on_damage": run.damage.append,
        "on_exchange": run.observer(),
        "on_outbound": hermetic.add_outbound if hermetic else None,
    }
    planned: Iterable[Planned]
    if run.selection.per_endpoint is not None:
        planned = plan(
            run.store,
            run.selection,
            shard=run.settings.shard,
            whole_store=run.reads_whole_store(),
            **options,  # type: ignore[arg-type]
        )
    else:
        part = ShardPart(run.settings.shard)
        scanned = scan(
            run.store,
            run.selection,
            part=part,
            whole_store=run.reads_whole_store(),
            **options,  # type: ignore[arg-type]
        )
        planned = (kept for each in scanned if (kept := part.keep(each)) is not None)
    # A sample is bounded by --replay-per-endpoint: its ids are kept, to stream it again.
    result = Outline.of(planned, sampled=run.selection.per_endpoint is not None)
    run.refuse_recorded_target(result.hosts)
    return result


@dataclass(slots=True)
class _Sent:
    planned: Planned
    exchange: Exchange
    request: Request


class EndpointStream:
    """The store streamed through the endpoint items of one run (see the module's notes)."""

    def __init__(self, run: ReplayRun, planned: Outline) -> None:
        self.run = run
        self.outline = planned
        #: Per endpoint: exchanges judged so far, and the first answer that never came.
        self.judged: Counter[str] = Counter()
        self.errors: dict[str, str] = {}
        self._running: frozenset[str] = frozenset()
        self._replayer: Replayer | None = None
        #: What the reading thread handed to the Replayer and was not yet judged, in order.
        self._sent: deque[_Sent] = deque()
        #: Exchanges not shown safe that are sent and not yet judged (see `ReplayRun`).
        self._allowed: set[str] = set()
        self._tallied: set[str] = set()

    def start(self, endpoints: Iterable[str]) -> None:
        """Begin sending the exchanges of `endpoints`, those whose items will run."""
        self._running = frozenset(endpoints)
        plans = [self.outline.endpoints[endpoint] for endpoint in self._running]
        if not any(entry.runnable for entry in plans):
            return
        run = self.run
        if run.hermetic is not None:
            run.hermetic.start()
        if run.settings.noise_runs:
            run.learn_noise(e for p, e in self._stream() if p.unsafe is None)
        concurrency = run.settings.concurrency
        if self.outline.carried or any(entry.unsafe for entry in plans):
            run.ordered, concurrency = True, 1  # as recorded: one at a time, in order
        run.allowed_unsafe = self._allowed
        self._replayer = Replayer(
            run.target, self._requests(), concurrency=concurrency, lookahead=_LOOKAHEAD
        )
        self._replayer.start()

    def _stream(self) -> Iterator[tuple[Planned, Exchange]]:
        """The exchanges to replay, in store order, as planning judged them: this shard's
        own, and the others' state-changing requests it carries."""
        run = self.run
        read: list[Exchange] = []
        sampled = self.outline.sampled
        part = ShardPart(run.settings.shard)
        for planned in scan(
            run.store,
            run.selection,
            allow_unsafe=run.settings.is_safe,
            rules=run.settings.rules,
            on_damage=lambda damage: None,  # reported when the run was planned
            on_exchange=lambda exchange, endpoint: read.append(exchange),
            part=part,
            whole_store=run.sends_unsafe(),
        ):
            exchange = read.pop()
            if planned.skip is not None:
                continue
            if sampled is not None and planned.id not in sampled:
                continue
            kept = part.keep(planned)
            if kept is not None and (kept.carried or kept.endpoint in self._running):
                yield kept, exchange

    def _requests(self) -> Iterator[tuple[str, Request]]:
        """The requests to send, prepared; runs on the Replayer's reading thread."""
        for planned, exchange in self._stream():
            request = self.run.prepared(exchange)
            if planned.unsafe is not None:
                self._allowed.add(planned.id)
            self._sent.append(_Sent(planned, exchange, request))
            yield planned.id, request

    def pump(self, endpoint: str) -> None:
        """Judge the streamed exchanges, tallying each, until `endpoint`'s last is judged.

        A failure to open the target or to read the store is raised here, and again
        by every item after this one."""
        entry = self.outline.endpoints[endpoint]
        run = self.run
        wait = run.settings.timeout * 4 + 60
        while self.judged[endpoint] < entry.runnable:
            assert self._replayer is not None
            reply = self._replayer.next_outcome(timeout=wait)
            # Each request's exchange was queued before the request was handed over, so
            # they come in the same order; the Replayer sends a key once while it is not
            # taken, so only an id the store holds twice leaves them out of step.
            sent = self._sent.popleft() if self._sent else None
            if sent is not None and (reply is None or sent.planned.id != reply.key):
                self._sent.appendleft(sent)  # and for every item after this one
                raise stored_twice(sent.planned.id)
            if reply is None or sent is None:
                raise ParityError(
                    f"{endpoint}: {entry.runnable - self.judged[endpoint]} of its exchanges "
                    "are no longer in the store: the store changed during the run; run again"
                )
            planned = sent.planned
            self._allowed.discard(planned.id)
            if planned.carried:  # sent for its effect on the candidate; its shard counts it
                run.carried_sent += 1
                continue
            judgement = run.judge(
                sent.exchange,
                planned.endpoint,
                planned.unsafe,
                reply,
                sent.request,
                planned.position,
            )
            judgement.tally(run.tallies)
            self.judged[planned.endpoint] += 1
            if planned.unsafe is not None:
                run.sent_unsafe = True
            if judgement.error is not None:
                self.errors.setdefault(planned.endpoint, judgement.error)

    def tally_skipped(self, endpoint: str) -> None:
        """Count `endpoint`'s skipped exchanges in the run's tallies, once."""
        if endpoint in self._tallied:
            return
        self._tallied.add(endpoint)
        entry = self.outline.endpoints[endpoint]
        if not entry.skips:
            return
        tally = self.run.tallies.get(endpoint)
        if tally is None:
            tally = self.run.tallies[endpoint] = Tally(endpoint)
        for reason, count in entry.skips.items():
            for _ in range(count):
                tally.add(Outcome.SKIPPED, "", [], reason)

    def close(self) -> None:
        if self._replayer is not None:
            self._replayer.close()

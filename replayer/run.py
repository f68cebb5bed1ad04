"""One replay run: the store, the plan, the sending, and the tallies.

Sending has two modes. Normally every process knows which items it will run
and in which order, so a `Replayer` sends their requests ahead of them with
several in flight (the suite's speed is then the target's, not one round
trip per test). Under pytest-xdist a worker learns its items one batch at a
time, so each item sends its own request when it runs, and the workers
provide the concurrency; the worker keeps the planned exchanges it may be
given in memory.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Set
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from parity.compare.evidence import NoiseSettings, Source
from parity.compare.noise import NoiseModel
from parity.compare.repeats import RecordedNoise
from parity.compare.rules import RuleSet
from parity.errors import ParityError
from parity.sanitize.engine import Sanitiser
from parity.sanitize.policy import Policy
from parity.store import SegmentInfo, Store, open_store
from parity.store.reader import SegmentDamage
from parity.traffic.endpoint import identify
from parity.traffic.exchange import Exchange, Headers, Request
from parity.traffic.safety import unsafe_reason
from replayer.certify import Tally
from replayer.inprocess import Kind, load_app
from replayer.judge import Judge, Judgement
from replayer.learn import noise_runs
from replayer.ondemand import Cursor, OnDemand
from replayer.origin import Origin
from replayer.rewrite import find_replay_config
from replayer.selection import (
    Planned,
    Selection,
    endpoint_of,
    plan,
    refuse_repeats,
    repeatable,
    segments_of,
    selected,
    unsafe_skip,
)
from replayer.settings import ReplaySettings
from replayer.tallies import count_report
from replayer.target import Replayer, Reply, Target, open_target

if TYPE_CHECKING:
    from replayer.hermetic import Hermetic

__all__ = ["ReplayRun"]

_LOOKAHEAD = 256
#: Kinds of mismatch per endpoint whose bodies a process carries to the report.
_BODIES_KEPT = 50


class ReplayRun:
    """Everything one pytest session needs to replay and certify."""

    def __init__(
        self,
        config: pytest.Config,
        settings: ReplaySettings,
        rules: RuleSet,
        policy: Policy | None = None,
        noise: NoiseSettings | None = None,
        tables: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.rules = rules
        #: The project configuration's tables that decide how answers are judged: shards
        #: of one run must have the same (see `replayer.state`).
        self.tables = dict(tables or {})
        #: What this process learned of noise: from the store as it is planned, and from
        #: the noise runs (see `parity.compare.noise`).
        self.noise = NoiseModel(noise)
        #: The recorder's policy, with the key if this run has it: candidates' answers go
        #: through it before they are compared with sanitised recordings.
        self.sanitiser = Sanitiser.keyed_by(policy or Policy())
        #: The conftest's `ReplayConfig`, if it declares one.
        self.adapter = find_replay_config(config.pluginmanager.get_plugins())
        #: Headers set on every request: the ReplayConfig's, then --replay-header's,
        #: which win over the config's of the same name.
        self.extra_headers = _merged(
            self.adapter.header_pairs() if self.adapter else [], settings.headers
        )
        self.store: Store = open_store(settings.store)
        target = settings.target
        self.target_url = target if target.startswith(("http://", "https://")) else None
        #: A URL target's own address, read in its answers as the recorded one (the Host
        #: a --replay-header gives is the one it was called as).
        self.candidate_origin: Origin | None = None
        if self.target_url is not None and not settings.keep_origin:
            origin = Origin.of_url(self.target_url)
            host = next((v for n, v in self.extra_headers if n.lower() == "host"), None)
            self.candidate_origin = Origin(origin.scheme, host) if host else origin
        self.tallies: dict[str, Tally] = {}
        #: Whether a request not shown safe was sent (the user allowed it).
        self.sent_unsafe = False
        #: The node id of the item whose judgement was tallied as it was made: its report
        #: is not counted again (see `tally`).
        self._tallied: str | None = None
        self.damage: list[SegmentDamage] = []
        self.selection = Selection(
            settings.endpoints,
            settings.since,
            settings.until,
            settings.per_endpoint,
            settings.seed,
        )
        #: With --replay-hermetic: the recorded dependency calls, answering the candidate's.
        self.hermetic: Hermetic | None = None
        loader: Callable[[str], tuple[Kind, Any]] = load_app
        if settings.hermetic:
            # Only then: vcrpy and the clients it patches cost 0.1 s and 21 MiB to import.
            from replayer.hermetic import DEFAULT_MATCHERS, Hermetic

            self.hermetic = Hermetic(settings.hermetic_match or DEFAULT_MATCHERS)
            loader = self.hermetic.wrap(load_app)
        # The start-up check and the sending open the target apart; the app is loaded once.
        self._load_app = functools.cache(loader)
        self._check_target()
        if settings.reference:
            self._check_target(settings.reference, "--replay-reference")
        self._replayer: Replayer | None = None
        self._exchanges: dict[str, Exchange] = {}
        self._sent: dict[str, Request] = {}
        self._on_demand: OnDemand | None = None
        self._cursor: Cursor | None = None
        #: True when requests go one at a time, in recorded order (see `concurrency`).
        self.ordered = False
        #: Exchanges not shown safe that this run may send all the same (see `_refusal`).
        self.allowed_unsafe: Set[str] = frozenset()
        #: Other shards' state-changing requests this one sends too, in store order.
        self._carried: collections.deque[Planned] = collections.deque()
        #: How many of them were sent.
        self.carried_sent = 0
        #: The segments that hold what this run sends, once it is known.
        self._segments: Callable[[int, SegmentInfo], bool] | None = None

        self._bodies_kept: dict[str, set[Hashable]] = {}
        #: Judges each replayed exchange, whichever item it belongs to.
        self.judge = Judge(self)

    # -- collection ------------------------------------------------------------------------

    @property
    def grouped(self) -> bool:
        """Whether this is a pytest-xdist worker of a ``--dist loadgroup`` run.

        The loadgroup scheduler groups items by the ``@group`` suffix of their node
        ids. pytest-xdist's workers append it for items marked ``xdist_group``, but
        under pytest 9.2 its rename no longer takes (pytest-xdist issue 1386), so
        replay items are created with the suffix (their endpoint) instead.
        """
        return hasattr(self.config, "workerinput") and bool(
            getattr(self.config.option, "loadgroup", False)
        )

    def plan(self) -> list[Planned]:
        hermetic = self.hermetic
        settings = self.settings
        planned = plan(
            self.store,
            self.selection,
            allow_unsafe=settings.is_safe,
            rules=settings.rules,
            on_damage=self.damage.append,
            on_exchange=self.observer(),
            on_outbound=hermetic.add_outbound if hermetic else None,
            shard=settings.shard,
            # Noise is learned, recorded calls are found, and the state-changing requests
            # every shard sends are found, over the whole store.
            whole_store=self.reads_whole_store(),
        )
        self.refuse_recorded_target({p.recorded_host for p in planned})
        # Items are found by their exchange's id: one the store holds twice (inside one
        # segment; scan finds copied segments) would be two items of one node id.
        refuse_repeats(planned)
        self.allowed_unsafe = frozenset(p.id for p in planned if p.unsafe and p.skip is None)
        # pytest-xdist's workers cannot keep the recorded order anyway (the plugin says
        # so): one carrying the others' state changes would only send them again.
        if not hasattr(self.config, "workerinput"):
            self._carried = collections.deque(p for p in planned if p.carried)
        return [p for p in planned if not p.carried]

    def sends_unsafe(self) -> bool:
        """Whether the run may send requests not shown safe (allowed by the user)."""
        return self.settings.unsafe or bool(self.settings.safe)

    def reads_whole_store(self) -> bool:
        """Whether planning must read every segment, even a shard split by segment: to
        learn noise from the recording, to find recorded dependency calls, or to find the
        state-changing requests every shard sends (see `replayer.shard`)."""
        learns = self.noise.settings.learn
        return learns or self.hermetic is not None or self.sends_unsafe()

    def observer(self) -> Callable[[Exchange, str], None] | None:
        """What sees every selected exchange as the run is planned: noise learned from the
        store's repeated requests."""
        if not self.noise.settings.learn:
            return None
        learnable = repeatable(self.settings.rules)
        return RecordedNoise(self.noise, self.rules.for_endpoint, learnable).add

    def refuse_recorded_target(self, recorded_hosts: Set[str]) -> None:
        """Refuse a target at one of the ``host:port`` the traffic was recorded from."""
        if self.target_url is None or self.settings.allow_recorded_host:
            return
        parts = urlsplit(self.target_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        authority = _authority(parts.hostname or "", port)
        recorded = {_authority(*host.rsplit(":", 1)) for host in recorded_hosts}
        if authority in recorded:
            raise ParityError(
                f"--replay-target {self.target_url} is where the traffic was recorded from; "
                "point it at the candidate, or pass --replay-allow-recorded-host if that "
                "is really meant"
            )

    def start(self, items: list[Planned]) -> None:
        """Begin sending, once pytest has settled which items run (`items`, the planned
        exchanges of the items, in the order they run)."""
        runnable = [planned for planned in items if planned.skip is None]
        if not runnable:
            return
        if self.hermetic is not None:
            self.hermetic.start()
        if self.settings.noise_runs:
            safe = [planned.id for planned in runnable if planned.unsafe is None]
            if safe:
                self.learn_noise(selected(self.store, self.selection, safe, segments_of(runnable)))
        positions = [planned.position for planned in runnable]
        in_store_order = positions == sorted(positions)
        # Carried requests go out in their recorded place among the items' (`_carry`).
        sending = sorted([*runnable, *self._carried], key=lambda p: p.position)
        self._segments = segments_of(sending)
        if hasattr(self.config, "workerinput") and in_store_order:
            # A pytest-xdist worker runs only its share, and learns it item by item,
            # in collection order: read each exchange when its item runs.
            self._cursor = Cursor(self.store, self.selection, self._segments)
            self._on_demand = OnDemand(self._open_target)
            return
        if not in_store_order:  # reordered (--ff, random order): keep what will be asked
            ids = [planned.id for planned in sending]
            self._exchanges = {e.id: e for e in self._selected(ids)}
            self._on_demand = OnDemand(self._open_target)
            return
        self._replayer = Replayer(
            self._open_target,
            self._requests([planned.id for planned in sending]),
            concurrency=self.concurrency(sending),
            lookahead=_LOOKAHEAD,
        )
        self._replayer.start()

    def concurrency(self, runnable: list[Planned]) -> int:
        """Requests in flight at once: one when the run replays state-changing requests,
        so each sees the state the ones recorded before it left, as the monolith did."""
        if any(planned.unsafe for planned in runnable):
            self.ordered = True
            return 1
        return self.settings.concurrency

    def _check_target(self, spec: str | None = None, option: str = "--replay-target") -> None:
        """Open and close the target once, so a bad spec is a usage error, not N failures."""

        async def probe() -> None:
            await self._open_target(spec, option).aclose()

        asyncio.run(probe())

    def target(self) -> Target:
        """A new connection to the candidate, as this run sends to it."""
        return self._open_target()

    def _open_target(self, spec: str | None = None, option: str = "--replay-target") -> Target:
        settings = self.settings
        return open_target(
            spec or settings.target,
            timeout=settings.timeout,
            concurrency=settings.concurrency,
            headers=self.extra_headers,
            loader=self._load_app,
            option=option,
            # The plan judged each stored request; judged again only where something may
            # have changed it on the way out.
            refuse=self._refusal if self._rewrites_requests() else None,
        )

    def _rewrites_requests(self) -> bool:
        """Whether a request may go out other than as it was stored: a ReplayConfig, a
        `pytest_replay_prepare_request` hook, or headers set on every request."""
        hook = self.config.hook.pytest_replay_prepare_request
        rewrites = self.adapter is not None or bool(self.settings.credentials)
        return rewrites or bool(self.extra_headers) or bool(hook.get_hookimpls())

    def _refusal(self, key: str, request: Request) -> str | None:
        """Why `request` must not go out, judged as it is sent: after the ReplayConfig's,
        the hook's and --replay-header's changes, which the plan did not see."""
        reason = unsafe_reason(request, self.settings.rules)
        if reason is None:
            return None
        exchange_id, noise, _ = key.partition("#")
        if noise:
            return f"not sent: noise runs send only requests shown safe, and {reason}"
        if exchange_id in self.allowed_unsafe:
            return None
        endpoint = identify(request, self.settings.rules)
        if self.settings.is_safe(endpoint):
            return None
        return (
            "not sent: as prepared for sending (after the replay's rewrites and "
            f"--replay-header), {unsafe_skip(reason, endpoint, endpoint)}"
        )

    def learn_noise(self, exchanges: Iterable[Exchange]) -> None:
        """Send the request of each of `exchanges` (runnable, and safe to repeat)
        `noise_runs` times to the candidate (and the reference), and learn what changed
        from run to run."""
        specs = [(Source.CANDIDATE, self.settings.target, "--replay-target")]
        if self.settings.reference:
            specs.append((Source.REFERENCE, self.settings.reference, "--replay-reference"))
        targets = [
            (source, functools.partial(self._open_target, spec, option))
            for source, spec, option in specs
        ]
        asyncio.run(
            noise_runs(
                exchanges,
                targets,
                self.noise,
                self.rules.for_endpoint,
                runs=self.settings.noise_runs,
                concurrency=self.settings.concurrency,
                prepare=self._noise_request,
            )
        )

    def _requests(self, ids: list[str]) -> Iterator[tuple[str, Request]]:
        """The requests to send, prepared, in item order; runs on the Replayer's reading thread."""
        for exchange in self._selected(ids):
            self._exchanges[exchange.id] = exchange
            yield exchange.id, self._prepare(exchange)

    def _selected(self, ids: list[str]) -> Iterator[Exchange]:
        """The exchanges with these ids, read from the segments that hold the run's."""
        return selected(self.store, self.selection, ids, self._segments)

    def _prepare(self, exchange: Exchange) -> Request:
        request = self._sent[exchange.id] = self.prepared(exchange)
        return request

    def prepared(self, exchange: Exchange) -> Request:
        """The request to send for `exchange`, rewritten and tagged as this run sends it."""
        return self._tagged(self._rewritten(exchange), exchange, exchange.id)

    def _tagged(self, request: Request, exchange: Exchange, key: str) -> Request:
        """In a hermetic run, the request with the header that names its recorded calls."""
        if self.hermetic is None:
            return request
        from replayer.hermetic import EXCHANGE_HEADER

        # Noted as it goes out and forgotten once judged, so a long run holds none ahead.
        self.hermetic.add_replayed(exchange)
        headers = Headers([*request.headers, (EXCHANGE_HEADER, key)])
        return dataclasses.replace(request, headers=headers)

    def _noise_request(self, exchange: Exchange) -> Request:
        return self._tagged(self._rewritten(exchange), exchange, f"{exchange.id}#noise")

    def _rewritten(self, exchange: Exchange) -> Request:
        """The request to send for `exchange`: its test credentials, then the ReplayConfig's
        and the hook's rewrites."""
        request = exchange.request
        if self.settings.credentials:
            request = self.settings.credentials.applied(request, endpoint_of(exchange))
        if self.adapter is not None:
            request = self.adapter.prepare(request, exchange)
        hook = self.config.hook.pytest_replay_prepare_request
        if not hook.get_hookimpls():  # calling a hook nobody implements costs a few µs
            return request
        rewritten = hook(request=request, exchange=exchange)
        return rewritten if isinstance(rewritten, Request) else request

    # -- running ---------------------------------------------------------------------------

    def answer(self, planned: Planned) -> tuple[Exchange, Reply]:
        """The recorded exchange and the candidate's answer for this planned exchange."""
        self._carry(planned.position)
        return self._answer(planned)

    def _carry(self, before: int) -> None:
        """Send the carried requests recorded before `before`, in order (see `Planned`)."""
        while self._carried and self._carried[0].position < before:
            carried = self._carried.popleft()
            self._answer(carried)
            self.carried_sent += 1
            self._sent.pop(carried.id, None)

    def _answer(self, planned: Planned) -> tuple[Exchange, Reply]:
        key = planned.id
        if self._replayer is not None:
            answer = self._replayer.outcome(key, timeout=self.settings.timeout * 4 + 60)
            return self._exchanges.pop(key), answer
        if self._on_demand is None:
            self._on_demand = OnDemand(self._open_target)
        exchange = self._exchanges.pop(key, None)
        if exchange is None and self._cursor is not None:
            exchange = self._cursor.get(planned)
        if exchange is None:
            exchange = next(self._selected([key]))
        return exchange, self._on_demand.send(key, self._prepare(exchange))

    def replayed_state_changes(self) -> bool:
        """Whether any request not shown safe was sent in this run."""
        return self.sent_unsafe

    def keep_bodies(self, endpoint: str, kind: Hashable) -> bool:
        """Whether a mismatch of `endpoint` should carry its bodies to the report: the
        first of each `kind` (its signature) in this process, for a bounded number of
        kinds, to keep reports small; the report shows one example of each."""
        kinds = self._bodies_kept.setdefault(endpoint, set())
        if kind in kinds or len(kinds) >= _BODIES_KEPT:
            return False
        kinds.add(kind)
        return True

    def take_sent(self, exchange_id: str) -> Request | None:
        """The request as it was sent for this exchange, handed over once: only a failing
        item keeps it (to show how to reproduce), so a long run does not hold them all."""
        return self._sent.pop(exchange_id, None)

    def close(self) -> None:
        if self._replayer is not None:
            self._replayer.close()
        if self._on_demand is not None:
            self._on_demand.close()
        if self.hermetic is not None:
            self.hermetic.close()

    # -- tallies ---------------------------------------------------------------------------

    def tally(self, nodeid: str, judgement: Judgement) -> None:
        """Tally the judgement an item of this process made, as it is made. Its report's
        properties, read back by `count`, would count the same for more CPU than the rest
        of the tallying; an xdist worker's are counted from its reports at the controller.
        """
        if hasattr(self.config, "workerinput"):
            return
        judgement.tally(self.tallies)
        if judgement.unsafe is not None:
            self.sent_unsafe = True
        self._tallied = nodeid

    def count(self, report: pytest.TestReport) -> None:
        """Tally one item's result from its report, unless `tally` counted it: skipped
        items, and xdist workers' reports arriving at the controller."""
        if report.when == "call" and report.nodeid == self._tallied:
            self._tallied = None
            return
        if count_report(self.tallies, report):
            self.sent_unsafe = True


def _merged(
    configured: list[tuple[str, str]], given: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """`configured` headers, less those `given` ones replace, then `given`."""
    names = {name.lower() for name, _ in given}
    return (*((n, v) for n, v in configured if n.lower() not in names), *given)


#: Names of this machine's loopback interface, which are one host however they are written.
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "ip6-localhost"})


def _authority(host: str, port: int | str) -> str:
    """``host:port`` compared without case, every loopback name counting as one."""
    name = host.lower().strip("[]")
    return f"{'loopback' if name in _LOOPBACK or name == '::1' else name}:{port}"

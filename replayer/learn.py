"""Noise runs: each request sent several more times, to learn what never repeats.

Used by ``pytest --replay --replay-noise-runs N`` before the replay and by
``parity noise suggest --target``. Requests go in batches, a run of the
whole batch at a time, concurrently; a run that fails is left out of its
request's pairs. `NoiseSuggester` is ``parity noise suggest``: noise learned
from a store's repeated requests, and from noise runs, as rules to review.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Callable, Iterable, Sequence

from parity.compare.evidence import Source
from parity.compare.noise import NoiseModel
from parity.compare.repeats import RecordedNoise
from parity.compare.rules import Rules
from parity.compare.suggest import suggestions
from parity.project import Project
from parity.store import Store
from parity.store.reader import SegmentDamage
from parity.traffic.exchange import Exchange, Request, Response
from parity.words import counted
from replayer.selection import Selection, endpoint_of, plan, repeatable, selected
from replayer.target import Target, open_target

__all__ = ["NoiseSuggester", "noise_runs"]


async def noise_runs(
    exchanges: Iterable[Exchange],
    targets: Sequence[tuple[Source, Callable[[], Target]]],
    model: NoiseModel,
    rules_for: Callable[[str], Rules],
    *,
    runs: int,
    concurrency: int,
    prepare: Callable[[Exchange], Request] = lambda exchange: exchange.request,
    batch: int = 256,
) -> int:
    """Send each of `exchanges`' requests `runs` times to every target and teach `model`
    what differed between consecutive answers; returns how many requests were sent.

    Requests go in batches: each run sends the whole batch before the next run
    starts, so a request's answers are a batch's time apart. Sent back to back
    they could fall within one tick of a clock, and a timestamp would look stable.
    """
    opened = [(source, factory()) for source, factory in targets]
    limit = asyncio.Semaphore(concurrency)
    sent = 0

    async def answer(target: Target, key: str, request: Request) -> Response | None:
        nonlocal sent
        async with limit:
            sent += 1
            return (await target.send(key, request)).response

    async def learn(chunk: list[tuple[Exchange, Request, str]]) -> None:
        for source, target in opened:
            answers = []
            for run in range(runs):
                answers.append(
                    await asyncio.gather(
                        *(
                            answer(target, f"{exchange.id}#{run}", request)
                            for exchange, request, _ in chunk
                        )
                    )
                )
            for index, (_, _, endpoint) in enumerate(chunk):
                rules = rules_for(endpoint)
                for first, second in itertools.pairwise(run[index] for run in answers):
                    if first is not None and second is not None:
                        model.observe(source, endpoint, first, second, rules)

    try:
        chunk: list[tuple[Exchange, Request, str]] = []
        for exchange in exchanges:
            chunk.append((exchange, prepare(exchange), endpoint_of(exchange)))
            if len(chunk) >= batch:
                await learn(chunk)
                chunk = []
        if chunk:
            await learn(chunk)
    finally:
        for _, target in opened:
            await target.aclose()
    return sent


class NoiseSuggester:
    """Normalisation rules learned as noise, for a project to review: from the requests a
    store holds more than once, and from sending them again to running services.

    The project's comparison rules and ``[noise]`` settings are those it was read with
    (`parity.project.load_project`).
    """

    def __init__(self, project: Project) -> None:
        self._config = project.config
        self._rules = project.rules
        self._settings = project.noise
        self._naming = project.naming

    def suggest(
        self,
        store: Store,
        selection: Selection,
        targets: Sequence[tuple[Source, str, str]] = (),
        *,
        runs: int = 2,
        concurrency: int = 8,
        timeout: float = 5.0,
        on_damage: Callable[[SegmentDamage], None] | None = None,
    ) -> str:
        """The rules (TOML, with the evidence as comments) that the selected exchanges of
        `store` support. Each of `targets` (the source it stands for, the target spec, and
        the option that named it, for errors) is sent every request that is safe to send
        again, `runs` times."""
        model = NoiseModel(self._settings)
        naming = self._naming
        learner = RecordedNoise(model, self._rules.for_endpoint, repeatable(naming))
        planned = plan(store, selection, rules=naming, on_damage=on_damage, on_exchange=learner.add)
        described = (
            f"{store.url} ({counted(learner.repeats, 'repeated request')} of {learner.seen})"
        )
        if targets:
            opened = [
                (
                    source,
                    functools.partial(
                        open_target, spec, timeout=timeout, concurrency=concurrency, option=option
                    ),
                )
                for source, spec, option in targets
            ]
            ids = [p.id for p in planned if p.skip is None]
            sent = asyncio.run(
                noise_runs(
                    selected(store, selection, ids),
                    opened,
                    model,
                    self._rules.for_endpoint,
                    runs=runs,
                    concurrency=concurrency,
                )
            )
            names = " and ".join(spec for _, spec, _ in targets)
            described += f" and {counted(sent, 'request')} sent to {names}"
        return suggestions(model, described)

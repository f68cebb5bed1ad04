"""Noise runs: each request sent several more times, to learn what never repeats.

Used by ``pytest --replay --replay-noise-runs N`` before the replay and by
``parity noise suggest --target``. Requests go in batches, a run of the
whole batch at a time, concurrently; a run that fails is left out of its
request's pairs.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Sequence

from parity.compare.evidence import Source
from parity.compare.noise import NoiseModel
from parity.compare.rules import Rules
from parity.traffic.exchange import Exchange, Request, Response
from replayer.selection import endpoint_of
from replayer.target import Target

__all__ = ["noise_runs"]


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

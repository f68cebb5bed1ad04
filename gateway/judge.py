"""The gateway's judge: compares mirrored answers and learns noise, in a process of its own.

Comparing a pair of answers (decoding, two parses, the typed comparison) and
learning noise from the monolith's repeats cost a few hundred microseconds a
mirror: on mitmproxy's core they took a third of the proxy's throughput. The
gateway runs them here instead, in one child process (one, so that the noise
it learns is one model), through a `concurrent.futures.ProcessPoolExecutor`:
`start` runs once in the child, `judge` per mirrored pair, `explained` when
the scoreboard is written.
"""

from __future__ import annotations

from typing import Any

from parity.compare.engine import RuleSet, compare, is_graphql
from parity.compare.noise import NoiseModel, NoiseSettings, RecordedNoise, generalised
from parity.config import project_config
from parity.interop.common import decoded_body
from parity.proxy.convert import BodyLimits, Snapshot, to_exchange
from parity.traffic.exchange import Headers, Response

__all__ = ["explained", "judge", "start"]

_LIMITS = BodyLimits()


class _Judge:
    def __init__(self, config_path: str | None) -> None:
        config = project_config(config_path)
        self.rules = RuleSet.from_config(config.compare or {})
        self.noise = NoiseModel(NoiseSettings.from_config(config.noise or {}))
        self.learner = RecordedNoise(self.noise, self.rules.for_endpoint, lambda e, n: True)


_judge: _Judge | None = None


def start(config_path: str | None) -> None:
    """Read the comparison rules and noise settings, once, in the child."""
    global _judge
    _judge = _Judge(config_path)


def judge(
    snap: Snapshot,
    status: int,
    reason: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    endpoint: str,
) -> tuple[str, ...]:
    """The (generalised) paths where the candidate's answer differs from the monolith's;
    the monolith's answer also teaches the noise model (a request seen before is a repeat)."""
    assert _judge is not None, "start() runs first, as the pool's initializer"
    exchange = to_exchange(snap, "shadow", _LIMITS)  # decoded, as the recorder stores it
    monolith = exchange.response
    assert monolith is not None
    answered = Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers)
    answered, decoded, _ = decoded_body(answered, body)
    candidate = Response(status, reason.decode("latin-1"), answered, decoded)
    _judge.learner.add(exchange, endpoint)
    rules = _judge.rules.for_endpoint(endpoint)
    comparison = compare(monolith, candidate, rules, graphql=is_graphql(endpoint))
    return tuple(sorted({generalised(d.path) for d in comparison.differences}))


def explained(asked: list[tuple[str, tuple[str, ...]]]) -> list[bool]:
    """For each (endpoint, differing paths): whether noise explains every one of them."""
    assert _judge is not None
    noise: Any = _judge.noise
    return [
        all(noise.evidence(endpoint, path) is not None for path in paths)
        for endpoint, paths in asked
    ]

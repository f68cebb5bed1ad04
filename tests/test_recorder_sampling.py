from __future__ import annotations

import random

import pytest

from parity.errors import UsageError
from recorder.sampling import Decision, Sampler, SamplingPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_every_endpoint_keeps_its_floor_whatever_the_rate() -> None:
    sampler = Sampler(SamplingPolicy(rate=0.0, floor=3), clock=Clock())
    hot = [sampler.decide("GET /hot") for _ in range(100)]
    rare = [sampler.decide("GET /rare") for _ in range(2)]
    assert hot.count(Decision.KEEP) == 3
    assert hot.count(Decision.SAMPLED_OUT) == 97
    assert rare == [Decision.KEEP, Decision.KEEP]


def test_the_rate_applies_after_the_floor() -> None:
    sampler = Sampler(SamplingPolicy(rate=0.25, floor=0), clock=Clock(), rng=random.Random(7))
    kept = sum(sampler.decide("GET /x") is Decision.KEEP for _ in range(4000))
    assert 850 < kept < 1150


def test_the_cap_stops_a_hot_endpoint_until_the_next_window() -> None:
    clock = Clock()
    sampler = Sampler(SamplingPolicy(rate=1.0, cap=5, window=60), clock=clock)
    first = [sampler.decide("GET /hot") for _ in range(8)]
    assert first.count(Decision.KEEP) == 5
    assert first.count(Decision.CAPPED) == 3
    clock.now = 61
    assert sampler.decide("GET /hot") is Decision.KEEP


def test_a_seeded_sampler_decides_the_same_way_twice() -> None:
    def decisions() -> list[Decision]:
        sampler = Sampler(SamplingPolicy(rate=0.5, floor=1), clock=Clock(), rng=random.Random(3))
        return [sampler.decide(f"GET /e{i % 7}") for i in range(200)]

    assert decisions() == decisions()


@pytest.mark.parametrize("policy", [{"rate": 1.5}, {"rate": -0.1}, {"floor": -1}, {"window": 0}])
def test_impossible_policies_are_refused(policy) -> None:
    with pytest.raises(UsageError):
        SamplingPolicy(**policy)


def test_endpoints_past_the_tracked_limit_are_sampled_by_rate_and_counted(monkeypatch) -> None:
    from recorder import sampling

    monkeypatch.setattr(sampling, "MAX_TRACKED", 3)
    sampler = Sampler(SamplingPolicy(rate=1.0, floor=0, cap=1), clock=lambda: 0.0)
    decisions = [sampler.decide(f"GET /e{i}") for i in range(10)]
    assert decisions == [Decision.KEEP] * 10  # past the limit: no cap, the rate alone
    assert sampler.overflow == 7
    assert len(sampler._seen) == 3

"""Which exchanges to keep: sampling stratified by endpoint.

A plain sampling rate starves rare endpoints: at 1 %, an endpoint called ten
times an hour is almost never recorded, yet it needs certifying as much as the
hot ones. So, per endpoint and per time window:

1. the first `floor` exchanges are always kept (every endpoint gets coverage);
2. after that, each exchange is kept with probability `rate`;
3. once `cap` exchanges are kept, the rest are dropped (hot endpoints cannot
   flood the store). A cap of 0 means no cap.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from parity.errors import UsageError

__all__ = ["Decision", "Sampler", "SamplingPolicy"]

#: Endpoints tracked per window; beyond this, new endpoints get the rate alone.
MAX_TRACKED = 10_000


class Decision(StrEnum):
    KEEP = "keep"
    SAMPLED_OUT = "sampled_out"
    CAPPED = "capped"


@dataclass(frozen=True, slots=True)
class SamplingPolicy:
    rate: float = 1.0
    floor: int = 10
    cap: int = 0
    window: float = 60.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise UsageError(f"sampling rate {self.rate} is not between 0 and 1")
        if self.floor < 0 or self.cap < 0 or self.window <= 0:
            raise UsageError("floor and cap cannot be negative, and the window must be positive")


class Sampler:
    """Decides per exchange; cheap enough to run in mitmproxy's hook."""

    def __init__(
        self,
        policy: SamplingPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._random = (rng or random.Random()).random
        self._window_start = clock()
        self._seen: dict[str, int] = {}
        self._kept: dict[str, int] = {}
        #: Exchanges of endpoints past `MAX_TRACKED` in their window, decided by the rate
        #: alone (no floor, no cap): hostile traffic must not grow the state without bound.
        self.overflow = 0

    @property
    def keeps_everything(self) -> bool:
        """True when every exchange is kept (rate 1, no cap): no need to name endpoints."""
        return self.policy.rate >= 1.0 and not self.policy.cap

    def decide(self, endpoint: str) -> Decision:
        policy = self.policy
        now = self._clock()
        if now - self._window_start >= policy.window:
            self._window_start = now
            self._seen.clear()
            self._kept.clear()
        if endpoint not in self._seen and len(self._seen) >= MAX_TRACKED:
            self.overflow += 1
            return Decision.KEEP if self._random() < policy.rate else Decision.SAMPLED_OUT
        seen = self._seen[endpoint] = self._seen.get(endpoint, 0) + 1
        kept = self._kept.get(endpoint, 0)
        if policy.cap and kept >= policy.cap:
            return Decision.CAPPED
        if seen > policy.floor and self._random() >= policy.rate:
            return Decision.SAMPLED_OUT
        self._kept[endpoint] = kept + 1
        return Decision.KEEP

"""Per-endpoint tallies and verdicts: is the candidate good enough to take this endpoint?

Every replayed exchange ends as one of four outcomes. An endpoint is
`certified` when enough of its exchanges were compared (`min_samples`) and
the share that matched reaches its threshold; `failed` when they did not
match often enough; `insufficient samples` when too few could be compared;
`skipped` when none were replayed at all (state-changing, say). Target
errors count against the match rate: an endpoint the candidate cannot serve
is not certified.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Outcome", "Tally", "Verdict", "verdict"]

#: How many example exchange ids are kept per differing path.
EXAMPLES_PER_PATH = 3


class Outcome(StrEnum):
    MATCHED = "matched"
    MISMATCHED = "mismatched"
    ERROR = "error"
    SKIPPED = "skipped"


class Verdict(StrEnum):
    CERTIFIED = "certified"
    FAILED = "failed"
    INSUFFICIENT = "insufficient samples"
    SKIPPED = "skipped"


@dataclass
class Tally:
    """What happened to one endpoint's exchanges in a run."""

    endpoint: str
    counts: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    skip_reasons: Counter[str] = field(default_factory=Counter)

    def add(
        self, outcome: Outcome, exchange_id: str, paths: list[str], skip_reason: str = ""
    ) -> None:
        self.counts[outcome.value] += 1
        if outcome is Outcome.SKIPPED and skip_reason:
            self.skip_reasons[skip_reason] += 1
        for path in paths:
            self.paths[path] += 1
            kept = self.examples.setdefault(path, [])
            if len(kept) < EXAMPLES_PER_PATH:
                kept.append(exchange_id)

    @property
    def compared(self) -> int:
        """Exchanges sent to the candidate (matched, mismatched or errored)."""
        return sum(
            self.counts[o.value] for o in (Outcome.MATCHED, Outcome.MISMATCHED, Outcome.ERROR)
        )

    @property
    def match_rate(self) -> float | None:
        return self.counts[Outcome.MATCHED.value] / self.compared if self.compared else None

    def to_record(self, threshold: float, min_samples: int, most_paths: int = 10) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "verdict": verdict(self, threshold, min_samples).value,
            "replayed": self.compared,
            **{o.value: self.counts[o.value] for o in Outcome},
            "match_rate": self.match_rate,
            "threshold": threshold,
            "min_samples": min_samples,
            "differing_paths": [
                {"path": path, "count": count, "examples": self.examples.get(path, [])}
                for path, count in self.paths.most_common(most_paths)
            ],
            "skip_reasons": dict(self.skip_reasons),
        }


def verdict(tally: Tally, threshold: float, min_samples: int) -> Verdict:
    """The endpoint's verdict under its threshold and minimum sample count."""
    if tally.compared == 0:
        return Verdict.SKIPPED
    rate = tally.match_rate or 0.0
    if rate < threshold:
        return Verdict.FAILED
    if tally.compared < max(min_samples, 1):
        return Verdict.INSUFFICIENT
    return Verdict.CERTIFIED

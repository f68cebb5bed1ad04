"""The side-by-side gateway's scoreboard: what it saw of each endpoint.

Kept in its own module: mitmproxy loads the gateway addon as a script, and
dataclasses need a module Python knows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from parity.migration.live import latency_bucket, latency_figures

__all__ = ["Scoreboard", "scoreboard_line"]

#: Distinct sets of differing paths one endpoint's scoreboard keeps apart.
MAX_SIGNATURES: Final = 1_000
#: What the sets past `MAX_SIGNATURES` count as: a difference noise never explains.
OTHER_DIFFERENCES: Final = ("(other differences)",)


@dataclass
class Scoreboard:
    """What the gateway saw of one endpoint."""

    endpoint: str
    phase: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    #: Mirrored pairs by the (generalised) paths they differed at: judged against the
    #: noise learned by the time the scoreboard is read.
    differing: Counter[tuple[str, ...]] = field(default_factory=Counter)
    #: Each side's answer times since the gateway started, as histogram buckets
    #: (`parity.migration.live.latency_bucket`): bounded, and adding up across a fleet.
    monolith_latency: Counter[int] = field(default_factory=Counter)
    candidate_latency: Counter[int] = field(default_factory=Counter)

    def timed(self, side: Literal["monolith", "candidate"], seconds: float) -> None:
        """Count one answer of `side` that took `seconds`."""
        latency = self.monolith_latency if side == "monolith" else self.candidate_latency
        latency[latency_bucket(seconds)] += 1

    def differed(self, paths: tuple[str, ...]) -> None:
        """Count a mirrored pair by the paths it differed at (none: it matched). Past
        `MAX_SIGNATURES` distinct sets of paths, a new set counts as `OTHER_DIFFERENCES`:
        hostile answers must not grow the gateway's state without bound."""
        if paths not in self.differing and len(self.differing) >= MAX_SIGNATURES:
            paths = OTHER_DIFFERENCES
        self.differing[paths] += 1

    def to_record(self, explained: Mapping[tuple[str, tuple[str, ...]], bool]) -> dict[str, Any]:
        """The scoreboard as live.json holds it; `explained` says, per (endpoint, paths),
        whether noise explains every path (the judge process knows)."""
        matched = noise_only = mismatched = 0
        for paths, count in self.differing.items():
            if not paths:
                matched += count
            elif explained.get((self.endpoint, paths), False):
                noise_only += count
            else:
                mismatched += count
        return {
            "endpoint": self.endpoint,
            "phase": self.phase,
            "requests": self.counts["requests"],
            "mirrored": self.counts["mirrored"],
            "matched": matched + noise_only,
            "noise": noise_only,
            "mismatched": mismatched,
            "candidate_errors": self.counts["candidate_errors"],
            "mirror_dropped": self.counts["mirror_dropped"],
            "not_mirrored_unsafe": self.counts["not_mirrored_unsafe"],
            "served_by_candidate": self.counts["served_by_candidate"],
            "fallbacks": self.counts["fallbacks"],
            "unsafe_not_repeated": self.counts["unsafe_not_repeated"],
            "latency_ms": {
                "monolith": latency_figures(self.monolith_latency),
                "candidate": latency_figures(self.candidate_latency),
            },
            "differing_paths": dict(
                Counter(p for paths, n in self.differing.items() for p in paths for _ in range(n))
            ),
        }


def scoreboard_line(entry: dict[str, Any]) -> str:
    def latency(side: str) -> str:
        return f"{entry['latency_ms'][side]['p50']}/{entry['latency_ms'][side]['p99']} ms"

    return (
        f"{entry['endpoint']} [{entry['phase']}]: {entry['requests']} requests, "
        f"{entry['mirrored']} mirrored ({entry['matched']} matched, {entry['noise']} noise "
        f"only, {entry['mismatched']} mismatched), {entry['candidate_errors']} candidate "
        f"errors, {entry['served_by_candidate']} served by the candidate, "
        f"{entry['fallbacks']} fallbacks; p50/p99 monolith {latency('monolith')}, "
        f"candidate {latency('candidate')}"
    )

"""Per-endpoint tallies and verdicts: is the candidate good enough to take this endpoint?

Every replayed exchange ends as one of four outcomes. An endpoint is
`certified` when enough of its exchanges were compared (`min_samples`) and
the share that matched reaches its threshold; `failed` when they did not
match often enough; `insufficient samples` when too few could be compared;
`skipped` when none were replayed at all (state-changing, say). Target
errors count against the match rate: an endpoint the candidate cannot serve
is not certified.

With a latency budget (``max_p99_ratio``), an endpoint whose answers match
but whose candidate answers more slowly than the budget allows at p99 is
`slower`: certified for correctness, not for speed.

Differences absorbed as noise (see `parity.compare.noise`) are checked once the
run is over: where the candidate differed at a path far more often than
the noise there explains, the noise is *vetoed* and the exchanges it let
match count as mismatched.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from parity.compare.evidence import Evidence, NoiseSettings, explains
from parity.traffic.paths import any_index
from replayer.aggregate import Fields, Groups, Latency

__all__ = ["Outcome", "Tally", "Verdict", "blind_note", "verdict"]

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
    #: Answers as the monolith's, but more slowly than the latency budget allows.
    SLOWER = "slower"
    INSUFFICIENT = "insufficient samples"
    SKIPPED = "skipped"


@dataclass
class Tally:
    """What happened to one endpoint's exchanges in a run."""

    endpoint: str
    counts: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    #: Per differing or noisy path, its earliest recorded exchanges: (store position, id).
    examples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    #: Differences a normalisation rule ignored, by rule.
    ignored: Counter[str] = field(default_factory=Counter)
    #: Per noisy path: its evidence, and in how many exchanges noise absorbed it there.
    noise: dict[str, Evidence] = field(default_factory=dict)
    absorbed: Counter[str] = field(default_factory=Counter)
    #: Exchanges that matched only thanks to noise, by the noisy paths they needed.
    rescued: Counter[tuple[str, ...]] = field(default_factory=Counter)
    #: Exchanges by how many of their values were redacted alike on both sides, so equal
    #: without being compared (blind values; none counted under 0).
    blind: Counter[int] = field(default_factory=Counter)
    #: Mismatches by field and by signature, and both sides' answer times.
    fields: Fields = field(default_factory=Fields)
    groups: Groups = field(default_factory=Groups)
    latency: Latency = field(default_factory=Latency)

    def add(
        self,
        outcome: Outcome,
        exchange_id: str,
        paths: list[str],
        skip_reason: str = "",
        ignored: list[str] | None = None,
        noise: list[Evidence] | None = None,
        blind: int = 0,
        *,
        example: dict[str, Any] | None = None,
        latency: tuple[float | None, float | None] = (None, None),
        position: int = 0,
    ) -> None:
        """One exchange's outcome. A mismatch's `example` (its counted differences, what
        was not counted, and its bodies and reproduce commands when it has them) feeds the
        fields and groups; `latency` is (monolith, candidate) answer time in ms; `position`
        is where the exchange lies in the store (examples are the earliest recorded)."""
        self.counts[outcome.value] += 1
        if outcome in (Outcome.MATCHED, Outcome.MISMATCHED):
            self.latency.add(*latency)
        if example is not None and outcome is Outcome.MISMATCHED:
            self.fields.add(exchange_id, example["differences"], position)
            self.groups.add(exchange_id, example, position)
        if blind:
            self.blind[blind] += 1
        if outcome is Outcome.SKIPPED and skip_reason:
            self.skip_reasons[skip_reason] += 1
        for path in paths:
            self.paths[path] += 1
            self._example(path, position, exchange_id)
        self.ignored.update(ignored or ())
        for evidence in noise or ():
            self.noise[evidence.path] = evidence
            self.absorbed[evidence.path] += 1
            self._example(evidence.path, position, exchange_id)
        if noise and outcome is Outcome.MATCHED:
            self.rescued[tuple(sorted(e.path for e in noise))] += 1

    def _example(self, path: str, position: int, exchange_id: str) -> None:
        kept = self.examples.setdefault(path, [])
        if len(kept) < EXAMPLES_PER_PATH or (position, exchange_id) < kept[-1]:
            bisect.insort(kept, (position, exchange_id))
            del kept[EXAMPLES_PER_PATH:]

    def combine(self, other: Tally) -> None:
        """Add another part's tally of the same endpoint (a shard's), as if one process had
        tallied both parts' exchanges."""
        self.counts.update(other.counts)
        self.paths.update(other.paths)
        for path, kept in other.examples.items():
            self.examples[path] = sorted(self.examples.get(path, []) + kept)[:EXAMPLES_PER_PATH]
        self.skip_reasons.update(other.skip_reasons)
        self.ignored.update(other.ignored)
        for path, evidence in other.noise.items():
            self.noise.setdefault(path, evidence)
        self.absorbed.update(other.absorbed)
        self.rescued.update(other.rescued)
        self.blind.update(other.blind)
        self.fields.combine(other.fields)
        self.groups.combine(other.groups)
        self.latency.combine(other.latency)

    def to_state(self) -> dict[str, Any]:
        """Everything the tally holds, as JSON values: `from_state` in another process
        (``parity report merge``) gets back the same tally."""
        return {
            "endpoint": self.endpoint,
            "counts": dict(self.counts),
            "paths": dict(self.paths),
            "examples": {
                path: [list(pair) for pair in kept] for path, kept in self.examples.items()
            },
            "skip_reasons": dict(self.skip_reasons),
            "ignored": dict(self.ignored),
            "noise": {path: evidence.to_record() for path, evidence in self.noise.items()},
            "absorbed": dict(self.absorbed),
            "rescued": [[list(paths), count] for paths, count in self.rescued.items()],
            "blind": [[values, count] for values, count in self.blind.items()],
            "fields": self.fields.to_state(),
            "groups": self.groups.to_state(),
            "latency": self.latency.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Tally:
        return cls(
            endpoint=state["endpoint"],
            counts=Counter(state["counts"]),
            paths=Counter(state["paths"]),
            examples={
                path: [(int(position), str(exchange)) for position, exchange in kept]
                for path, kept in state["examples"].items()
            },
            skip_reasons=Counter(state["skip_reasons"]),
            ignored=Counter(state["ignored"]),
            noise={path: Evidence.from_record(record) for path, record in state["noise"].items()},
            absorbed=Counter(state["absorbed"]),
            rescued=Counter({tuple(paths): count for paths, count in state["rescued"]}),
            blind=Counter({int(values): count for values, count in state["blind"]}),
            fields=Fields.from_state(state["fields"]),
            groups=Groups.from_state(state["groups"]),
            latency=Latency.from_state(state["latency"]),
        )

    def vetoed(self, settings: NoiseSettings) -> list[str]:
        """The noisy paths whose noise does not explain how often the candidate differed."""
        return sorted(
            path
            for path, evidence in self.noise.items()
            if not explains(evidence, self.absorbed[path], self.compared, settings)
        )

    def settled(self, settings: NoiseSettings) -> Counter[str]:
        """The outcome counts once vetoed noise no longer lets exchanges match."""
        vetoed = set(self.vetoed(settings))
        counts = Counter(self.counts)
        moved = sum(n for paths, n in self.rescued.items() if vetoed.intersection(paths))
        counts[Outcome.MATCHED.value] -= moved
        counts[Outcome.MISMATCHED.value] += moved
        return counts

    @property
    def compared(self) -> int:
        """Exchanges sent to the candidate (matched, mismatched or errored)."""
        return sum(
            self.counts[o.value] for o in (Outcome.MATCHED, Outcome.MISMATCHED, Outcome.ERROR)
        )

    @property
    def blind_values(self) -> int:
        """Values equal only as redaction markers, over all this endpoint's exchanges."""
        return sum(values * exchanges for values, exchanges in self.blind.items())

    def match_rate(self, settings: NoiseSettings | None = None) -> float | None:
        counts = self.settled(settings) if settings else self.counts
        return counts[Outcome.MATCHED.value] / self.compared if self.compared else None

    def to_record(
        self,
        threshold: float,
        min_samples: int,
        settings: NoiseSettings | None = None,
        most_paths: int = 10,
        budget: float | None = None,
    ) -> dict[str, Any]:
        settings = settings or NoiseSettings()
        counts = self.settled(settings)
        vetoed = self.vetoed(settings)
        differing = self.paths + Counter({path: self.absorbed[path] for path in vetoed})
        reached = verdict(self, threshold, min_samples, settings, budget)
        fields = self.fields.to_records(self.compared)
        for path in vetoed:  # exchanges that matched only by noise the run then refuted
            fields.append(
                {
                    "path": any_index(path),
                    "exchanges": self.absorbed[path],
                    "compared": self.compared,
                    "rate": self.absorbed[path] / self.compared,
                    "kinds": {"noise refuted": self.absorbed[path]},
                    "example": None,
                    "numeric": None,
                }
            )
        return {
            "endpoint": self.endpoint,
            "verdict": reached.value,
            "verdict_note": blind_note(reached, self.blind_values),
            "blind": {
                "values": self.blind_values,
                "exchanges": sum(self.blind.values()),
                # How many exchanges had how many blind values: {"3": 12} is 12 exchanges
                # with 3 each.
                "by_values": {str(n): count for n, count in sorted(self.blind.items())},
            },
            "replayed": self.compared,
            **{o.value: counts[o.value] for o in Outcome},
            "match_rate": self.match_rate(settings),
            "threshold": threshold,
            "min_samples": min_samples,
            "differing_paths": [
                {
                    "path": path,
                    "count": count,
                    "examples": [exchange for _, exchange in self.examples.get(path, [])],
                }
                for path, count in differing.most_common(most_paths)
            ],
            "fields": fields,
            "groups": self.groups.to_records(),
            "other_groups": self.groups.others,
            "latency": self.latency.to_record(budget),
            "noise": [
                {
                    **self.noise[path].to_record(),
                    "absorbed": self.absorbed[path],
                    "explained": path not in vetoed,
                    "evidence": self.noise[path].describe(),
                }
                for path in sorted(self.noise)
            ],
            "ignored": [
                {"rule": rule, "count": count} for rule, count in self.ignored.most_common()
            ],
            "skip_reasons": dict(self.skip_reasons),
        }


def blind_note(reached: Verdict, blind: int) -> str | None:
    """What a verdict reached with blind values must say of them, or None."""
    if not blind or reached in (Verdict.SKIPPED,):
        return None
    return (
        f"{reached.value}, with {blind} value(s) not comparable: redacted alike on both sides "
        "(replay with the recording's key to compare what it pseudonymised)"
    )


def verdict(
    tally: Tally,
    threshold: float,
    min_samples: int,
    settings: NoiseSettings | None = None,
    budget: float | None = None,
) -> Verdict:
    """The endpoint's verdict under its threshold, minimum sample count and latency budget
    (the largest p99 ratio of candidate to monolith it accepts; None: no budget)."""
    if tally.compared == 0:
        return Verdict.SKIPPED
    rate = tally.match_rate(settings) or 0.0
    if rate < threshold:
        return Verdict.FAILED
    if tally.compared < max(min_samples, 1):
        return Verdict.INSUFFICIENT
    ratio = tally.latency.p99_ratio() if budget is not None else None
    if budget is not None and ratio is not None and ratio > budget:
        return Verdict.SLOWER
    return Verdict.CERTIFIED

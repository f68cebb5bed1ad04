"""Noise: the differences a service shows against itself, learned and subtracted.

A response differs from the recorded one for two reasons: the candidate
answers differently (a regression), or the value never repeats (a request
id, a timestamp, a cache age). Parity tells them apart the way Diffy does,
by watching a service disagree with itself, from three sources:

- **recorded**: the monolith answered the same request more than once in the
  store (everything that can select content equal: method, path, query, body
  and every header but a short list of transport and tracing headers, see
  `fingerprint`); `RecordedNoise` pairs each answer with the previous one;
- **candidate**: the candidate answered extra sends of a request
  (``--replay-noise-runs``);
- **reference**: a running monolith answered extra sends of a request
  (``--replay-reference``), as Diffy's primary and secondary do.

`NoiseModel` counts, per endpoint and per path (list indices generalised to
``[*]``), in how many of those pairs the value varied. A difference between
the candidate and the recording is *absorbed* as noise when its path varied
at least ``min_count`` times, and only if it is a changed value: a status,
an added or removed field, a type change or a whole non-JSON body is never
absorbed unless ``[noise] absorb`` says so. Variation seen only on the
candidate does not count where the monolith's own repeats never varied.

At the end of a run `explains` checks, per path, that the noise is real at
the rate the candidate differed (Diffy's relative and absolute thresholds):
a path where the monolith varied in 5 % of its repeats does not explain a
candidate that differs every time, and those exchanges count as mismatches.
`volatile_shape` names values that look volatile (timestamps, UUIDs, ETags,
request ids) so reports can mark a remaining difference "likely noise";
nothing is ever ignored for its shape alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from parity.compare.differences import Comparison, Difference, DiffKind
from parity.compare.engine import compare
from parity.compare.evidence import (
    EXAMPLES_KEPT,
    Evidence,
    NoiseSettings,
    Source,
    generalised,
)
from parity.compare.graphql import is_graphql
from parity.compare.rules import Rules
from parity.compare.shapes import volatile_shape
from parity.traffic.exchange import Response
from parity.traffic.paths import child

__all__ = ["NoiseModel"]


@dataclass(slots=True)
class _Varied:
    count: int = 0
    kinds: set[str] = field(default_factory=set)
    examples: list[tuple[Any, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _Endpoint:
    pairs: Counter[Source] = field(default_factory=Counter)
    paths: dict[tuple[str, Source], _Varied] = field(default_factory=dict)
    #: The (generalised) paths of the JSON answers compared: where a path never varied
    #: it was there and stable, not absent.
    present: set[str] = field(default_factory=set)
    #: The paths that varied, from any source.
    varied: set[str] = field(default_factory=set)


class NoiseModel:
    """What varied between answers to the same request, per endpoint and path."""

    def __init__(self, settings: NoiseSettings | None = None) -> None:
        self.settings = settings or NoiseSettings()
        self._endpoints: dict[str, _Endpoint] = {}
        #: `shared` per path, worked out once learning is over (observing clears it).
        self._shared: dict[str, Evidence | None] = {}

    def __bool__(self) -> bool:
        return bool(self._endpoints)

    def pairs(self, endpoint: str, source: Source) -> int:
        known = self._endpoints.get(endpoint)
        return known.pairs[source] if known else 0

    def observe(
        self, source: Source, endpoint: str, first: Response, second: Response, rules: Rules
    ) -> None:
        """Learn from two answers to one request: where, under `rules`, they disagree."""
        learned = self._endpoints.setdefault(endpoint, _Endpoint())
        if learned.pairs[source] >= self.settings.max_pairs:
            return
        learned.pairs[source] += 1
        self._shared.clear()
        _add_paths(first, learned.present)
        seen: set[str] = set()
        for difference in compare(first, second, rules, graphql=is_graphql(endpoint)).differences:
            path = generalised(difference.path)
            varied = learned.paths.setdefault((path, source), _Varied())
            varied.kinds.add(difference.kind.value)
            if path in seen:  # one pair counts once per path, however many items varied
                continue
            seen.add(path)
            learned.varied.add(path)
            varied.count += 1
            if len(varied.examples) < EXAMPLES_KEPT:
                varied.examples.append((difference.expected, difference.actual))

    def evidence(self, endpoint: str, path: str) -> Evidence | None:
        """The evidence that `path` (generalised) is noisy at `endpoint`, or None.

        The monolith's own variation (recorded or reference) counts first. The
        candidate's counts only where the monolith, repeated often enough, never
        varied at that path: there the variation is the candidate's own doing.
        """
        learned = self._endpoints.get(endpoint)
        if learned is not None:
            own = self._own(learned, path)
            if own is not None:
                return own
            if self._stable(learned, path):
                return None
        return self.shared(path)

    def _stable(self, learned: _Endpoint, path: str) -> bool:
        """Whether `path` was in answers repeated often enough and never varied."""
        return (
            path in learned.present
            and sum(learned.pairs.values()) >= self.settings.min_count
            and path not in learned.varied
        )

    def _own(self, learned: _Endpoint, path: str) -> Evidence | None:
        least = self.settings.min_count
        found = [
            self._evidence(learned, path, source)
            for source in (Source.RECORDED, Source.REFERENCE)
            if learned.paths.get((path, source), _NOTHING).count >= least
        ]
        if found:
            return max(found, key=lambda evidence: evidence.rate)
        if learned.paths.get((path, Source.CANDIDATE), _NOTHING).count < least:
            return None
        for source in (Source.RECORDED, Source.REFERENCE):
            if learned.pairs[source] >= least and (path, source) not in learned.paths:
                return None
        return self._evidence(learned, path, Source.CANDIDATE)

    def shared(self, path: str) -> Evidence | None:
        """Evidence for an endpoint never repeated: `path` is noisy on at least two endpoints
        that were, and stable on none (an envelope's request id or time, say).

        Only a difference whose values look volatile alike, as the examples do,
        is absorbed on such evidence (see `absorb`).
        """
        if path not in self._shared:
            self._shared[path] = self._shared_now(path)
        return self._shared[path]

    def _shared_now(self, path: str) -> Evidence | None:
        noisy: list[Evidence] = []
        for learned in self._endpoints.values():
            if not sum(learned.pairs.values()) or path not in learned.present:
                continue
            evidence = self._own(learned, path)
            if evidence is not None:
                noisy.append(evidence)
            elif self._stable(learned, path):
                return None  # there, repeated, and stable: not a path that varies everywhere
        if len(noisy) < 2:
            return None
        varied, pairs = sum(e.varied for e in noisy), sum(e.pairs for e in noisy)
        return Evidence(path, noisy[0].source, varied, pairs, noisy[0].examples, len(noisy))

    def _evidence(self, learned: _Endpoint, path: str, source: Source) -> Evidence:
        varied = learned.paths[(path, source)]
        return Evidence(path, source, varied.count, learned.pairs[source], tuple(varied.examples))

    def absorbable(self, difference: Difference) -> bool:
        """Whether noise may absorb this kind of difference (see the module's notes)."""
        allowed = self.settings.absorb
        if difference.path == "status" or difference.path == "body":
            return difference.path in allowed
        return difference.kind is DiffKind.CHANGED or difference.kind.value in allowed

    def absorb(
        self, endpoint: str, comparison: Comparison
    ) -> tuple[Comparison, tuple[Evidence, ...]]:
        """`comparison` with the differences noise explains moved to its ignored ones,
        each with the evidence as its rule; and the evidence used."""
        if comparison.matched or not self._endpoints:
            return comparison, ()
        kept: list[Difference] = []
        absorbed = list(comparison.ignored)
        used: dict[str, Evidence] = {}
        for difference in comparison.differences:
            evidence = None
            if self.absorbable(difference):
                evidence = self.evidence(endpoint, generalised(difference.path))
            if evidence is not None and evidence.elsewhere and not _alike(difference, evidence):
                evidence = None
            if evidence is None:
                kept.append(difference)
            else:
                used[evidence.path] = evidence
                absorbed.append((difference, f"noise: {evidence.path} {evidence.describe()}"))
        if not used:
            return comparison, ()
        return Comparison(tuple(kept), tuple(absorbed)), tuple(used.values())

    def noisy(self) -> Iterable[tuple[str, Evidence, set[str]]]:
        """Every (endpoint, evidence, kinds seen) whose path is noisy, by endpoint and path."""
        for endpoint in sorted(self._endpoints):
            learned = self._endpoints[endpoint]
            for path in sorted({path for path, _ in learned.paths}):
                evidence = self.evidence(endpoint, path)
                if evidence is not None:
                    kinds = learned.paths[(path, evidence.source)].kinds
                    yield endpoint, evidence, kinds

    def everywhere(self) -> list[tuple[Evidence, set[str]]]:
        """The paths `shared` evidence covers whose examples look volatile, with their kinds."""
        paths = sorted({path for learned in self._endpoints.values() for path, _ in learned.paths})
        found = []
        for path in paths:
            evidence = self.shared(path)
            if evidence is None or not any(volatile_shape(b) for b, _ in evidence.examples):
                continue
            kinds = {
                kind
                for learned in self._endpoints.values()
                for (named, _), varied in learned.paths.items()
                if named == path
                for kind in varied.kinds
            }
            found.append((evidence, kinds))
        return found

    def repeated(self) -> int:
        """How many endpoints have pairs of answers to learn from."""
        return sum(1 for learned in self._endpoints.values() if sum(learned.pairs.values()))

    def total_pairs(self) -> Counter[Source]:
        total: Counter[Source] = Counter()
        for learned in self._endpoints.values():
            total.update(learned.pairs)
        return total


_NOTHING: Final = _Varied()


def _alike(difference: Difference, evidence: Evidence) -> bool:
    """Whether both values of `difference` look volatile, as the evidence's examples do."""
    shape = volatile_shape(difference.expected)
    if shape is None or volatile_shape(difference.actual) != shape:
        return False
    return any(volatile_shape(before) == shape for before, _ in evidence.examples)


#: Paths kept per endpoint to tell "stable" from "absent": objects keyed by ids could
#: otherwise grow the set without end; past this, no new path is noted (see `_stable`).
_PRESENT_KEPT: Final = 10_000


def _add_paths(response: Response, paths: set[str]) -> None:
    """Add the generalised path of every value in a JSON answer to `paths`."""
    content = response.body.content
    if not content or content[:1] not in (b"{", b"[") or response.body.truncated:
        return
    if len(paths) >= _PRESENT_KEPT:
        return
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError:
        return
    stack: list[tuple[str, Any]] = [("$", document)]
    while stack:
        path, value = stack.pop()
        if path in paths and not isinstance(value, dict | list):
            continue
        paths.add(path)
        if isinstance(value, dict):
            stack.extend((child(path, key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[*]", item) for item in value)


# -- learning from the store -----------------------------------------------------------------


# -- shapes that look volatile ---------------------------------------------------------------


# -- suggestions -------------------------------------------------------------------------------

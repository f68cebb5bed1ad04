"""What an endpoint's mismatches have in common, and how fast each side answered.

A release manager reads a failed endpoint by what differs, not exchange by
exchange. So the differences of every mismatched exchange are summed up as
they arrive at the controller, in memory that does not grow with the run:

- by *field*: the path with list indexes made ``[*]`` (``$.items[0].percent``
  and ``$.items[2].percent`` are one field, ``$.items[*].percent``), with how
  many exchanges differ there, the kinds of difference, a first example and,
  for numbers, how far apart the two sides were;
- by *signature*: exchanges whose differences are at the same fields, of the
  same kinds, are one group, shown once, with its size;
- and, for every exchange compared, the monolith's recorded answer time beside
  the candidate's, as p50 and p99 per side and their ratio.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from parity.traffic.paths import any_index

__all__ = ["Fields", "Groups", "Latency", "percentile", "signature"]

#: Numeric distances kept per field for the median; the maximum counts every one.
_DISTANCES_KEPT: Final = 100_000
#: Difference groups kept per endpoint; exchanges of any other signature are counted apart.
_GROUPS_KEPT: Final = 50
#: Kinds of mismatch per endpoint counted each beyond those shown, without an example.
_GROUPS_COUNTED: Final = 2_000
#: Example exchange ids named per group.
_GROUP_IDS: Final = 5
#: Answer times kept per side and endpoint (8 bytes each): beyond, a sample of them.
_TIMES_KEPT: Final = 1_000_000


def percentile(values: Any, share: float) -> float | None:
    """The nearest-rank percentile of `values` (sorted here), or None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class _Field:
    exchanges: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    example: dict[str, Any] | None = None
    #: The store position of the example's exchange: the earliest recorded wins.
    first: int = -1
    distances: array[float] = field(default_factory=lambda: array("d"))
    numbers: int = 0
    largest: float = 0.0
    #: Across endpoints: those where the field differs, and how many exchanges they compared.
    endpoints: list[str] = field(default_factory=list)
    compared: int = 0


class Fields:
    """Differences by field (path with any index), for one endpoint or for a whole run."""

    def __init__(self) -> None:
        self._fields: dict[str, _Field] = {}

    def add(self, exchange: str, differences: list[dict[str, Any]], position: int = 0) -> None:
        """One mismatched exchange's counted differences (as `Difference.to_record` wrote
        them), at `position` in the store: each field it differs at counts once, whatever
        the number of list items."""
        seen: set[str] = set()
        for difference in differences:
            name = any_index(str(difference["path"]))
            entry = self._fields.setdefault(name, _Field())
            entry.kinds[str(difference["kind"])] += 1
            expected: Any = difference.get("expected")
            actual: Any = difference.get("actual")
            # The earliest recorded exchange's, whatever order the reports arrive in.
            if name not in seen and (entry.example is None or position < entry.first):
                entry.first = position
                entry.example = {
                    "exchange": exchange,
                    "path": difference["path"],
                    "expected": expected,
                    "actual": actual,
                }
            if _numeric(expected) and _numeric(actual):
                distance = abs(float(actual) - float(expected))
                entry.numbers += 1
                entry.largest = max(entry.largest, distance)
                if len(entry.distances) < _DISTANCES_KEPT:
                    entry.distances.append(distance)
            if name not in seen:
                seen.add(name)
                entry.exchanges += 1

    def merge(self, other: Fields, endpoint: str, compared: int) -> None:
        """Add an endpoint's fields (`other`, of `compared` exchanges) to a run's."""
        for name, theirs in other._fields.items():
            entry = self._fields.setdefault(name, _Field())
            entry.endpoints.append(endpoint)
            entry.compared += compared
            entry.exchanges += theirs.exchanges
            entry.kinds.update(theirs.kinds)
            if entry.example is None or (theirs.example is not None and theirs.first < entry.first):
                entry.example, entry.first = theirs.example, theirs.first
            entry.numbers += theirs.numbers
            entry.largest = max(entry.largest, theirs.largest)
            room = _DISTANCES_KEPT - len(entry.distances)
            entry.distances.extend(theirs.distances[:room])

    def combine(self, other: Fields) -> None:
        """Add another part's fields of the same endpoint (a shard's): exact while the
        distances kept for the median stay under their bound."""
        for name, theirs in other._fields.items():
            entry = self._fields.get(name)
            if entry is None:
                self._fields[name] = theirs
                continue
            entry.exchanges += theirs.exchanges
            entry.kinds.update(theirs.kinds)
            if entry.example is None or (theirs.example is not None and theirs.first < entry.first):
                entry.example, entry.first = theirs.example, theirs.first
            entry.numbers += theirs.numbers
            entry.largest = max(entry.largest, theirs.largest)
            entry.distances.extend(theirs.distances[: _DISTANCES_KEPT - len(entry.distances)])

    def to_state(self) -> dict[str, Any]:
        """Everything kept, as JSON values, for `from_state` in another process."""
        return {
            name: {
                "exchanges": entry.exchanges,
                "kinds": dict(entry.kinds),
                "example": entry.example,
                "first": entry.first,
                "distances": entry.distances.tolist(),
                "numbers": entry.numbers,
                "largest": entry.largest,
            }
            for name, entry in self._fields.items()
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Fields:
        fields = cls()
        for name, entry in state.items():
            fields._fields[name] = _Field(
                exchanges=entry["exchanges"],
                kinds=Counter(entry["kinds"]),
                example=entry["example"],
                first=entry["first"],
                distances=array("d", entry["distances"]),
                numbers=entry["numbers"],
                largest=entry["largest"],
            )
        return fields

    def __len__(self) -> int:
        return len(self._fields)

    def to_records(self, compared: int | None = None) -> list[dict[str, Any]]:
        """Most differing first: each field, the exchanges that differ there, and their
        share of the `compared` ones (for a run's fields: of those its endpoints compared,
        which are named)."""
        records = []
        for name, entry in sorted(self._fields.items(), key=lambda x: (-x[1].exchanges, x[0])):
            of = entry.compared if compared is None else compared
            numeric = None
            if entry.numbers:
                numeric = {
                    "differences": entry.numbers,
                    "max_abs": entry.largest,
                    "median_abs": percentile(entry.distances, 0.5),
                }
            record = {
                "path": name,
                "exchanges": entry.exchanges,
                "compared": of,
                "rate": entry.exchanges / of if of else None,
                "kinds": dict(entry.kinds.most_common()),
                "example": entry.example,
                "numeric": numeric,
            }
            if compared is None:
                record["endpoints"] = entry.endpoints
            records.append(record)
        return records


def signature(differences: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """What makes two mismatches alike: the fields they differ at, and how."""
    return tuple(sorted({(any_index(str(d["path"])), str(d["kind"])) for d in differences}))


@dataclass
class _Group:
    exchanges: int = 0
    #: The earliest recorded exchanges of the group: (store position, id).
    earliest: list[tuple[int, str]] = field(default_factory=list)
    example: dict[str, Any] | None = None
    #: Shown with its example; else only counted (a kind met after those shown).
    shown: bool = True

    @property
    def first(self) -> int:
        return self.earliest[0][0]


class Groups:
    """One endpoint's mismatches by signature: each group's size, a few of its exchange
    ids, and one whole example (its differences, bodies and reproduce commands).

    A group's ids and example are its earliest recorded exchanges, whatever order
    the reports arrive in (with pytest-xdist they interleave), so every run of a
    selection shows the same. Each process carries the bodies of the first of a
    kind it replays, which is its earliest, so the earliest of all has them.

    The groups shown are the first `_GROUPS_KEPT` signatures met; mismatches of
    later ones are counted apart (`others`). Up to `_GROUPS_COUNTED` later
    signatures are still counted each, without an example, so that the parts of
    a sharded run add up to the same groups (`combine`).
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[tuple[str, str], ...], _Group] = {}
        #: Mismatches of signatures past the `_GROUPS_COUNTED` counted ones.
        self._uncounted = 0

    @property
    def others(self) -> int:
        """Mismatches whose signature came after the `_GROUPS_KEPT` shown."""
        return self._uncounted + sum(group.exchanges for group in self._counted())

    def _shown(self) -> list[tuple[tuple[tuple[str, str], ...], _Group]]:
        return [(key, group) for key, group in self._groups.items() if group.shown]

    def _counted(self) -> list[_Group]:
        return [group for group in self._groups.values() if not group.shown]

    def add(self, exchange: str, example: dict[str, Any], position: int = 0) -> None:
        """One mismatched exchange, at `position` in the store."""
        key = signature(example["differences"])
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= _GROUPS_KEPT + _GROUPS_COUNTED:
                self._uncounted += 1
                return
            group = self._groups[key] = _Group(shown=len(self._groups) < _GROUPS_KEPT)
        group.exchanges += 1
        bisect.insort(group.earliest, (position, exchange))
        del group.earliest[_GROUP_IDS:]
        if group.shown and group.earliest[0][1] == exchange:
            group.example = {"exchange": exchange, **example}

    def combine(self, other: Groups) -> None:
        """Add another part's groups of the same endpoint (a shard's, that read its part in
        store order). The groups shown are the `_GROUPS_KEPT` met first in the store, as
        one process reading it all in order shows; each of them is among the first met in
        the part that met it first, so its example is there; its count is whole while no
        part had more than `_GROUPS_KEPT + _GROUPS_COUNTED` kinds."""
        self._uncounted += other._uncounted
        for key, theirs in other._groups.items():
            group = self._groups.get(key)
            if group is None:
                self._groups[key] = dataclasses.replace(theirs, earliest=list(theirs.earliest))
                continue
            group.exchanges += theirs.exchanges
            if theirs.first < group.first:
                group.example = theirs.example
            group.earliest = sorted(group.earliest + theirs.earliest)[:_GROUP_IDS]
        ordered = sorted(self._groups.items(), key=lambda item: item[1].first)
        for rank, (_, group) in enumerate(ordered):
            group.shown = rank < _GROUPS_KEPT
            if not group.shown:
                group.example = None
        for _, group in ordered[_GROUPS_KEPT + _GROUPS_COUNTED :]:
            self._uncounted += group.exchanges
        self._groups = dict(ordered[: _GROUPS_KEPT + _GROUPS_COUNTED])

    def to_state(self) -> dict[str, Any]:
        return {
            "uncounted": self._uncounted,
            "groups": [
                {
                    "signature": [list(pair) for pair in key],
                    "exchanges": group.exchanges,
                    "earliest": [list(pair) for pair in group.earliest],
                    "example": group.example,
                    "shown": group.shown,
                }
                for key, group in self._groups.items()
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Groups:
        groups = cls()
        groups._uncounted = state["uncounted"]
        for entry in state["groups"]:
            key = tuple((str(path), str(kind)) for path, kind in entry["signature"])
            groups._groups[key] = _Group(
                entry["exchanges"],
                [(int(position), str(exchange)) for position, exchange in entry["earliest"]],
                entry["example"],
                bool(entry["shown"]),
            )
        return groups

    def to_records(self) -> list[dict[str, Any]]:
        """The groups shown, largest first."""
        ordered = sorted(self._shown(), key=lambda x: (-x[1].exchanges, x[0]))
        return [
            {
                "signature": [{"path": path, "kind": kind} for path, kind in key],
                "exchanges": group.exchanges,
                "exchange_ids": [exchange for _, exchange in group.earliest],
                "shown": 1 if group.example else 0,
                "example": group.example,
            }
            for key, group in ordered
        ]


@dataclass
class Latency:
    """Answer times of one endpoint, in milliseconds: the monolith's as recorded, the
    candidate's as this run measured them (see docs/REPLAYING.md for what each includes)."""

    monolith: array[float] = field(default_factory=lambda: array("d"))
    candidate: array[float] = field(default_factory=lambda: array("d"))

    def add(self, monolith_ms: float | None, candidate_ms: float | None) -> None:
        for times, value in ((self.monolith, monolith_ms), (self.candidate, candidate_ms)):
            if value is not None and value >= 0 and len(times) < _TIMES_KEPT:
                times.append(value)

    def combine(self, other: Latency) -> None:
        """Add another part's answer times: percentiles over the union are exact while
        each side keeps under `_TIMES_KEPT` times."""
        for mine, theirs in ((self.monolith, other.monolith), (self.candidate, other.candidate)):
            mine.extend(theirs[: _TIMES_KEPT - len(mine)])

    def to_state(self) -> dict[str, Any]:
        return {"monolith": self.monolith.tolist(), "candidate": self.candidate.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Latency:
        return cls(array("d", state["monolith"]), array("d", state["candidate"]))

    def p99_ratio(self) -> float | None:
        """The candidate's p99 over the monolith's, or None without both."""
        return _ratio(percentile(self.candidate, 0.99), percentile(self.monolith, 0.99))

    def to_record(self, budget: float | None) -> dict[str, Any]:
        sides = {}
        for name, times in (("monolith", self.monolith), ("candidate", self.candidate)):
            sides[f"{name}_ms"] = {
                "count": len(times),
                "p50": percentile(times, 0.5),
                "p99": percentile(times, 0.99),
            }
        ratio = self.p99_ratio()
        return {
            **sides,
            "p50_ratio": _ratio(sides["candidate_ms"]["p50"], sides["monolith_ms"]["p50"]),
            "p99_ratio": ratio,
            "max_p99_ratio": budget,
            "slower": budget is not None and ratio is not None and ratio > budget,
        }


def _ratio(candidate: float | None, monolith: float | None) -> float | None:
    if candidate is None or monolith is None or monolith <= 0:
        return None
    return candidate / monolith

"""live.json: what the side-by-side gateway saw per endpoint, the evidence promotion reads,
and how the live.json of a fleet of gateways add up.

The format belongs to neither side: the gateway writes it (`gateway.scoreboard`),
`parity promote` and `parity report` read it; both take the version from here.

Version 2 says which routing table the gateway routed by when it wrote the
file (``routing_table``, `RoutingTable.fingerprint`), and keeps each side's
answer times as a histogram (`latency_bucket`, `latency_figures`), so that
`combine_live` adds several gateways' files up to what one gateway that had
seen all their traffic would have written. Version 1 said neither: one such
file is still read as it is, and several are refused.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, TypeGuard

from parity.errors import UsageError
from parity.traffic.times import timestamp_of

__all__ = [
    "BUCKETS_PER_DOUBLING",
    "LIVE_COUNTS",
    "LIVE_SCHEMA",
    "MIXED",
    "check_live",
    "combine_live",
    "latency_bucket",
    "latency_figures",
]

#: The live.json schema version: ``routing_table`` and ``endpoints``; per endpoint
#: ``endpoint``, ``phase``, the `LIVE_COUNTS`, ``latency_ms`` (per side p50, p99, count and
#: buckets) and ``differing_paths``. Version 1 had no ``routing_table`` and no buckets.
LIVE_SCHEMA: Final = 2
#: The counts of an endpoint's entry, each added up across gateways.
LIVE_COUNTS: Final = (
    "requests",
    "mirrored",
    "matched",
    "noise",
    "mismatched",
    "candidate_errors",
    "mirror_dropped",
    "not_mirrored_unsafe",
    "served_by_candidate",
    "fallbacks",
    "unsafe_not_repeated",
)
#: Latency buckets per doubling: bucket ``i`` holds the answers that took more than
#: 2**((i - 1) / 16) and at most 2**(i / 16) microseconds (bucket 0: 1 microsecond or
#: less). A percentile read from them is the bucket's upper edge, rounded up to the
#: microsecond: never below the true one, and less than 4.4% (or a microsecond) above.
BUCKETS_PER_DOUBLING: Final = 16
#: The phase of an entry that counts endpoints (or gateways) in different phases.
MIXED: Final = "mixed"
_SIDES: Final = ("monolith", "candidate")
_ENTRY_FIELDS: Final = frozenset(
    {"endpoint", "phase", *LIVE_COUNTS, "latency_ms", "differing_paths"}
)


def check_live(document: Mapping[str, Any], where: str = "live.json") -> None:
    """Refuse, in one sentence, a live.json (the file `where`) of a version this Parity
    cannot read."""
    version = document.get("schema_version")
    if isinstance(version, bool) or version not in range(1, LIVE_SCHEMA + 1):
        raise UsageError(
            f"{where} has schema version {version!r}, which this Parity (live.json schema 1 "
            f"to {LIVE_SCHEMA}) cannot read; give the live.json a gateway wrote, or upgrade "
            "Parity"
        )


def latency_bucket(seconds: float) -> int:
    """The histogram bucket of an answer that took `seconds` (see `BUCKETS_PER_DOUBLING`)."""
    micros = seconds * 1_000_000
    if not micros > 1:  # also a clock that went backwards
        return 0
    return math.ceil(BUCKETS_PER_DOUBLING * math.log2(micros))


def latency_figures(buckets: Mapping[int, int]) -> dict[str, Any]:
    """One side's answer times as live.json holds them: the p50 and p99 in milliseconds
    (the upper edge of the bucket each falls in; None when nothing was timed), how many
    answers were timed, and the non-empty buckets by number."""
    count = sum(buckets.values())
    return {
        "p50": _percentile(buckets, count, 0.5),
        "p99": _percentile(buckets, count, 0.99),
        "count": count,
        "buckets": {str(index): buckets[index] for index in sorted(buckets) if buckets[index]},
    }


def _percentile(buckets: Mapping[int, int], count: int, share: float) -> float | None:
    if not count:
        return None
    rank = min(count - 1, int(share * count))  # of the answers, quickest first
    seen = 0
    for index in sorted(buckets):
        seen += buckets[index]
        if seen > rank:
            break
    return math.ceil(2 ** (index / BUCKETS_PER_DOUBLING)) / 1000  # up to a microsecond


def combine_live(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The live.json of a fleet: the (file name, document) of each gateway, added up.

    One document is returned as it is, of any version this Parity reads. Several must
    all be of this version and name the same routing table, or a `UsageError` names the
    files and the fix. Per endpoint, every count and every differing path's count is
    the sum of the gateways'; each side's latency buckets are summed and the p50 and p99
    read again from the sum; the phase is the gateways' common one, else `MIXED`. The
    result's ``generated_at`` is the oldest file's, and ``gateways`` names each file
    with its time.
    """
    names = [name for name, _ in documents]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"{name} is given twice; give each gateway's live.json once")
    for name, document in documents:
        check_live(document, name)
    if len(documents) == 1:
        return dict(documents[0][1])
    _same_version(documents)
    table = _same_table(documents)
    times = {name: _generated_at(name, document) for name, document in documents}
    parts: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for name, document in documents:
        for endpoint, entry in _entries(name, document).items():
            parts.setdefault(endpoint, []).append((name, entry))
    return {
        "schema_version": LIVE_SCHEMA,
        "generated_at": min(times.values(), key=timestamp_of),
        "routing_table": table,
        "gateways": [{"file": name, "generated_at": times[name]} for name in names],
        "endpoints": [_added_up(endpoint, parts[endpoint]) for endpoint in sorted(parts)],
    }


def _listed(names: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    named = list(names)
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


def _grouped(by: Mapping[str, object], label: str) -> str:
    """Files grouped by a value: ``a and b (label 1) and c (label 2)``."""
    groups: dict[object, list[str]] = {}
    for name, value in by.items():
        groups.setdefault(value, []).append(name)
    return _listed(f"{_listed(group)} ({label} {value})" for value, group in groups.items())


def _same_version(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    versions = {name: document["schema_version"] for name, document in documents}
    if len(set(versions.values())) > 1:
        raise UsageError(
            f"{_grouped(versions, 'live.json schema')} were written by different versions "
            "of Parity and cannot be added up; run every gateway with this Parity, which "
            f"writes schema {LIVE_SCHEMA}, and give the files they write then"
        )
    if LIVE_SCHEMA not in versions.values():
        raise UsageError(
            f"{_listed(versions)} are live.json schema {versions[documents[0][0]]}, which "
            "does not say which routing table each gateway routed by, so they cannot be "
            f"added up; run the gateways with this Parity (it writes schema {LIVE_SCHEMA}), "
            "or give one file at a time"
        )


def _same_table(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    tables = {name: document.get("routing_table") for name, document in documents}
    for name, table in tables.items():
        if not isinstance(table, str) or not table:
            raise _not_written(name, "it names no routing table")
    if len(set(tables.values())) > 1:
        raise UsageError(
            f"{_grouped(tables, 'routing table')} were written under different routing "
            "tables and cannot be added up; give the live.json of gateways that route by the "
            "same routes.toml, or, after the table changed, wait until every gateway has "
            "written its live.json again (every parity_live_interval seconds)"
        )
    return str(tables[documents[0][0]])


def _generated_at(name: str, document: Mapping[str, Any]) -> str:
    moment = document.get("generated_at")
    try:
        timestamp_of(moment)
    except ValueError:
        raise _not_written(name, f"its generated_at {moment!r} is not a time") from None
    return str(moment)


def _not_written(name: str, problem: str) -> UsageError:
    return UsageError(f"{name}: {problem}; give the live.json a gateway of this Parity wrote")


def _entries(name: str, document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    entries = document.get("endpoints")
    if not isinstance(entries, list) or not all(
        isinstance(e, Mapping) and isinstance(e.get("endpoint"), str) for e in entries
    ):
        raise _not_written(name, "it has no list of endpoints")
    found: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        endpoint = entry["endpoint"]
        if endpoint in found:
            raise _not_written(name, f"it lists {endpoint} twice")
        unknown = sorted(set(entry) - _ENTRY_FIELDS)
        if unknown:
            raise _not_written(name, f"{endpoint} has {unknown[0]!r}, which Parity cannot add up")
        found[endpoint] = entry
    return found


def _counts(name: str, endpoint: str, value: object, what: str) -> Counter[str]:
    """A mapping of names to counts, checked: the differing paths, or a side's buckets."""
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and _is_count(count) for key, count in value.items()
    ):
        raise _not_written(name, f"{endpoint}'s {what} are not counts by name")
    return Counter(value)


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _added_up(endpoint: str, parts: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One endpoint's entries from several gateways, as one."""
    phases = {entry.get("phase") for _, entry in parts}
    totals: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    buckets: dict[str, Counter[int]] = {side: Counter() for side in _SIDES}
    for name, entry in parts:
        for field in LIVE_COUNTS:
            value = entry.get(field)
            if not _is_count(value):
                raise _not_written(name, f"{endpoint}'s {field} is {value!r}, not a count")
            totals[field] += value
        paths.update(_counts(name, endpoint, entry.get("differing_paths"), "differing paths"))
        latency = entry.get("latency_ms")
        for side in _SIDES:
            figures = latency.get(side) if isinstance(latency, Mapping) else None
            held = figures.get("buckets") if isinstance(figures, Mapping) else None
            what = f"{side} latency buckets"
            for index, count in _counts(name, endpoint, held, what).items():
                if not (index.isascii() and index.isdigit()):
                    raise _not_written(name, f"{endpoint}'s {what} are not numbered")
                buckets[side][int(index)] += count
    return {
        "endpoint": endpoint,
        "phase": phases.pop() if len(phases) == 1 else MIXED,
        **{field: totals[field] for field in LIVE_COUNTS},
        "latency_ms": {side: latency_figures(buckets[side]) for side in _SIDES},
        "differing_paths": dict(paths),
    }

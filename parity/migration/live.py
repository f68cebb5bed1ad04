"""live.json: what the side-by-side gateway saw per endpoint, the evidence promotion reads.

The format belongs to neither side: the gateway writes it (`gateway.scoreboard`),
`parity promote` and `parity report` read it; both take the version from here.

Version 2 says which routing table the gateway routed by when it wrote the
file (``routing_table``, `RoutingTable.fingerprint`), and keeps each side's
answer times as a histogram (`latency_bucket`, `latency_figures`): several
gateways' files can then be added up to what one gateway that had seen all
their traffic would have written. Version 1 said neither; it is still read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from parity.errors import UsageError

__all__ = [
    "BUCKETS_PER_DOUBLING",
    "LIVE_SCHEMA",
    "MIXED",
    "check_live",
    "latency_bucket",
    "latency_figures",
]

#: The live.json schema version: ``routing_table`` and ``endpoints``; per endpoint
#: ``endpoint``, ``phase``, ``mirrored``, ``matched``, ``mismatched``, ``noise``,
#: ``candidate_errors``, ``served_by_candidate``, ``fallbacks`` (counts), ``latency_ms``
#: (per side p50, p99, count and buckets) and ``differing_paths``. Version 1 had no
#: ``routing_table`` and no buckets.
LIVE_SCHEMA: Final = 2
#: Latency buckets per doubling: bucket ``i`` holds the answers that took more than
#: 2**((i - 1) / 16) and at most 2**(i / 16) microseconds (bucket 0: 1 microsecond or
#: less). A percentile read from them is the bucket's upper edge, rounded up to the
#: microsecond: never below the true one, and less than 4.4% (or a microsecond) above.
BUCKETS_PER_DOUBLING: Final = 16
#: The phase of an entry that counts endpoints in different phases.
MIXED: Final = "mixed"


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

"""Shards: one run's selection split over N processes, machines or CI jobs.

``--replay-shard=K/N`` (1-based, as Playwright and pytest-split spell it)
makes this process replay the K-th of N disjoint parts of exactly the
selection an unsharded run would make: the same endpoints, time range,
per-endpoint sample and safety decisions, taken before the split. The parts
together replay each selected exchange once, and ``parity report merge``
adds their results up to what one run would have written.

Two ways to split:

- by *exchange* (the default): each exchange goes to the shard its id hashes
  to. Every shard reads the whole store to plan, and again to replay its own
  exchanges. Requests not shown safe that the run sends anyway all go to
  shard 1, so they keep their recorded order, as in one process.
- by *segment*: each segment goes to the shard its key hashes to, and a shard
  reads only its own segments, far fewer reads on a big S3 store. A shard
  reads every segment once more only when the selection needs the whole store
  to decide: a per-endpoint sample (the sample is drawn over all exchanges),
  noise learned from the recording, or a hermetic replay (a dependency call
  may be in another segment). State-changing requests stay in their segment's
  shard, so their order across shards is not kept.

The shard can also come from the environment: ``PARITY_SHARD=K/N``, or a
Kubernetes Indexed Job's ``JOB_COMPLETION_INDEX`` (0-based) with
``--replay-shards=N``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from parity.errors import UsageError

__all__ = ["Shard", "ShardBy", "shard_from"]

_SPELLING: Final = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


class ShardBy(StrEnum):
    EXCHANGE = "exchange"
    SEGMENT = "segment"


@dataclass(frozen=True, slots=True)
class Shard:
    """The `index`-th (1-based) of `count` parts of a run, split `by` exchange or segment."""

    index: int
    count: int
    by: ShardBy = ShardBy.EXCHANGE

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def _mine(self, name: str) -> bool:
        digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.index - 1

    def takes_exchange(self, exchange_id: str) -> bool:
        """Whether this shard replays the exchange (when split by exchange)."""
        return self.count == 1 or self._mine(exchange_id)

    def takes_segment(self, key: str) -> bool:
        """Whether this shard replays the exchanges of the segment with this key (when
        split by segment)."""
        return self.count == 1 or self._mine(key)


def parse_shard(text: str, where: str, by: ShardBy) -> Shard:
    """``K/N`` as a Shard, or a `UsageError` naming `where` it was given."""
    found = _SPELLING.fullmatch(text)
    if found is None:
        raise UsageError(f"{where} {text!r} is not K/N: write e.g. {where.split()[0]}=2/4")
    index, count = int(found[1]), int(found[2])
    if count < 1 or not 1 <= index <= count:
        raise UsageError(
            f"{where} {text!r} names shard {index} of {count}: K counts from 1 to N, "
            "e.g. 1/4 to 4/4"
        )
    return Shard(index, count, by)


def shard_from(
    given: str | None, shards: int | None, by: str | None, environ: Mapping[str, str]
) -> Shard | None:
    """The run's shard: ``--replay-shard`` (`given`), else ``PARITY_SHARD``, else a
    Kubernetes Indexed Job's ``JOB_COMPLETION_INDEX`` with ``--replay-shards`` (`shards`);
    None for a run that is not sharded."""
    try:
        split = ShardBy(by or ShardBy.EXCHANGE)
    except ValueError:
        raise UsageError(f"--replay-shard-by takes exchange or segment, not {by!r}") from None
    if given:
        return parse_shard(given, "--replay-shard", split)
    if environ.get("PARITY_SHARD"):
        return parse_shard(environ["PARITY_SHARD"], "PARITY_SHARD", split)
    if shards is None:
        if by:
            raise UsageError(
                "--replay-shard-by says how to split a sharded run: give --replay-shard K/N "
                "(or PARITY_SHARD, or --replay-shards N in a Kubernetes Indexed Job) too"
            )
        return None
    if shards < 1:
        raise UsageError(f"--replay-shards is the number of shards, at least 1, not {shards}")
    index = environ.get("JOB_COMPLETION_INDEX", "")
    if not index.strip().isdigit():
        raise UsageError(
            "--replay-shards N takes this shard's number from JOB_COMPLETION_INDEX, which a "
            "Kubernetes Indexed Job sets and which is "
            + (f"{index!r} here" if index else "not set here")
            + "; outside Kubernetes give --replay-shard K/N"
        )
    if int(index) >= shards:
        raise UsageError(
            f"JOB_COMPLETION_INDEX {int(index)} is past the last of --replay-shards {shards} "
            f"(indexes 0 to {shards - 1}): give the Job as many completions as shards"
        )
    return Shard(int(index) + 1, shards, split)

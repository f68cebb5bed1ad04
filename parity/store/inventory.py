"""What a store holds, per endpoint, gathered in one streaming pass.

Memory grows with the number of endpoints, never with the number of
exchanges, so a store of millions of records is summarised in constant space.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parity.errors import ParityError
from parity.store import SegmentInfo, Store, iter_records
from parity.store.reader import SegmentDamage
from parity.traffic.endpoint import EndpointRules, identify
from parity.traffic.exchange import Exchange, Request
from parity.traffic.records import Record

__all__ = ["EndpointSummary", "Inventory", "find_exchange", "take_inventory"]


@dataclass(slots=True)
class EndpointSummary:
    """Counts for one endpoint."""

    endpoint: str
    exchanges: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    body_bytes: int = 0
    first: float | None = None
    last: float | None = None

    def add(self, record: Record) -> None:
        self.exchanges += 1
        request = record["request"]
        started = request["timestamp_start"]
        self.first = started if self.first is None else min(self.first, started)
        self.last = started if self.last is None else max(self.last, started)
        self.body_bytes += request["body"]["size"]
        response = record["response"]
        if response is None:
            self.errors += 1
        else:
            self.statuses[response["status"]] += 1
            self.body_bytes += response["body"]["size"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "exchanges": self.exchanges,
            "errors": self.errors,
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
            "body_bytes": self.body_bytes,
            "first": self.first,
            "last": self.last,
        }


@dataclass(slots=True)
class Inventory:
    """What a store holds: per-endpoint summaries and store-wide totals."""

    store: str
    segments: int = 0
    stored_bytes: int = 0
    endpoints: dict[str, EndpointSummary] = field(default_factory=dict)
    damaged: list[SegmentDamage] = field(default_factory=list)
    malformed: int = 0

    @property
    def exchanges(self) -> int:
        return sum(s.exchanges for s in self.endpoints.values())

    @property
    def body_bytes(self) -> int:
        return sum(s.body_bytes for s in self.endpoints.values())

    @property
    def first(self) -> float | None:
        return min((s.first for s in self.endpoints.values() if s.first is not None), default=None)

    @property
    def last(self) -> float | None:
        return max((s.last for s in self.endpoints.values() if s.last is not None), default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "segments": self.segments,
            "stored_bytes": self.stored_bytes,
            "exchanges": self.exchanges,
            "body_bytes": self.body_bytes,
            "first": self.first,
            "last": self.last,
            "malformed_records": self.malformed,
            "damaged_segments": [d.message for d in self.damaged],
            "endpoints": [s.to_dict() for s in sorted_summaries(self)],
        }


def sorted_summaries(inventory: Inventory) -> list[EndpointSummary]:
    return sorted(inventory.endpoints.values(), key=lambda s: (-s.exchanges, s.endpoint))


def _endpoint_of(record: Record, rules: EndpointRules | None) -> str:
    if rules is None and isinstance(record.get("endpoint"), str):
        return str(record["endpoint"])
    request = Request.from_record(record["request"])
    return identify(request) if rules is None else identify(request, rules)


def take_inventory(
    store: Store,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    rules: EndpointRules | None = None,
    on_damage: Callable[[SegmentDamage], None] | None = None,
) -> Inventory:
    """Summarise the store in one pass. With `rules`, endpoints are identified anew
    instead of taken from what the recorder stored."""
    inventory = Inventory(store.url)

    def damaged(damage: SegmentDamage) -> None:
        inventory.damaged.append(damage)
        if on_damage is not None:
            on_damage(damage)

    def segment(info: SegmentInfo) -> None:
        inventory.segments += 1
        inventory.stored_bytes += info.size

    for record in iter_records(store, since, until, on_damage=damaged, on_segment=segment):
        try:
            endpoint = _endpoint_of(record, rules)
            summary = inventory.endpoints.get(endpoint)
            if summary is None:
                summary = inventory.endpoints[endpoint] = EndpointSummary(endpoint)
            summary.add(record)
        except (KeyError, TypeError, ValueError, ParityError):
            inventory.malformed += 1
    return inventory


def find_exchange(records: Iterable[Record], exchange_id: str) -> Exchange | None:
    """The exchange with `exchange_id` among `records`, or None."""
    for record in records:
        if record.get("id") == exchange_id:
            return Exchange.from_record(record)
    return None

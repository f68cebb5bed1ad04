"""What a store holds, per endpoint, gathered in one streaming pass; and one exchange in
it, found by id.

Memory grows with the number of endpoints, never with the number of
exchanges, so a store of millions of records is summarised in constant space.
`inventory_lines` is the summary as `parity ls` prints it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from parity.errors import ParityError
from parity.store import SegmentInfo, Store, iter_records
from parity.store.reader import SegmentDamage
from parity.terminal import printable
from parity.traffic.endpoint import EndpointRules, identify
from parity.traffic.exchange import Exchange, Request
from parity.traffic.ids import exchange_id_time
from parity.traffic.records import Record
from parity.traffic.times import format_time
from parity.words import counted, human_size

__all__ = [
    "EndpointSummary",
    "Inventory",
    "exchange_by_id",
    "find_exchange",
    "inventory_lines",
    "take_inventory",
]


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


def exchange_by_id(
    store: Store,
    exchange_id: str,
    *,
    on_damage: Callable[[SegmentDamage], None] | None = None,
) -> Exchange | None:
    """The exchange with `exchange_id` in `store`, or None. An id carries its start time,
    so the hours around it are read first, and the whole store only when it is not there."""
    started = exchange_id_time(exchange_id)
    if started is not None:
        moment = datetime.fromtimestamp(started).astimezone()
        near = iter_records(
            store, moment - timedelta(hours=1), moment + timedelta(hours=1), on_damage=on_damage
        )
        exchange = find_exchange(near, exchange_id)
        if exchange is not None:
            return exchange
    return find_exchange(iter_records(store, on_damage=on_damage), exchange_id)


#: The columns of `inventory_lines`' table, and those aligned right (the numbers).
_COLUMNS = ("ENDPOINT", "EXCHANGES", "ERRORS", "STATUS", "BODIES", "FIRST (UTC)", "LAST (UTC)")
_NUMERIC = frozenset({1, 2, 4})


def inventory_lines(inventory: Inventory) -> Iterator[str]:
    """The inventory as `parity ls` prints it: one line on the whole store, one on the
    malformed records left out (if any), then a table of endpoints, the busiest first.
    Endpoint names come from recordings, so the table's lines are escaped for a terminal."""
    span = (
        f"from {format_time(inventory.first)} to {format_time(inventory.last)} UTC"
        if inventory.exchanges
        else "no exchanges"
    )
    yield (
        f"{inventory.store}: {counted(inventory.exchanges, 'exchange')} on "
        f"{counted(len(inventory.endpoints), 'endpoint')} "
        f"in {counted(inventory.segments, 'segment')} "
        f"({human_size(inventory.stored_bytes)} stored, "
        f"{human_size(inventory.body_bytes)} of bodies), {span}"
    )
    if inventory.malformed:
        yield f"{counted(inventory.malformed, 'malformed record')} left out"
    summaries = sorted_summaries(inventory)
    if not summaries:
        return
    rows = [_COLUMNS]
    for s in summaries:
        statuses = " ".join(f"{code}x{n}" for code, n in sorted(s.statuses.items()))
        rows.append(
            (
                s.endpoint,
                str(s.exchanges),
                str(s.errors),
                statuses or "-",
                human_size(s.body_bytes),
                format_time(s.first),
                format_time(s.last),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    yield ""
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in _NUMERIC else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        yield printable("  ".join(cells).rstrip())

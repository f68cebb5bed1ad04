"""`parity export`: a store's exchanges, chosen by time and endpoint, in another tool's format.

HAR is one file that browsers' devtools open; vcrpy cassettes are a
directory of YAML files, one per endpoint or per correlation id
(`Grouping`), that vcrpy and pytest-recording replay. Every writer has the
same shape (`ExportWriter`), so that `parity.interop.registry` chooses one by
name, and says what it wrote as the command reports it (`Exported`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from parity.interop.cassette import write_cassette
from parity.interop.har import write_har
from parity.store import Store, iter_exchanges
from parity.store.reader import SegmentDamage
from parity.traffic.endpoint import matches
from parity.traffic.exchange import Exchange
from parity.words import counted

__all__ = [
    "ExportWriter",
    "Exported",
    "Grouping",
    "export_cassettes",
    "export_har",
    "select_exchanges",
]


class Grouping(StrEnum):
    """What one cassette holds: the exchanges of one endpoint, or of one correlation id."""

    ENDPOINT = "endpoint"
    CORRELATION = "correlation"


@dataclass(frozen=True, slots=True)
class Exported:
    """What an export wrote: how many entries, that count as a message says it ("278
    interactions in 20 cassettes"), and a warning about what the format could not hold."""

    written: int
    summary: str
    warning: str | None = None


#: A format's writer: the exchanges, where they go (a file or a directory, as the format
#: needs), and how to group them where the format has several files.
ExportWriter = Callable[[Sequence[Exchange], Path, Grouping], Exported]


def select_exchanges(
    store: Store,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    endpoints: Sequence[str] = (),
    on_damage: Callable[[SegmentDamage], None] | None = None,
) -> list[Exchange]:
    """The exchanges of `store` in the time range whose endpoint matches one of the globs
    `endpoints` (every exchange when there are none), in stored order."""
    return [
        exchange
        for exchange in iter_exchanges(store, since, until, on_damage=on_damage)
        if not endpoints or any(matches(exchange.endpoint or "", g) for g in endpoints)
    ]


def export_har(
    exchanges: Sequence[Exchange], out: Path, grouping: Grouping = Grouping.ENDPOINT
) -> Exported:
    """One HAR 1.2 file at `out`, an entry per exchange; a HAR file is never grouped."""
    count = write_har(exchanges, out)
    return Exported(count, counted(count, "HAR entry"))


def export_cassettes(
    exchanges: Sequence[Exchange], out: Path, grouping: Grouping = Grouping.ENDPOINT
) -> Exported:
    """A vcrpy cassette per endpoint (or per correlation id) in the directory `out`, each
    named after it. Exchanges without a response are left out: a cassette cannot hold
    them, and the warning says how many."""
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        name = exchange.endpoint if grouping is Grouping.ENDPOINT else exchange.correlation_id
        groups.setdefault(name or "uncorrelated", []).append(exchange)
    total = left_out = 0
    for name, grouped in groups.items():
        written, missing = write_cassette(grouped, out / f"{_file_name(name)}.yaml")
        total, left_out = total + written, left_out + missing
    warning = (
        f"left out {counted(left_out, 'exchange')} that got no response: a cassette cannot "
        "hold them"
        if left_out
        else None
    )
    return Exported(
        total, f"{counted(total, 'interaction')} in {counted(len(groups), 'cassette')}", warning
    )


def _file_name(name: str) -> str:
    """A file name for a cassette: the endpoint or correlation id, safe on any system."""
    cleaned = "".join(c if c.isalnum() or c in "-." else "_" for c in name).strip("._")
    return "_".join(part for part in cleaned.split("_") if part)[:120] or "cassette"

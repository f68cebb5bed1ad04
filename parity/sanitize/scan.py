"""Auditing a store: anything in it that looks like a secret or personal data.

`parity scan` runs the sanitiser's own first pass (`parity.sanitize`) over
every stored exchange, so it finds exactly what sanitising would have
changed: credential headers and cookies, values under sensitive names,
values the detectors recognise (also base64-, entity- and percent-encoded),
GraphQL literals, the parts of multipart, XML and JSON Lines bodies, and
bodies that cannot be read whole. A record that says it was sanitised is
judged by its values alone, since its sensitive names hold pseudonyms by
now; stand-ins the sanitiser made are skipped: redaction markers, the shapes
only pseudonyms have, and the pseudonyms a record lists as looking like real
data.

What is reported never includes the value, nor a name that itself holds
something sensitive: only the exchange, the place, the kind, and the length.
`scan_store` audits a whole store and tallies what it found by kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from parity.store import Store, iter_exchanges
from parity.store.reader import SegmentDamage
from parity.traffic.detectors import Finder
from parity.traffic.exchange import Exchange
from parity.traffic.markers import is_marker, looks_made
from parity.words import counted

__all__ = ["ScanTally", "Scanner", "Suspect", "scan_store", "suspects"]


@dataclass(frozen=True, slots=True)
class Suspect:
    """Something in a stored exchange that looks sensitive; the value is not kept."""

    exchange_id: str
    where: str
    kind: str
    length: int

    def describe(self) -> str:
        return f"{self.exchange_id}  {self.where}: {self.kind} ({self.length} characters)"


class Scanner:
    """Audits exchanges one by one, remembering what it learnt of clean strings."""

    def __init__(self, finder: Finder | None = None) -> None:
        self._engine = Sanitiser(Pseudonymiser(None), finder=finder)

    def suspects(self, exchange: Exchange) -> list[Suspect]:
        """What in `exchange` looks like a secret or personal data, each place once."""
        sanitised = exchange.meta.get("sanitised")
        listed = set(sanitised.get("pseudonyms", ())) if isinstance(sanitised, dict) else set()
        found: dict[tuple[str, str, int], Suspect] = {}

        def heard(where: str, kind: str, value: str) -> None:
            if value in listed or is_marker(value) or looks_made(value):
                return
            suspect = Suspect(exchange.id, where, kind, len(value))
            found.setdefault((where, kind, len(value)), suspect)

        self._engine.audit(exchange, heard, fields=not isinstance(sanitised, dict))
        return list(found.values())


def suspects(exchange: Exchange, finder: Finder | None = None) -> Iterator[Suspect]:
    """What in `exchange` looks like a secret or personal data (see `Scanner`)."""
    yield from Scanner(finder).suspects(exchange)


@dataclass(slots=True)
class ScanTally:
    """What a scan of a store found: how many values of each kind, in which exchanges,
    and the parts of the store it could not read."""

    store: str
    scanned: int = 0
    found: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    exchanges: set[str] = field(default_factory=set)
    damaged: list[SegmentDamage] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing found, and every part read: an audit cannot vouch for what it could not
        read."""
        return not self.found and not self.damaged

    def summary(self) -> str:
        """The scan's conclusion in one sentence."""
        if not self.found and self.damaged:
            return (
                f"{self.store}: nothing that looks sensitive in "
                f"{counted(self.scanned, 'exchange')}, but "
                f"{counted(len(self.damaged), 'damaged part')} could not be scanned; restore "
                "or delete them and scan again"
            )
        if not self.found:
            return (
                f"{self.store}: nothing that looks like a secret or personal data in "
                f"{counted(self.scanned, 'exchange')}"
            )
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.kinds.items()))
        return (
            f"{self.store}: {counted(self.found, 'value')} that look sensitive in "
            f"{counted(len(self.exchanges), 'exchange')} of {self.scanned}: {kinds}"
        )


def scan_store(
    store: Store,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    on_suspect: Callable[[Suspect, int], None] | None = None,
    on_damage: Callable[[SegmentDamage], None] | None = None,
) -> ScanTally:
    """Audit every exchange of `store` in the time range, streaming: `on_suspect` gets
    each suspect as it is found, with its number (from 1), and `on_damage` each part of
    the store that cannot be read."""
    tally = ScanTally(store.url)
    scanner = Scanner()

    def damaged(damage: SegmentDamage) -> None:
        tally.damaged.append(damage)
        if on_damage is not None:
            on_damage(damage)

    for exchange in iter_exchanges(store, since, until, on_damage=damaged):
        tally.scanned += 1
        for suspect in scanner.suspects(exchange):
            tally.found += 1
            tally.kinds[suspect.kind] = tally.kinds.get(suspect.kind, 0) + 1
            tally.exchanges.add(suspect.exchange_id)
            if on_suspect is not None:
                on_suspect(suspect, tally.found)
    return tally

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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic.detectors import Finder
from parity.traffic.exchange import Exchange
from parity.traffic.markers import is_marker, looks_made

__all__ = ["Scanner", "Suspect", "suspects"]


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

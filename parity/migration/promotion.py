"""`parity promote` and `parity demote`: moving endpoints through the phases on evidence.

Promotion moves an endpoint one phase forward, never more, and only on
evidence:

- ``monolith`` -> ``side-by-side``: the offline certification
  (certification.json of ``pytest --replay``) certified the endpoint;
- ``side-by-side`` -> ``candidate``: live, the candidate's mirrored answers
  matched the monolith's at least ``live_threshold`` of the time over at
  least ``min_samples`` mirrored requests (learned noise does not count as a
  mismatch; candidate errors do);
- ``candidate`` -> ``candidate-only``: live, the candidate served at least
  ``min_samples`` requests with no fallback to the monolith and no error.

Promotion never demotes: evidence against an endpoint is reported, and
`demotion` moves it back one phase only when asked. The live evidence is
``live.json`` (`parity.migration.live`), written by the side-by-side gateway;
`read_evidence` reads it and certification.json, and `read_live` reads the
live.json of a fleet of gateways and adds them up. `table_change` is what a
move does to the routing table's file, as a diff to review.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from parity.errors import UsageError
from parity.migration.live import check_live, combine_live
from parity.migration.routes import Phase, RoutingTable, moved

__all__ = ["Move", "demotion", "proposals", "read_evidence", "read_live", "table_change"]


@dataclass(frozen=True, slots=True)
class Move:
    """One endpoint moved from one phase to the next (or back), and why."""

    endpoint: str
    before: Phase
    after: Phase
    why: str


def _endpoints(document: Mapping[str, Any] | None, what: str) -> dict[str, Mapping[str, Any]]:
    if document is None:
        return {}
    entries = document.get("endpoints") if isinstance(document, Mapping) else None
    if not isinstance(entries, list) or not all(
        isinstance(e, Mapping) and isinstance(e.get("endpoint"), str) for e in entries
    ):
        raise UsageError(f"the {what} has no list of endpoints; give the file Parity wrote")
    return {entry["endpoint"]: entry for entry in entries}


def _count(entry: Mapping[str, Any], name: str) -> int:
    value = entry.get(name, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def proposals(
    table: RoutingTable,
    certification: Mapping[str, Any] | None = None,
    live: Mapping[str, Any] | None = None,
    *,
    min_samples: int = 100,
    live_threshold: float = 1.0,
) -> tuple[list[Move], list[str]]:
    """The moves the evidence supports, and notes on endpoints it does not (yet) support."""
    if live is not None:
        check_live(live)
    moves: list[Move] = []
    notes: list[str] = []
    for endpoint, entry in sorted(_endpoints(certification, "certification").items()):
        phase = table.route_for(endpoint).phase
        if phase is not Phase.MONOLITH:
            continue
        verdict = entry.get("verdict")
        if verdict == "certified":
            matched, replayed = _count(entry, "matched"), _count(entry, "replayed")
            why = f"certified offline ({matched} of {replayed} replayed exchanges matched)"
            moves.append(Move(endpoint, phase, Phase.SIDE_BY_SIDE, why))
        else:
            notes.append(f"{endpoint}: stays {phase.value}: offline verdict {verdict!r}")
    for endpoint, entry in sorted(_endpoints(live, "live results").items()):
        phase = table.route_for(endpoint).phase
        if phase is Phase.SIDE_BY_SIDE:
            mirrored, matched = _count(entry, "mirrored"), _count(entry, "matched")
            rate = matched / mirrored if mirrored else 0.0
            said = f"{matched} of {mirrored} mirrored requests matched ({100 * rate:.1f}%)"
            if mirrored >= min_samples and rate >= live_threshold:
                moves.append(Move(endpoint, phase, Phase.CANDIDATE, f"live: {said}"))
            elif mirrored < min_samples:
                notes.append(f"{endpoint}: stays side-by-side: {said}; {min_samples} needed")
            else:
                notes.append(
                    f"{endpoint}: stays side-by-side: {said}, below {100 * live_threshold:.1f}%"
                )
        elif phase is Phase.CANDIDATE:
            served = _count(entry, "served_by_candidate")
            failed = _count(entry, "fallbacks") + _count(entry, "candidate_errors")
            said = f"the candidate served {served} requests with {failed} fallback(s) or error(s)"
            if served >= min_samples and failed == 0:
                moves.append(Move(endpoint, phase, Phase.CANDIDATE_ONLY, f"live: {said}"))
            else:
                notes.append(f"{endpoint}: stays candidate: {said}")
    return _first_per_endpoint(moves), notes


def _first_per_endpoint(moves: list[Move]) -> list[Move]:
    """One phase at a time: an endpoint certified offline and live moves once."""
    seen: set[str] = set()
    kept = []
    for move in moves:
        if move.endpoint not in seen:
            seen.add(move.endpoint)
            kept.append(move)
    return kept


def demotion(table: RoutingTable, endpoint: str) -> Move:
    """The move that takes `endpoint` back one phase; a `UsageError` if it is at the first."""
    phase = table.route_for(endpoint).phase
    previous = phase.previous
    if previous is None:
        raise UsageError(f"{endpoint} is already in the first phase (monolith)")
    return Move(endpoint, phase, previous, "demoted by hand")


def read_evidence(path: str | os.PathLike[str] | None, what: str) -> dict[str, Any] | None:
    """The JSON object in the evidence file `path` (a certification.json or a live.json,
    the `what`), or None when no file is given. A `UsageError` names the file when it
    cannot be read or holds anything but a JSON object."""
    if path is None:
        return None
    try:
        document = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path} ({exc.strerror})") from None
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"the {what} {path} is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise UsageError(f"the {what} {path} is not a JSON object")
    return document


def read_live(paths: Sequence[str | os.PathLike[str]] | None) -> dict[str, Any] | None:
    """The live.json in the files `paths`, one per gateway, added up (`combine_live`);
    None when no file is given. A `UsageError` names a file given twice, or files that
    cannot be read or added up."""
    if not paths:
        return None
    seen: set[Path] = set()
    for path in paths:
        resolved = Path(path).resolve()
        if resolved in seen:
            raise UsageError(
                f"{path} is given twice; give each gateway's live.json once, or its traffic "
                "is counted twice"
            )
        seen.add(resolved)
    documents = []
    for path in paths:
        document = read_evidence(path, "live results")
        assert document is not None
        documents.append((str(path), document))
    return combine_live(documents)


def table_change(routes: Path, moves: Iterable[Move]) -> tuple[str, list[str]]:
    """The text of the routing table in the file `routes` with every move made (comments
    kept), and the unified diff from what the file holds to it, for review."""
    before = routes.read_text(encoding="utf-8")
    after = before
    for move in moves:
        after = moved(after, move.endpoint, move.after)
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        str(routes),
        f"{routes} (proposed)",
    )
    return after, list(diff)

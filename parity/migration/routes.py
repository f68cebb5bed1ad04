"""The routing table of a migration: which side answers each endpoint, phase by phase.

An endpoint moves through four phases, never skipping one:

- ``monolith``: the monolith answers; nothing else happens (it may be recorded);
- ``side-by-side``: the monolith answers, and the request is mirrored to the
  candidate and the two answers compared, off the client's path;
- ``candidate``: the candidate answers; on an error, a timeout or a 5xx the
  monolith answers instead, and the fallback is counted;
- ``candidate-only``: the candidate answers; the monolith route is gone.

``routes.toml`` names a default phase and, per endpoint pattern (the same
identities and globs as everywhere in Parity), a phase, a mirror sampling
rate and whether state-changing requests may be mirrored::

    default = "monolith"

    [[route]]
    endpoint = "GET /api/users/{id}"
    phase = "side-by-side"
    mirror_rate = 0.5          # mirror half the requests (default 1.0)

    [[route]]
    endpoint = "POST /api/users/{id}/enrolments"
    phase = "side-by-side"
    mirror_unsafe = true       # the candidate writes to a scratch datastore

The first route whose pattern matches an endpoint decides. `RoutingTable.load`
checks everything and raises `UsageError` naming the problem;
`ReloadingTable` re-reads the file when it changes and keeps the last good
table when the new one is wrong. `moved` rewrites one route's phase in the
file's text, keeping its comments, for `parity promote` and `parity demote`.
`RoutingTable.fingerprint` names what a table routes, whatever its file's comments
and layout: the gateway writes it into live.json, so that the live.json of
gateways routing by different tables are never added up.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import orjson

from parity.errors import UsageError
from parity.tables import check_keys
from parity.traffic.endpoint import matches

__all__ = ["Phase", "ReloadingTable", "Route", "RoutingTable", "moved"]


class Phase(StrEnum):
    """Who answers an endpoint, in the order a migration moves through them."""

    MONOLITH = "monolith"
    SIDE_BY_SIDE = "side-by-side"
    CANDIDATE = "candidate"
    CANDIDATE_ONLY = "candidate-only"

    @property
    def next(self) -> Phase | None:
        index = _ORDER.index(self)
        return _ORDER[index + 1] if index + 1 < len(_ORDER) else None

    @property
    def previous(self) -> Phase | None:
        index = _ORDER.index(self)
        return _ORDER[index - 1] if index else None


_ORDER: Final = (Phase.MONOLITH, Phase.SIDE_BY_SIDE, Phase.CANDIDATE, Phase.CANDIDATE_ONLY)
_ROUTE_KEYS: Final = ("endpoint", "phase", "mirror_rate", "mirror_unsafe")


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint pattern's phase, and how its requests are mirrored when side by side."""

    endpoint: str
    phase: Phase
    mirror_rate: float = 1.0
    mirror_unsafe: bool = False


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """A checked routing table: the default phase and the routes, in file order."""

    default: Phase = Phase.MONOLITH
    routes: tuple[Route, ...] = ()

    def route_for(self, endpoint: str) -> Route:
        """The first route whose pattern matches `endpoint`, or the default as a route."""
        for route in self.routes:
            if matches(endpoint, route.endpoint):
                return route
        return Route(endpoint, self.default)

    def fingerprint(self) -> str:
        """What the table routes, in 16 hex digits: the default and every route's settings,
        in order (the first match decides). Equal for two files that differ only in
        comments, layout or quoting; different when any phase, pattern or setting differs."""
        routes = [[r.endpoint, r.phase.value, r.mirror_rate, r.mirror_unsafe] for r in self.routes]
        canonical = orjson.dumps({"default": self.default.value, "routes": routes})
        return hashlib.sha256(canonical).hexdigest()[:16]

    @classmethod
    def load(cls, path: Path) -> RoutingTable:
        """The table in `path`, checked: a `UsageError` names what is wrong and where."""
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read the routing table {path} ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{path} is not valid TOML ({exc}); fix the file") from None
        return cls.parse(document, str(path))

    @classmethod
    def parse(cls, document: Mapping[str, Any], where: str = "routes.toml") -> RoutingTable:
        check_keys(document, ("default", "route"), where)
        default = _phase(document.get("default", Phase.MONOLITH.value), f"{where} default")
        entries = document.get("route", [])
        if not isinstance(entries, list):
            raise UsageError(f"{where} route must be [[route]] tables, not {entries!r}")
        routes = tuple(_route(entry, f"{where} route {i + 1}") for i, entry in enumerate(entries))
        seen: set[str] = set()
        for route in routes:
            if route.endpoint in seen:
                raise UsageError(f"{where} names {route.endpoint!r} twice; keep one route")
            seen.add(route.endpoint)
        return cls(default, routes)


def _phase(value: object, where: str) -> Phase:
    try:
        return Phase(str(value))
    except ValueError:
        raise UsageError(
            f"{where} is {value!r}; a phase is one of {', '.join(p.value for p in _ORDER)}"
        ) from None


def _route(entry: object, where: str) -> Route:
    if not isinstance(entry, Mapping):
        raise UsageError(f"{where} must be a table of settings, not {entry!r}")
    check_keys(entry, _ROUTE_KEYS, where)
    endpoint = entry.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise UsageError(f'{where} needs an endpoint pattern, as in endpoint = "GET /api/*"')
    rate = entry.get("mirror_rate", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise UsageError(f"{where} mirror_rate must be a number from 0 to 1, not {rate!r}")
    unsafe = entry.get("mirror_unsafe", False)
    if not isinstance(unsafe, bool):
        raise UsageError(f"{where} mirror_unsafe must be true or false, not {unsafe!r}")
    phase = _phase(entry.get("phase"), f"{where} ({endpoint}) phase")
    return Route(endpoint, phase, float(rate), unsafe)


class ReloadingTable:
    """The routing table in a file, read again when the file changes.

    A table that fails its checks does not replace the one in use: `check`
    returns the error, once per change, and the last good table keeps serving.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.table = RoutingTable.load(path)
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def check(self) -> str | None:
        """Reload if the file changed: None when nothing changed or the new table is in use,
        else the sentence saying why the old table is kept."""
        stamp = self._stat()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            self.table = RoutingTable.load(self.path)
        except UsageError as exc:
            return f"{exc}; still routing by the table loaded before"
        return None


_BLOCK: Final = re.compile(r"^\s*\[\[route\]\]\s*(#.*)?$")
_ENDPOINT: Final = re.compile(r"""^\s*endpoint\s*=\s*(?P<q>["'])(?P<value>.*)(?P=q)\s*(#.*)?$""")
_PHASE: Final = re.compile(r"""^(?P<head>\s*phase\s*=\s*)(?P<q>["'])[^"']*(?P=q)(?P<tail>.*)$""")


def moved(text: str, endpoint: str, phase: Phase) -> str:
    """The text of a routing table with `endpoint`'s route set to `phase`: the phase line
    of its ``[[route]]`` rewritten, or a new route put before the others (so that it wins
    over a glob that covers the endpoint). Comments are kept."""
    lines = text.splitlines(keepends=True)
    start = None
    for index, line in enumerate(lines):
        if _BLOCK.match(line):
            start = index
        found = _ENDPOINT.match(line)
        if start is not None and found and found.group("value") == endpoint:
            end = next(
                (i for i in range(start + 1, len(lines)) if _BLOCK.match(lines[i])), len(lines)
            )
            for i in range(start + 1, end):
                phase_line = _PHASE.match(lines[i].rstrip("\n"))
                if phase_line:
                    newline = "\n" if lines[i].endswith("\n") else ""
                    lines[i] = f'{phase_line["head"]}"{phase.value}"{phase_line["tail"]}{newline}'
                    return "".join(lines)
            lines.insert(index + 1, f'phase = "{phase.value}"\n')
            return "".join(lines)
    quoted = endpoint.replace("\\", "\\\\").replace('"', '\\"')
    block = f'[[route]]\nendpoint = "{quoted}"\nphase = "{phase.value}"\n\n'
    # Before the other routes: the first match decides, and a glob may cover the endpoint.
    first = next((i for i, line in enumerate(lines) if _BLOCK.match(line)), None)
    if first is None:
        tail = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{tail}\n{block}".rstrip("\n") + "\n"
    return "".join([*lines[:first], block, *lines[first:]])

"""Parity's configuration file: ``parity.toml``, or ``[tool.parity]`` in ``pyproject.toml``.

One file holds what a project decides once and every run shares: where its
recorded traffic is, what to replay it against, which differences do not
count, which endpoints may be replayed although they change state, and how
good an endpoint must be to be certified. Command-line options override it.

    [tool.parity.replay]
    from = "fixtures/traffic"
    target = "examples.candidate:app"
    per_endpoint = 50
    threshold = 1.0
    safe = ["POST /api/users/{id}/enrolments"]

    [tool.parity.compare]
    ignore_paths = ["$.request_id", "$.generated_at"]
    unordered_paths = ["$..tags"]

    [tool.parity.thresholds]
    "GET /api/search" = { threshold = 0.9, min_samples = 20 }

    [tool.parity.sanitize]
    rules = [{ header = "X-Tenant", action = "keep" }]   # see parity.sanitize.policy

    [tool.parity.noise]
    min_count = 3                                         # see parity.compare.evidence

Every table is validated when it is read: an unknown key or a value of the
wrong type is a `UsageError` naming it, where it is, and what is expected.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.errors import UsageError
from parity.tables import check_keys, check_type, subtable

__all__ = ["ParityConfig", "Threshold", "find_config", "load_config"]

#: Keys of ``[tool.parity.replay]``, with the type each must have.
REPLAY_KEYS: dict[str, type | tuple[type, ...]] = {
    "from": str,
    "target": str,
    "endpoints": list,
    "since": str,
    "until": str,
    "per_endpoint": int,
    "seed": int,
    "concurrency": int,
    "timeout": (int, float),
    "headers": list,
    "report": str,
    "threshold": (int, float),
    "min_samples": int,
    "unsafe": bool,
    "safe": list,
    "graphql_paths": list,
    "allow_recorded_host": bool,
    "keep_origin": bool,
    "credentials": list,
    "noise_runs": int,
    "reference": str,
    "hermetic": bool,
    "hermetic_match": list,
    "max_p99_ratio": (int, float),
    "shard_by": str,
    "granularity": str,
}
_TOP_KEYS = ("replay", "compare", "thresholds", "sanitize", "noise")
#: ``[replay]`` lists of tables rather than strings.
_TABLE_LISTS = frozenset({"credentials"})


@dataclass(frozen=True, slots=True)
class Threshold:
    """How good one group of endpoints must be: a glob over endpoint identities."""

    pattern: str
    threshold: float | None = None
    min_samples: int | None = None


@dataclass(frozen=True, slots=True)
class ParityConfig:
    """The validated contents of a configuration file (empty when there is none)."""

    path: Path | None = None
    replay: Mapping[str, Any] | None = None
    compare: Mapping[str, Any] | None = None
    thresholds: tuple[Threshold, ...] = ()
    #: The ``[sanitize]`` table, read by `parity.sanitize.policy.Policy.from_config`.
    sanitize: Mapping[str, Any] | None = None
    #: The ``[noise]`` table, read by `parity.compare.evidence.NoiseSettings.from_config`.
    noise: Mapping[str, Any] | None = None

    def where(self, table: str) -> str:
        """How errors name one of its tables: ``pyproject.toml [tool.parity.compare]``."""
        if self.path is None:
            return f"[{table}]"
        if self.path.name == "pyproject.toml":
            return f"{self.path} [tool.parity.{table}]"
        return f"{self.path} [{table}]"

    def replay_value(self, key: str) -> Any:
        """The ``[replay]`` value for `key`, or None when the file does not set it."""
        return (self.replay or {}).get(key)


def find_config(start: Path) -> Path | None:
    """The project's configuration: in `start` or the nearest directory above it that has
    a ``parity.toml`` or a ``pyproject.toml``, its ``parity.toml``, else that
    ``pyproject.toml`` if it has a ``[tool.parity]`` table."""
    for directory in (start, *start.parents):
        own = directory / "parity.toml"
        if own.is_file():
            return own
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            return pyproject if "parity" in _read(pyproject).get("tool", {}) else None
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}); fix the file") from None
    except OSError as exc:
        raise UsageError(
            f"cannot read {path} ({exc.strerror}); check that it is readable"
        ) from None


def load_config(path: Path | None) -> ParityConfig:
    """The configuration in `path` (a parity.toml or a pyproject.toml), validated."""
    if path is None:
        return ParityConfig()
    document = _read(path)
    if path.name == "pyproject.toml":
        table = document.get("tool", {}).get("parity", {})
        where = f"{path} [tool.parity]"
    else:
        table, where = document, str(path)
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table of settings")
    check_keys(table, _TOP_KEYS, where)
    replay = subtable(table, "replay", where)
    check_keys(replay, tuple(REPLAY_KEYS), f"{where} [replay]")
    for key, value in replay.items():
        check_type(value, REPLAY_KEYS[key], f"{where} [replay] {key}")
        strings = key not in _TABLE_LISTS  # credentials: tables, checked where they are read
        if REPLAY_KEYS[key] is list and strings and not all(isinstance(i, str) for i in value):
            raise UsageError(f"{where} [replay] {key} must be a list of strings")
    compare = subtable(table, "compare", where)
    thresholds = tuple(
        _threshold(pattern, value, f"{where} [thresholds]")
        for pattern, value in subtable(table, "thresholds", where).items()
    )
    sanitize = subtable(table, "sanitize", where)
    noise = subtable(table, "noise", where)
    return ParityConfig(path, replay, compare, thresholds, sanitize, noise)


def _threshold(pattern: str, value: Any, where: str) -> Threshold:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Threshold(pattern, float(value))
    if not isinstance(value, dict):
        raise UsageError(
            f"{where} {pattern!r} must be a match rate such as 0.95 or a table "
            "{ threshold = 0.95, min_samples = 20 }"
        )
    check_keys(value, ("threshold", "min_samples"), f"{where} {pattern!r}")
    threshold = value.get("threshold")
    samples = value.get("min_samples")
    if threshold is not None:
        check_type(threshold, (int, float), f"{where} {pattern!r} threshold")
    if samples is not None:
        check_type(samples, int, f"{where} {pattern!r} min_samples")
    return Threshold(pattern, None if threshold is None else float(threshold), samples)

"""The comparison rules: paths to ignore, lists without order, case-insensitive paths,
numeric tolerance, which headers count; per endpoint (`RuleSet`), merged per endpoint
once and remembered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from parity.errors import UsageError
from parity.tables import check_keys
from parity.traffic.endpoint import matches
from parity.traffic.paths import PathPattern, compile_pattern

__all__ = ["RuleSet", "Rules"]

_PATH_SETTINGS = ("ignore_paths", "unordered_paths", "ignore_case_paths")

_SETTINGS = (
    *_PATH_SETTINGS,
    "numeric_tolerance",
    "strict_number_types",
    "headers",
    "compare_status",
    "graphql_strict",
)


def _strings(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise UsageError(f"{name} must be a list of strings, not {value!r}")
    if not all(isinstance(item, str) and item for item in value):
        raise UsageError(f"{name} must hold only non-empty strings, not {list(value)!r}")
    return tuple(value)


def _compile(name: str, text: str) -> PathPattern:
    try:
        return compile_pattern(text)
    except ValueError as exc:
        raise UsageError(f"{name} pattern {text!r} {exc}") from None


@dataclass(frozen=True, slots=True)
class Rules:
    """How to compare the responses of one endpoint; invalid rules raise `UsageError`.

    Path settings take patterns (see `parity.traffic.paths`): ``$.meta.*``,
    ``$.items[*].updatedAt``, ``$..requestId`` or ``re:<regex>``. An ignore or
    ignore-case pattern also covers everything below the path it names; an
    unordered pattern sorts only the lists it names, so indices reported inside
    them count in sorted order. Numbers compare by value (1 matches 1.0, as JSON
    has one number type) within `numeric_tolerance`, allowing for float
    rounding; with `strict_number_types`, 1 -> 1.0 is a type change. Booleans
    are never numbers. A ``re:`` ignore pattern is searched in every
    path, so it can also hide ``status``, ``header:<name>`` or ``body``. Header
    names compare case-insensitively; content-type by media type only.
    """

    ignore_paths: tuple[str, ...] = ()
    unordered_paths: tuple[str, ...] = ()
    numeric_tolerance: float = 0.0
    ignore_case_paths: tuple[str, ...] = ()
    headers: tuple[str, ...] = ("content-type",)
    compare_status: bool = True
    strict_number_types: bool = False
    #: GraphQL errors compared whole (message wording, locations, every extension) and a
    #: 200/400 status change for an invalid document counted; by default, see `compare`.
    graphql_strict: bool = False
    _ignore: tuple[PathPattern, ...] = field(init=False, repr=False, compare=False)
    _unordered: tuple[PathPattern, ...] = field(init=False, repr=False, compare=False)
    _ignore_case: tuple[PathPattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (*_PATH_SETTINGS, "headers"):
            object.__setattr__(self, name, _strings(name, getattr(self, name)))
        object.__setattr__(self, "headers", tuple(name.lower() for name in self.headers))
        tolerance: object = self.numeric_tolerance
        if (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, int | float)
            or not 0 <= tolerance < float("inf")
        ):
            raise UsageError(
                f"numeric_tolerance must be a number of at least 0, such as 0.01, not {tolerance!r}"
            )
        object.__setattr__(self, "numeric_tolerance", float(tolerance))
        for name in ("compare_status", "strict_number_types", "graphql_strict"):
            switch: object = getattr(self, name)
            if not isinstance(switch, bool):
                raise UsageError(f"{name} must be true or false, not {switch!r}")
        for name, compiled in zip(
            _PATH_SETTINGS, ("_ignore", "_unordered", "_ignore_case"), strict=True
        ):
            patterns = tuple(_compile(name, text) for text in getattr(self, name))
            object.__setattr__(self, compiled, patterns)


_DEFAULT = Rules()


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Global rules plus per-endpoint rules, merged for each endpoint by `for_endpoint`.

    Endpoint patterns are globs over endpoint identities (``GET /api/users/*``,
    ``graphql query *``), as `parity.traffic.endpoint.matches` reads them.
    """

    default: Rules = _DEFAULT
    endpoints: tuple[tuple[str, Rules], ...] = ()
    _merged: dict[str, Rules] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        default: object = self.default
        if not isinstance(default, Rules):
            raise UsageError(f"the default comparison rules must be Rules, not {default!r}")
        pairs: list[tuple[str, Rules]] = []
        for entry in self.endpoints:
            item: object = entry
            pattern, rules = item if isinstance(item, tuple | list) and len(item) == 2 else ("", "")
            if not isinstance(pattern, str) or not pattern or not isinstance(rules, Rules):
                raise UsageError(
                    f"each endpoint rule must be a (pattern, Rules) pair, not {item!r}"
                )
            pairs.append((pattern, rules))
        object.__setattr__(self, "endpoints", tuple(pairs))

    def for_endpoint(self, endpoint: str) -> Rules:
        """The rules for `endpoint`: the default, then every matching entry in order.

        Path settings add up, the largest tolerance wins, the last matching entry
        that sets headers other than the built-in default wins, and the status
        is compared unless some rule says not to. Merges are memoised per ruleset.
        """
        merged = self._merged.get(endpoint)
        if merged is None:
            chosen = [rules for pattern, rules in self.endpoints if matches(endpoint, pattern)]
            merged = self._merged[endpoint] = (
                _merge(self.default, chosen) if chosen else self.default
            )
        return merged

    @classmethod
    def from_config(cls, table: Mapping[str, Any], where: str = "[compare]") -> RuleSet:
        """Rules from a TOML-like table (`where` names it in errors): the settings of
        `Rules`, plus ``endpoints``, a table of endpoint pattern to the settings for those
        endpoints."""
        settings = dict(_settings(table, where, (*_SETTINGS, "endpoints")))
        endpoints = settings.pop("endpoints", {})
        if not isinstance(endpoints, Mapping):
            raise UsageError(
                f"{where}: comparison setting 'endpoints' must be a table of endpoint pattern "
                f"to settings, not {endpoints!r}"
            )
        entries = []
        for pattern, entry in endpoints.items():
            at = f"{where} endpoints {pattern!r}"
            entries.append(
                (pattern, _rules(_settings(entry, at, _SETTINGS), f" for endpoint {pattern!r}"))
            )
        return cls(_rules(settings, ""), tuple(entries))


def _settings(table: object, where: str, valid: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise UsageError(f"{where} must be a table of settings, not {table!r}")
    check_keys(table, sorted(valid), where)
    return table


def _rules(settings: Mapping[str, Any], where: str) -> Rules:
    try:
        return Rules(**settings)
    except UsageError as exc:
        raise UsageError(f"in the comparison rules{where}, {exc}" if where else str(exc)) from None


def _merge(default: Rules, chosen: list[Rules]) -> Rules:
    every = [default, *chosen]

    def joined(name: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(chain.from_iterable(getattr(rules, name) for rules in every)))

    headers = default.headers
    for rules in chosen:
        if rules.headers != _DEFAULT.headers:
            headers = rules.headers
    return Rules(
        ignore_paths=joined("ignore_paths"),
        unordered_paths=joined("unordered_paths"),
        numeric_tolerance=max(rules.numeric_tolerance for rules in every),
        strict_number_types=any(rules.strict_number_types for rules in every),
        graphql_strict=any(rules.graphql_strict for rules in every),
        ignore_case_paths=joined("ignore_case_paths"),
        headers=headers,
        compare_status=all(rules.compare_status for rules in every),
    )

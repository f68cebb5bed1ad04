"""The sanitising policy: a project's own rules on top of the safe defaults.

Declared in ``[tool.parity.sanitize]`` (or ``[sanitize]`` in parity.toml) and
validated when read; an unknown key, location, action or a bad path is one
sentence naming it::

    [tool.parity.sanitize]
    mode = "detect"                  # or "allow-list": JSON keeps only what a rule keeps
    key_env = "PARITY_SANITIZE_KEY"  # the environment variable holding the key
    detectors = true                 # look for secrets and personal data in every string
    rules = [
      { header = "X-Tenant", action = "keep" },
      { cookie = "theme", action = "keep" },
      { query = "session", action = "drop" },
      { form = "comment", action = "redact" },
      { json = "$.users[*].email", action = "pseudonymise" },
      { graphql = "$.input.phone", action = "hash" },
      { json = "$..notes", action = "redact", endpoint = "POST /api/notes" },
    ]

Without the table the defaults apply: credential headers and every cookie
dropped, fields named like personal data pseudonymised, secrets redacted,
and the detectors run over every other string.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import orjson

from parity.config import ParityConfig
from parity.errors import UsageError
from parity.tables import check_keys
from parity.traffic.paths import PathPattern, compile_pattern

__all__ = ["DEFAULT_KEY_ENV", "Action", "Location", "Mode", "Policy", "Rule"]

#: Where the key comes from when the policy does not say.
DEFAULT_KEY_ENV: Final = "PARITY_SANITIZE_KEY"


class Action(StrEnum):
    """What a rule does to the values it names."""

    DROP = "drop"
    REDACT = "redact"
    HASH = "hash"
    PSEUDONYMISE = "pseudonymise"
    KEEP = "keep"


class Location(StrEnum):
    """Where a rule looks: a named header, cookie, query parameter or form field, or a JSON path."""

    HEADER = "header"
    COOKIE = "cookie"
    QUERY = "query"
    FORM = "form"
    JSON = "json"
    GRAPHQL = "graphql"


class Mode(StrEnum):
    """``detect``: change what is found; ``allow-list``: in JSON, keep only what rules keep."""

    DETECT = "detect"
    ALLOW_LIST = "allow-list"


@dataclass(frozen=True)
class Rule:
    """One rule: `action` on the values at `target` in `location`, for matching endpoints."""

    location: Location
    target: str
    action: Action
    endpoint: str | None = None
    pattern: PathPattern | None = field(default=None, compare=False, repr=False)

    def applies_to(self, endpoint: str | None) -> bool:
        return self.endpoint is None or (
            endpoint is not None and fnmatch.fnmatchcase(endpoint, self.endpoint)
        )


@dataclass(frozen=True)
class Policy:
    """Everything sanitising is told; the default instance is the safe default policy."""

    rules: tuple[Rule, ...] = ()
    mode: Mode = Mode.DETECT
    detectors: bool = True
    key_env: str = DEFAULT_KEY_ENV

    @functools.cached_property
    def fingerprint(self) -> str:
        """Names this policy in records, so a replay can tell which rules made them."""
        described = {
            "mode": self.mode.value,
            "detectors": self.detectors,
            "rules": [[r.location.value, r.target, r.action.value, r.endpoint] for r in self.rules],
        }
        return "policy:" + hashlib.sha256(orjson.dumps(described)).hexdigest()[:16]

    @functools.cached_property
    def has_paths(self) -> bool:
        """Whether JSON bodies need walking with their paths (path rules, or allow-list)."""
        return self.mode is Mode.ALLOW_LIST or any(
            r.location in (Location.JSON, Location.GRAPHQL) for r in self.rules
        )

    @functools.cached_property
    def _named_locations(self) -> frozenset[Location]:
        return frozenset(rule.location for rule in self.rules)

    @functools.cached_property
    def names_headers(self) -> bool:
        """Whether a rule names a header or a cookie (most policies name none)."""
        return bool(self._named_locations & {Location.HEADER, Location.COOKIE})

    def named(self, location: Location, name: str, endpoint: str | None) -> Action | None:
        """The action for the header, cookie, query parameter or form field `name`, if any."""
        if location not in self._named_locations:  # most policies name no header at all
            return None
        folded = name.lower() if location in (Location.HEADER, Location.COOKIE) else name
        for rule in self.rules:
            if rule.location is location and rule.target == folded and rule.applies_to(endpoint):
                return rule.action
        return None

    def at_path(self, path: str, endpoint: str | None, graphql: bool) -> Action | None:
        """The action for the JSON value at `path` (printed as `parity.traffic.paths` prints)."""
        for rule in self.rules:
            if rule.pattern is None or not rule.applies_to(endpoint):
                continue
            in_body = rule.location is Location.JSON
            in_variables = graphql and rule.location is Location.GRAPHQL
            if (in_body or in_variables) and rule.pattern.covers(path):
                return rule.action
        return None

    @classmethod
    def of(cls, config: ParityConfig) -> Policy:
        """The policy in a loaded configuration file (the defaults when it has none)."""
        return cls.from_config(config.sanitize, config.where("sanitize"))

    @classmethod
    def from_config(cls, table: Mapping[str, Any] | None, where: str) -> Policy:
        """The policy a ``[sanitize]`` table declares, validated."""
        if not table:
            return cls()
        check_keys(table, ("mode", "key_env", "detectors", "rules"), where)
        mode = _choice(Mode, table.get("mode", Mode.DETECT.value), f"{where} mode")
        key_env = table.get("key_env", DEFAULT_KEY_ENV)
        if not isinstance(key_env, str) or not key_env:
            raise UsageError(f"{where} key_env must name an environment variable, not {key_env!r}")
        detectors = table.get("detectors", True)
        if not isinstance(detectors, bool):
            raise UsageError(f"{where} detectors must be true or false, not {detectors!r}")
        rules = table.get("rules", [])
        if not isinstance(rules, list):
            raise UsageError(
                f"{where} rules must be a list of tables such as "
                '{ json = "$.user.email", action = "pseudonymise" }'
            )
        parsed = tuple(_rule(rule, f"{where} rules[{i}]") for i, rule in enumerate(rules))
        return cls(parsed, mode, detectors, key_env)


_LOCATIONS: Final = tuple(location.value for location in Location)


def _choice(kind: type[StrEnum], value: Any, where: str) -> Any:
    choices = [member.value for member in kind]
    if value not in choices:
        raise UsageError(f"{where} is {value!r}; choose one of {', '.join(choices)}")
    return kind(value)


def _rule(rule: Any, where: str) -> Rule:
    if not isinstance(rule, dict):
        raise UsageError(
            f'{where} must be a table such as {{ header = "X-Tenant", action = "keep" }}'
        )
    check_keys(rule, (*_LOCATIONS, "action", "endpoint"), where)
    locations = [key for key in _LOCATIONS if key in rule]
    if len(locations) != 1:
        raise UsageError(
            f"{where} must name exactly one place ({', '.join(_LOCATIONS)}), not {len(locations)}"
        )
    location = Location(locations[0])
    target = rule[location.value]
    if not isinstance(target, str) or not target:
        raise UsageError(f"{where} {location.value} must be a non-empty string")
    if "action" not in rule:
        raise UsageError(f"{where} has no action; choose one of {', '.join(Action)}")
    action = _choice(Action, rule["action"], f"{where} action")
    endpoint = rule.get("endpoint")
    if endpoint is not None and not isinstance(endpoint, str):
        raise UsageError(f"{where} endpoint must be a glob such as 'GET /api/users/*'")
    pattern = None
    if location in (Location.JSON, Location.GRAPHQL):
        path = target if location is Location.JSON else _variables(target, where)
        try:
            pattern = compile_pattern(path)
        except ValueError as exc:
            raise UsageError(f"{where} {location.value} path {target!r} {exc}") from None
    elif location in (Location.HEADER, Location.COOKIE):
        target = target.lower()
    return Rule(location, target, action, endpoint, pattern)


def _variables(path: str, where: str) -> str:
    """A GraphQL variables path ("$.input.email") as a path in the request body."""
    if not path.startswith("$"):
        raise UsageError(f"{where} graphql path {path!r} must start with $ (the variables)")
    return "$.variables" + path[1:]

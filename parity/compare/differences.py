"""What a comparison finds: typed differences by path, and what rules absorbed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Comparison", "DiffKind", "Difference"]


class DiffKind(StrEnum):
    """How a value differs: the same kinds Diffy and deepdiff report."""

    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"
    TYPE_CHANGED = "type_changed"
    #: 200 against 400 for a GraphQL document that did not validate: the GraphQL-over-HTTP
    #: spec allows either, so servers differ (counted only with `graphql_strict`).
    GRAPHQL_STATUS = "graphql_status"


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the actual response differs from the expected one.

    `path` is ``status``, ``header:<name>``, ``body`` for a body that is not
    JSON, or a JSON path into the body (``$.users[0].email``); `expected` and
    `actual` are JSON-compatible values, None where the value is absent.
    """

    path: str
    kind: DiffKind
    expected: Any = None
    actual: Any = None

    def to_record(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind.value,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of one comparison: what counts, and what a rule absorbed (with the rule)."""

    differences: tuple[Difference, ...] = ()
    ignored: tuple[tuple[Difference, str], ...] = ()

    @property
    def matched(self) -> bool:
        return not self.differences

    def to_record(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "differences": [difference.to_record() for difference in self.differences],
            "ignored": [
                {**difference.to_record(), "rule": rule} for difference, rule in self.ignored
            ],
        }

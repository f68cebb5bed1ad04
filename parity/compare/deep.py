"""Finding differences between two parsed JSON documents with deepdiff, and reading
JSON with every number as written.

deepdiff is imported when two documents first differ, not before. JSON has one
number type, so numbers compare by value (``100`` equals ``100.0``; integers
of any size exactly) unless `Rules.strict_number_types`; deepdiff's own switch
for that (``ignore_numeric_type_changes``) rounds to 12 significant digits, and
its ``math_epsilon`` adds a relative tolerance that hides changed ids, so both
are done by a custom operator here. Lists of objects are lined up on their
canonical JSON before their items are compared, as deepdiff does itself only
for lists of scalars, so one inserted object is one ``added``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from difflib import SequenceMatcher
from typing import Any, Final

import orjson

from parity.compare.differences import Difference, DiffKind
from parity.compare.rules import Rules
from parity.traffic.paths import canonical, child, shown

__all__ = ["deep_differences", "parse_exact", "same_by_value"]


def same_by_value(expected: Any, actual: Any, rules: Rules) -> bool:
    """Whether two documents are equal under `rules`' number semantics, walked without
    recursion (for documents too deep for deepdiff)."""
    numbers = _Numbers(rules.numeric_tolerance, rules.strict_number_types)
    stack = [(expected, actual)]
    while stack:
        before, after = stack.pop()
        if type(before) in _NUMBER_TYPES and type(after) in _NUMBER_TYPES:
            if not numbers.close(before, after):
                return False
        elif type(before) is not type(after):
            return False
        elif type(before) is dict:
            if before.keys() != after.keys():
                return False
            stack.extend((value, after[key]) for key, value in before.items())
        elif type(before) is list:
            if len(before) != len(after):
                return False
            stack.extend(zip(before, after, strict=True))
        elif before != after:
            return False
    return True


#: A run of 20 digits, longer than the largest 64-bit integer: orjson reads such an
#: integer as a float, losing digits, so the document is read by `json`, which keeps them.
#: (Digits mapped to one and a substring search: ten times faster than a regex.)
_DIGITS = bytes.maketrans(b"0123456789", b"0" * 10)

_LONG_RUN = b"0" * 20


def parse_exact(content: bytes) -> Any:
    """A JSON document with every number as written (integers of any size exactly);
    `ValueError` when it is not JSON or too deep to read."""
    if _LONG_RUN not in content.translate(_DIGITS):
        return orjson.loads(content)  # its error is a ValueError
    try:
        return json.loads(content)
    except RecursionError:
        raise ValueError("nested too deeply") from None


_KINDS: Final = {
    "values_changed": DiffKind.CHANGED,
    "type_changes": DiffKind.TYPE_CHANGED,
    "dictionary_item_added": DiffKind.ADDED,
    "dictionary_item_removed": DiffKind.REMOVED,
    "iterable_item_added": DiffKind.ADDED,
    "iterable_item_removed": DiffKind.REMOVED,
}


def deep_differences(expected: Any, actual: Any, rules: Rules) -> list[Difference]:
    """deepdiff's differences between two parsed documents, as Parity's by path."""
    from deepdiff import DeepDiff
    from deepdiff.helper import notpresent

    def unordered(level: Any) -> bool:
        return any(pattern.names(_path_of(level)) for pattern in rules._unordered)

    operators: list[Any] = [_AlignedLists(unordered)]
    if not rules.strict_number_types or rules.numeric_tolerance:
        operators.append(_Numbers(rules.numeric_tolerance, rules.strict_number_types))
    tree = DeepDiff(
        expected,
        actual,
        view="tree",
        ignore_order_func=unordered if rules._unordered else None,
        report_repetition=bool(rules._unordered),  # unordered lists are multisets, not sets
        custom_operators=operators,
        threshold_to_diff_deeper=0,  # always down to the values that differ
    )
    found: list[Difference] = []
    for report, levels in tree.items():
        if report == "repetition_change":
            found.extend(_repetitions(levels))
            continue
        kind = _KINDS.get(report)
        if kind is None:  # a move in a list: what moved it is reported where it happened
            continue
        for level in levels:
            path = _path_of(level, t2=kind is DiffKind.ADDED)
            old = None if level.t1 is notpresent else shown(level.t1)
            new = None if level.t2 is notpresent else shown(level.t2)
            found.append(Difference(path, kind, old, new))
    return found


def _repetitions(levels: Iterable[Any]) -> Iterator[Difference]:
    """An item an unordered list holds more or fewer times: each copy too many is added
    (at the new list's last indexes of it), each one missing removed (at the old's)."""
    for level in levels:
        counts = level.additional["repetition"]
        parent = _path_of(level.up)
        more = counts["new_repeat"] - counts["old_repeat"]
        if more > 0:
            for index in counts["new_indexes"][-more:]:
                yield Difference(child(parent, index), DiffKind.ADDED, None, shown(level.t2))
        else:
            for index in counts["old_indexes"][more:]:
                yield Difference(child(parent, index), DiffKind.REMOVED, shown(level.t1), None)


def _path_of(level: Any, t2: bool = False) -> str:
    """A deepdiff level's path as Parity writes it (``$.rows[3].score``)."""
    path = "$"
    for step in level.path(output_format="list", use_t2=t2):
        path = child(path, step)
    return path


_NUMBER_TYPES: Final = (int, float)


class _Numbers:
    """deepdiff operator: numbers by value, within a tolerance. Booleans are not numbers
    (``True`` against ``1`` stays a type change)."""

    def __init__(self, tolerance: float, strict: bool) -> None:
        self._tolerance = tolerance
        self._strict = strict

    def match(self, level: Any) -> bool:
        before, after = type(level.t1), type(level.t2)
        if before not in _NUMBER_TYPES or after not in _NUMBER_TYPES:
            return False
        if before is after:  # deepdiff compares these itself, but for a tolerance
            return self._tolerance > 0
        return not self._strict  # strictly, an int against a float is a type change

    def close(self, before: float, after: float) -> bool:
        if self._strict and type(before) is not type(after):
            return False
        # Exact for integers of any size: Python compares an int with a float exactly.
        # The slack absorbs float rounding: 1.01 - 1.00 is a little over 0.01.
        return before == after or (
            self._tolerance > 0 and abs(before - after) <= self._tolerance * (1 + 1e-9)
        )

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        if not self.close(level.t1, level.t2):
            diff_instance.custom_report_result("values_changed", level)
        return True

    @staticmethod
    def normalize_value_for_hashing(parent: Any, obj: Any) -> Any:
        return obj


class _AlignedLists:
    """deepdiff operator: two lists are lined up on their items' canonical JSON first
    (equal runs skipped, unequal items paired and compared, the rest added or removed).
    deepdiff lines up lists of scalars itself, but by Python's equality, for which
    ``True`` is ``1``, and lists of objects not at all. Lists a rule calls unordered are
    left to deepdiff's ignore-order comparison."""

    def __init__(self, unordered: Callable[[Any], bool]) -> None:
        self._unordered = unordered

    def match(self, level: Any) -> bool:
        if type(level.t1) is not list or type(level.t2) is not list:
            return False
        return not self._unordered(level)

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        from deepdiff.helper import notpresent
        from deepdiff.model import SubscriptableIterableRelationship as Index

        before, after = level.t1, level.t2
        for tag, i, j in _aligned(before, after):
            if tag == "paired":
                deeper = level.branch_deeper(before[i], after[j], Index, i, j)
                diff_instance._diff(deeper, local_tree=None)
            elif tag == "removed":
                removed = level.branch_deeper(before[i], notpresent, Index, i, i)
                diff_instance.custom_report_result("iterable_item_removed", removed)
            else:
                added = level.branch_deeper(notpresent, after[j], Index, j, j)
                diff_instance.custom_report_result("iterable_item_added", added)
        return True

    @staticmethod
    def normalize_value_for_hashing(parent: Any, obj: Any) -> Any:
        return obj


def _aligned(before: list[Any], after: list[Any]) -> Iterator[tuple[str, int, int]]:
    """How two lists line up: ("paired", i, j) for unequal items compared with each other,
    ("removed", i, -1) and ("added", -1, j) for the rest; equal items are left out."""
    keys, other = list(map(canonical, before)), list(map(canonical, after))
    start, end, other_end = 0, len(keys), len(other)
    while start < min(end, other_end) and keys[start] == other[start]:
        start += 1
    while end > start and other_end > start and keys[end - 1] == other[other_end - 1]:
        end, other_end = end - 1, other_end - 1
    # difflib's autojunk keeps long lists of repeated items cheap (their alignment suffers).
    matcher = SequenceMatcher(None, keys[start:end], other[start:other_end])
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        i1, i2, j1, j2 = i1 + start, i2 + start, j1 + start, j2 + start
        paired = min(i2 - i1, j2 - j1)
        for offset in range(paired):
            if keys[i1 + offset] != other[j1 + offset]:
                yield "paired", i1 + offset, j1 + offset
        for index in range(i1 + paired, i2):
            yield "removed", index, -1
        for index in range(j1 + paired, j2):
            yield "added", -1, index

"""Compare a replayed response with the recorded one: typed differences, by path.

The pipeline follows Diffy: lift each body by its media type (JSON, text or
binary), normalise both sides with the same rules, test for equality cheaply,
and only when the bodies differ find the typed differences by path. Last, the
differences an ignore rule covers move to `Comparison.ignored`, with the rule,
so a user can audit what each rule hid.

This runs for every replayed exchange, so equal bodies cost a byte comparison
or two parses. Bodies that differ go to deepdiff (imported then, not before),
whose result is mapped onto Parity's kinds by path. JSON has one number type,
so numbers compare by value (``100`` equals ``100.0``; integers of any size
exactly) unless `Rules.strict_number_types`; deepdiff's own switch for that
(``ignore_numeric_type_changes``) rounds to 12 significant digits, and its
``math_epsilon`` adds a relative tolerance that hides changed ids, so both are
done by a custom operator here. Lists of objects are lined up on their
canonical JSON before their items are compared, as deepdiff does itself only
for lists of scalars, so one inserted object is one ``added``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from enum import StrEnum
from itertools import chain
from typing import Any, Final

import orjson

from parity.errors import UsageError
from parity.tables import check_keys
from parity.traffic.endpoint import matches
from parity.traffic.exchange import Body, Headers, Response, media_type
from parity.traffic.markers import is_marker
from parity.traffic.paths import PathPattern, canonical, child, compile_pattern, normalise, shown

__all__ = [
    "Comparison",
    "DiffKind",
    "Difference",
    "RuleSet",
    "Rules",
    "blind_values",
    "compare",
    "is_graphql",
    "profile",
]

_PATH_SETTINGS = ("ignore_paths", "unordered_paths", "ignore_case_paths")
_SETTINGS = (
    *_PATH_SETTINGS,
    "numeric_tolerance",
    "strict_number_types",
    "headers",
    "compare_status",
    "graphql_strict",
)
_TEXT_TYPES = frozenset(
    {"application/xml", "application/javascript", "application/x-www-form-urlencoded"}
)
_NUMBER = re.compile(r"\d+")


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

    Path settings take patterns (see `parity.jsonpath`): ``$.meta.*``,
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
    ``graphql query *``), as `parity.endpoint.matches` reads them.
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


def _media(value: str) -> str:
    return value.partition(";")[0].strip().lower()


def compare(
    expected: Response, actual: Response, rules: Rules = _DEFAULT, *, graphql: bool = False
) -> Comparison:
    """How `actual` differs from `expected` under `rules`, differences sorted by path.

    A `graphql` endpoint's answers are compared as GraphQL clients read them:
    ``data`` exactly, and each error by what clients act on, its ``path`` and
    its ``extensions.code`` when both sides give one; the count of errors too.
    Servers word the same error differently and add their own extensions
    (Apollo's ``serviceName``), so message, ``locations`` and the rest are
    compared only with `Rules.graphql_strict`, and listed as ignored otherwise.
    So is a 200 against a 400 for a document that did not validate (both answer
    it under the GraphQL-over-HTTP spec), as kind ``graphql_status``.
    """
    found: list[Difference] = []
    relaxed: list[tuple[Difference, str]] = []
    if rules.compare_status and expected.status != actual.status:
        status = Difference("status", DiffKind.CHANGED, expected.status, actual.status)
        if graphql and _invalid_document(expected, actual):
            status = Difference("status", DiffKind.GRAPHQL_STATUS, expected.status, actual.status)
            if not rules.graphql_strict:
                relaxed.append((status, _GRAPHQL_STATUS_RULE))
        if not relaxed:
            found.append(status)
    found.extend(_header_differences(expected.headers, actual.headers, rules.headers))
    body, relaxed_in_body = _body_differences(expected, actual, rules, graphql)
    found.extend(body)
    relaxed.extend(relaxed_in_body)
    differences: list[Difference] = []
    ignored: list[tuple[Difference, str]] = sorted(relaxed, key=lambda pair: _order(pair[0]))
    for difference in sorted(found, key=_order):
        rule = next((p.text for p in rules._ignore if p.covers(difference.path)), None)
        if rule is None:
            differences.append(difference)
        else:
            ignored.append((difference, f"ignore_paths: {rule}"))
    return Comparison(tuple(differences), tuple(ignored))


def blind_values(expected: Response, actual: Response) -> int:
    """How many values the two answers hold as the same redaction marker in the same
    place: equal, but never compared (the recorder removed them, and the candidate's
    answer was redacted alike). A JSON body counts by path; another counts markers that
    both bodies hold."""
    before, after = expected.body, actual.body
    if _MARKER_START not in before.content or before.truncated or after.truncated:
        return 0
    media = media_type(expected.headers) or media_type(actual.headers)
    if media == "application/json" or media.endswith("+json"):
        try:
            return _blind_in_json(_parse(before.content), _parse(after.content))
        except ValueError:
            pass
    recorded, answered = _text(before.content), _text(after.content)
    return sum(
        min(count, answered.count(marker)) for marker, count in _markers_in(recorded).items()
    )


_MARKER_START: Final = b"[redacted"
_MARKER_TEXT: Final = re.compile(r"\[redacted(?::[a-z_]+)?\]")


def _markers_in(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for match in _MARKER_TEXT.finditer(text):
        counts[match[0]] = counts.get(match[0], 0) + 1
    return counts


def _blind_in_json(expected: Any, actual: Any) -> int:
    blind = 0
    stack = [(expected, actual)]
    while stack:
        before, after = stack.pop()
        if type(before) is str:
            blind += before == after and is_marker(before)
        elif type(before) is dict and type(after) is dict:
            stack.extend((value, after[key]) for key, value in before.items() if key in after)
        elif type(before) is list and type(after) is list:
            stack.extend(zip(before, after, strict=False))
    return blind


def _order(difference: Difference) -> str:
    """A sort key that puts ``$.items[2]`` before ``$.items[10]``."""
    return _NUMBER.sub(lambda digits: digits[0].zfill(20), difference.path)


def _header_differences(
    expected: Headers, actual: Headers, names: Iterable[str]
) -> Iterator[Difference]:
    for name in names:
        before, after = expected.get_all(name), actual.get_all(name)
        if name == "content-type":
            same = list(map(_media, before)) == list(map(_media, after))
        else:
            same = before == after
        if not same:
            kind = DiffKind.CHANGED
            if not before or not after:
                kind = DiffKind.REMOVED if before else DiffKind.ADDED
            yield Difference(f"header:{name}", kind, _header_value(before), _header_value(after))


def _header_value(values: list[str]) -> str | list[str] | None:
    """A header's value as shown: None when absent, a list when repeated."""
    return (values[0] if len(values) == 1 else values) if values else None


def is_graphql(endpoint: str) -> bool:
    """Whether an endpoint name (``graphql query GetUser``) names GraphQL operations."""
    return endpoint.startswith("graphql ")


def profile(endpoint: str, rules: Rules) -> str:
    """The comparison profile an endpoint's answers get: ``json``, ``graphql`` or
    ``graphql strict``."""
    if not is_graphql(endpoint):
        return "json"
    return "graphql strict" if rules.graphql_strict else "graphql"


_GRAPHQL_STATUS_RULE: Final = (
    "graphql: 200 and 400 both answer a document that did not validate (GraphQL over HTTP); "
    "counted with graphql_strict"
)
_GRAPHQL_ERRORS_RULE: Final = (
    "graphql: error wording, locations and extensions other than code are compared with "
    "graphql_strict"
)


def _invalid_document(expected: Response, actual: Response) -> bool:
    """Whether both answers are 200 or 400 carrying errors and no data: a document the
    server refused before running it."""
    if {expected.status, actual.status} != {200, 400}:
        return False
    for response in (expected, actual):
        try:
            document = orjson.loads(response.body.content)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(document, dict) or not document.get("errors"):
            return False
        if document.get("data") is not None:
            return False
    return True


def _body_differences(
    expected: Response, actual: Response, rules: Rules, graphql: bool = False
) -> tuple[list[Difference], list[tuple[Difference, str]]]:
    """The body's differences, and those the GraphQL profile let go, with the reason."""
    before, after = expected.body, actual.body
    if before.content == after.content or before.truncated or after.truncated:
        return _whole_body_differences(expected, actual), []
    media = media_type(expected.headers) or media_type(actual.headers)
    if media == "application/json" or media.endswith("+json"):
        return _json_differences(before.content, after.content, rules, graphql)
    return _whole_body_differences(expected, actual), []


def _whole_body_differences(expected: Response, actual: Response) -> list[Difference]:
    before, after = expected.body, actual.body
    if before.truncated and not before.sha256:
        # Dropped when it was recorded (it could not be read whole): the candidate's body
        # cannot be compared, so the exchange fails closed and says why.
        return [Difference("body", DiffKind.CHANGED, _dropped(before), _digest(after))]
    if before.truncated or after.truncated:
        # Only the digest and size of a truncated recording describe the whole body.
        if (before.sha256, before.size) == (after.sha256, after.size):
            return []
        return [Difference("body", DiffKind.CHANGED, _digest(before), _digest(after))]
    if before.content == after.content:
        return []
    media = media_type(expected.headers) or media_type(actual.headers)
    if _is_text(media) or (before.text() is not None and after.text() is not None):
        texts = _text(before.content), _text(after.content)
        if texts[0] != texts[1]:  # else they differ only in bytes that are not UTF-8
            return [Difference("body", DiffKind.CHANGED, *texts)]
    return [Difference("body", DiffKind.CHANGED, _digest(before), _digest(after))]


def _is_text(media: str) -> bool:
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith("+xml")


def _text(content: bytes) -> str:
    return content.decode("utf-8", "replace")


def _digest(body: Body) -> dict[str, Any]:
    return {"sha256": body.sha256, "size": body.size}


def _dropped(body: Body) -> dict[str, Any]:
    return {
        "dropped": "the recorded body could not be read whole when it was sanitised, so it was "
        "not stored and cannot be compared (the record's meta.sanitised.dropped_bodies says why)",
        "size": body.size,
    }


def _json_differences(
    before: bytes, after: bytes, rules: Rules, graphql: bool = False
) -> tuple[list[Difference], list[tuple[Difference, str]]]:
    try:
        expected, actual = _parse(before), _parse(after)
    except ValueError:  # not JSON, or nested deeper than a parser takes
        return [Difference("body", DiffKind.CHANGED, _text(before), _text(after))], []
    if rules._unordered or rules._ignore_case:
        expected = normalise(expected, rules._unordered, rules._ignore_case)
        actual = normalise(actual, rules._unordered, rules._ignore_case)
    if canonical(expected) == canonical(actual):
        return [], []
    relaxed: list[tuple[Difference, str]] = []
    if graphql and not rules.graphql_strict:
        read = _as_clients_read(expected, actual)
        if read is not None:
            whole = _documents_differences(expected, actual, before, after, rules)
            expected, actual = read
            if canonical(expected) == canonical(actual):
                counted: list[Difference] = []
            else:
                counted = _documents_differences(expected, actual, before, after, rules)
            kept = {difference.path for difference in counted}
            relaxed = [(d, _GRAPHQL_ERRORS_RULE) for d in whole if d.path not in kept]
            return counted, relaxed
    return _documents_differences(expected, actual, before, after, rules), relaxed


def _documents_differences(
    expected: Any, actual: Any, before: bytes, after: bytes, rules: Rules
) -> list[Difference]:
    try:
        return _deep_differences(expected, actual, rules)
    except RecursionError:
        # Deeper than deepdiff recurses (a hundred levels or so): compared whole.
        if _same(expected, actual, rules):
            return []
        return [Difference("body", DiffKind.CHANGED, _text(before), _text(after))]


def _as_clients_read(expected: Any, actual: Any) -> tuple[Any, Any] | None:
    """Two GraphQL answers with each error cut down to what clients act on (its path, and
    its extensions.code where both sides give one), or None when neither has errors."""
    if type(expected) is not dict or type(actual) is not dict:
        return None
    mine, theirs = expected.get("errors"), actual.get("errors")
    if type(mine) is not list and type(theirs) is not list:
        return None

    def cut(errors: Any, other: Any) -> Any:
        if type(errors) is not list:
            return errors
        others = other if type(other) is list else []
        read = []
        for index, error in enumerate(errors):
            if type(error) is not dict:
                read.append(error)
                continue
            kept: dict[str, Any] = {"path": error.get("path")}
            counterpart = others[index] if index < len(others) else None
            code, other_code = _code(error), _code(counterpart)
            if code is not None and other_code is not None:
                kept["extensions"] = {"code": code}
            read.append(kept)
        return read

    def read(document: dict[str, Any], errors: Any, other: Any) -> dict[str, Any]:
        seen = {**document, "errors": cut(errors, other)} if "errors" in document else document
        # "data": null and no "data" at all say the same to a client: nothing ran (the spec
        # leaves "data" out for a request that failed before execution; some servers don't).
        if "data" in seen and seen["data"] is None:
            seen = {key: value for key, value in seen.items() if key != "data"}
        return seen

    return read(expected, mine, theirs), read(actual, theirs, mine)


def _code(error: Any) -> Any:
    extensions = error.get("extensions") if type(error) is dict else None
    return extensions.get("code") if type(extensions) is dict else None


def _same(expected: Any, actual: Any, rules: Rules) -> bool:
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


def _parse(content: bytes) -> Any:
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


def _deep_differences(expected: Any, actual: Any, rules: Rules) -> list[Difference]:
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

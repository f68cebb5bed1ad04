"""Compare a replayed response with the recorded one: typed differences, by path.

The pipeline follows Diffy: lift each body by its media type (JSON, text or
binary), normalise both sides with the same rules, test for equality cheaply,
and only when the bodies differ find the typed differences by path. Last, the
differences an ignore rule covers move to `Comparison.ignored`, with the rule,
so a user can audit what each rule hid.

This runs for every replayed exchange, so equal bodies cost a byte comparison
or two parses. Bodies that differ go to deepdiff (`parity.compare.deep`),
whose result is mapped onto Parity's kinds by path; GraphQL answers are read
as clients read them first (`parity.compare.graphql`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from parity.compare.deep import deep_differences, parse_exact, same_by_value
from parity.compare.differences import Comparison, Difference, DiffKind
from parity.compare.graphql import ERRORS_RULE, STATUS_RULE, as_clients_read, invalid_document
from parity.compare.rules import Rules
from parity.traffic.exchange import Body, Headers, Response, media_type
from parity.traffic.markers import is_marker
from parity.traffic.paths import canonical, normalise

__all__ = ["blind_values", "compare"]

_TEXT_TYPES = frozenset(
    {"application/xml", "application/javascript", "application/x-www-form-urlencoded"}
)
_NUMBER = re.compile(r"\d+")


_DEFAULT = Rules()


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
        if graphql and invalid_document(expected, actual):
            status = Difference("status", DiffKind.GRAPHQL_STATUS, expected.status, actual.status)
            if not rules.graphql_strict:
                relaxed.append((status, STATUS_RULE))
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
            return _blind_in_json(parse_exact(before.content), parse_exact(after.content))
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
        expected, actual = parse_exact(before), parse_exact(after)
    except ValueError:  # not JSON, or nested deeper than a parser takes
        return [Difference("body", DiffKind.CHANGED, _text(before), _text(after))], []
    if rules._unordered or rules._ignore_case:
        expected = normalise(expected, rules._unordered, rules._ignore_case)
        actual = normalise(actual, rules._unordered, rules._ignore_case)
    if canonical(expected) == canonical(actual):
        return [], []
    relaxed: list[tuple[Difference, str]] = []
    if graphql and not rules.graphql_strict:
        read = as_clients_read(expected, actual)
        if read is not None:
            whole = _documents_differences(expected, actual, before, after, rules)
            expected, actual = read
            if canonical(expected) == canonical(actual):
                counted: list[Difference] = []
            else:
                counted = _documents_differences(expected, actual, before, after, rules)
            kept = {difference.path for difference in counted}
            relaxed = [(d, ERRORS_RULE) for d in whole if d.path not in kept]
            return counted, relaxed
    return _documents_differences(expected, actual, before, after, rules), relaxed


def _documents_differences(
    expected: Any, actual: Any, before: bytes, after: bytes, rules: Rules
) -> list[Difference]:
    try:
        return deep_differences(expected, actual, rules)
    except RecursionError:
        # Deeper than deepdiff recurses (a hundred levels or so): compared whole.
        if same_by_value(expected, actual, rules):
            return []
        return [Difference("body", DiffKind.CHANGED, _text(before), _text(after))]

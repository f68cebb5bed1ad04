"""Sanitising, pass one, in JSON: what a parsed document holds, key by key and value by value.

Most of a recorder's sanitising time is spent here, so the walk (`JsonWalk._json`)
decides the common leaf without a call and reads long lists whole: a list of
strings by set operations, a page of records column by column (`_columns`).
Under a policy with JSON path rules, `_json_at_paths` walks with the path of
each value, for the rules to decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import repeat
from operator import itemgetter
from typing import Any, Final

from parity.sanitize.found import Found
from parity.sanitize.policy import Action, Mode
from parity.traffic.detectors import SHORTEST
from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from parity.traffic.markers import REMOVED
from parity.traffic.paths import child

__all__ = ["JsonWalk"]

#: Marks a key not yet in `Finder.keys`.
_UNSEEN: Final[Any] = object()
#: Marks an object whose values are judged by their own keys (see `_json`).
_OWN: Final[Any] = object()
#: How many JSON keys the finder remembers.
_KEYS_KEPT: Final = 16_384
#: Lists at least this long are read whole: a list of strings by set operations, a page
#: of records column by column (see `_columns`).
_ROWS: Final = 8
#: What a JSON walk looks at under an ordinary name: fractions, booleans and nulls hold
#: nothing a detector finds.
_LOOKED_AT: Final = frozenset({str, int, dict, list})
_STRINGS: Final = frozenset({str})
_NULLABLE_STRINGS: Final = frozenset({str, type(None)})
_NUMBERS: Final = frozenset({int, float})
#: The other end of the range of JSON numbers too short to be card numbers.
_SHORT_NUMBER: Final = -(10**12)
_DICTS: Final = frozenset({dict})


class JsonWalk(Found):
    """Pass one over parsed JSON documents."""

    def _json_at_paths(self, document: Any, graphql: bool) -> dict[str, Any]:
        """Pass 1 over JSON for a policy with path rules or in allow-list mode: what each
        rule decided, by path (KEEP, DROP, or the stand-in); the rest as `_json` does."""
        decided: dict[str, Any] = {}
        allow_list = self._policy.mode is Mode.ALLOW_LIST
        stack: list[tuple[str, str, Any, Kind | None]] = [("$", "", document, None)]
        while stack:
            path, key, value, inherited = stack.pop()
            action = self._policy.at_path(path, self._endpoint, graphql)
            if action is Action.KEEP or action is Action.DROP:
                decided[path] = action
                self._counts[f"json:{action.value}"] += 1
                continue
            if isinstance(value, dict):
                for name, item in value.items():
                    if len(name) >= SHORTEST:
                        self.text(name)
                    kind = inherited or kind_of_field(name)
                    stack.append((child(path, name), name, item, kind))
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    stack.append((child(path, index), "", item, inherited))
            elif action is not None and isinstance(value, str):
                decided[path] = self._ruled(action, value, f"json:{action.value}")
            elif action is not None or (allow_list and value is not None):
                decided[path] = self._unlisted(value, inherited, action)
            else:
                self.field(key, value, inherited)
        return decided

    def _unlisted(self, value: Any, kind: Kind | None, action: Action | None) -> Any:
        """A number or string no rule keeps in allow-list mode (or a number a rule names)."""
        if isinstance(value, bool):
            return value
        self.changes = True
        if isinstance(value, int | float):
            if action is Action.REDACT or action is Action.HASH:
                self._counts[f"json:{action.value}"] += 1
                return REMOVED
            self._counts["json:unlisted"] += 1
            return self._pseudonymiser.replace_number(kind or Kind.PERSONAL, int(value))
        return self._ruled(Action.PSEUDONYMISE, str(value), "json:unlisted")

    def _texts(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.text(text)

    def _columns(
        self,
        rows: list[dict[str, Any]],
        stack: list[tuple[Any, Kind | None]],
        extend: Callable[[Iterable[str]], None],
    ) -> bool:
        """A page of records (objects with the same keys), column by column: each key is
        looked up once rather than once a row, and each column of words, short numbers or
        fractions under an ordinary key is read at once (`_read_whole`); the others go on
        `_json`'s stack as one list each. False, with nothing done, when the objects do not
        all have the same keys."""
        first = rows[0]
        if len(set(map(len, rows))) != 1:
            return False
        try:
            # As many keys in each, and each of the first one's in all: the same keys.
            columns = [(key, list(map(itemgetter(key), rows))) for key in first]
        except KeyError:
            return False
        keys, clean = self._find.keys, self._find.clean
        for key, column in columns:
            kind = keys.get(key, _UNSEEN)
            if kind is _UNSEEN:
                kind = kind_of_field(key)
                if len(key) >= SHORTEST and key not in clean:
                    extend(repeat(key, len(rows)))  # as often as written, as values are
                else:
                    if len(keys) >= _KEYS_KEPT:
                        keys.clear()
                    keys[key] = kind
            inherited = kind if self._fields else None
            if inherited is None and self._read_whole(column, set(map(type, column)), extend):
                continue
            stack.append((column, inherited))
        return True

    def _read_whole(
        self, values: list[Any], kinds: set[type], extend: Callable[[Iterable[str]], None]
    ) -> bool:
        """Read a long list of values of `kinds` at once, if it holds only fractions,
        booleans and nulls, strings (and nulls), or numbers too short for a card number;
        False, with nothing done, when it holds anything else."""
        if kinds.isdisjoint(_LOOKED_AT):  # fractions, booleans and nulls
            return True
        if kinds in (_STRINGS, _NULLABLE_STRINGS):
            # Words, tags, names of things: most are known to hold nothing.
            novel = set(values).difference(self._find.clean)
            novel.discard(None)
            if novel:  # queued as often as written: what is found is counted
                extend(filter(novel.__contains__, values))
            return True
        # Ids, counts and scores, too short for a card number.
        return kinds <= _NUMBERS and _SHORT_NUMBER < min(values) <= max(values) < 10**12

    def _json(self, document: Any) -> int:
        """Find in a parsed JSON document; how many keys its objects hold."""
        # Iterative: orjson parses documents deeper than Python's recursion limit. The
        # common leaf (a short string or a number under an ordinary key) is decided
        # here without a call: this loop is most of a recorder's sanitising time.
        # An audit needs to know where each queued string was: then through `text`.
        queue = self._queued.append if self._audit is None else self.text
        extend = self._queued.extend if self._audit is None else self._texts
        field, fields = self.field, self._fields
        clean = self._find.clean
        keys = self._find.keys
        counted = 0
        stack: list[tuple[Any, Kind | None]] = [(document, None)]
        while stack:
            value, inherited = stack.pop()
            if type(value) is list:
                if inherited is None and len(value) >= _ROWS:
                    kinds = set(map(type, value))
                    if self._read_whole(value, kinds, extend):
                        continue
                    if kinds == _DICTS and self._columns(value, stack, extend):
                        counted += len(value[0]) * len(value)
                        continue
                for item in value:
                    kind_of_item = type(item)
                    if kind_of_item is dict or kind_of_item is list:
                        stack.append((item, inherited))
                    elif inherited is not None:
                        field("", item, inherited)
                    elif kind_of_item is str:
                        if len(item) >= SHORTEST and item not in clean:
                            queue(item)
                    elif kind_of_item is int and (item >= 10**12 or item <= -(10**12)):
                        queue(str(item))  # card numbers sent as JSON numbers
                continue
            if type(value) is not dict:
                field("", value, inherited)
                continue
            counted += len(value)
            # What decides the kind of this object's values, once rather than per key:
            # each key's own (`_OWN`), or the sensitive field above, or none.
            override = inherited if inherited is not None else _OWN if fields else None
            for key, item in value.items():
                kind = keys.get(key, _UNSEEN)
                if kind is _UNSEEN:
                    kind = kind_of_field(key)
                    if len(key) >= SHORTEST and key not in clean:
                        queue(key)
                    else:  # known to hold nothing: one lookup from now on
                        if len(keys) >= _KEYS_KEPT:
                            keys.clear()
                        keys[key] = kind
                if override is not _OWN:
                    kind = override
                kind_of_item = type(item)
                if kind_of_item is dict or kind_of_item is list:
                    stack.append((item, kind))
                elif kind is not None:
                    field(key, item, kind)
                elif kind_of_item is str:
                    if len(item) >= SHORTEST and item not in clean:
                        queue(item)
                elif kind_of_item is int and (item >= 10**12 or item <= -(10**12)):
                    queue(str(item))
        return counted

"""Sanitising, pass one: what in an exchange is sensitive, and the stand-in for each.

`Findings` walks an exchange's headers, query, path and bodies (as `Parsed`
presents them): credential headers are dropped, values under sensitive names
and values the detectors recognise get a stand-in, policy rules decide the
rest. `parity.sanitize` adds pass two, which replaces every occurrence.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from parity.detectors import SHORTEST, Finder, Finding, Kind, kind_of_field
from parity.exchange import Body, Headers, Query
from parity.jsonpath import child
from parity.policy import Action, Location, Mode, Policy
from parity.pseudonym import REMOVED, Pseudonymiser, redacted

__all__ = ["CREDENTIAL_HEADERS", "Findings", "Parsed"]

#: Headers (compared without case) that carry credentials or sessions: dropped whole.
CREDENTIAL_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-csrf-token",
        "x-xsrf-token",
        "x-amz-security-token",
        "x-goog-iap-jwt-assertion",
    }
)
#: Found values shorter than this are replaced where found, not searched for elsewhere:
#: "Al" or "12" would match inside unrelated words and numbers.
_PROPAGATED: Final = 4
#: Bodies at least this long have their findings remembered, at most this many of them.
_REMEMBERED_BODY: Final = 256
_BODIES_KEPT: Final = 4096
#: Dropped credentials are searched for elsewhere only when this long (session ids, tokens).
_CREDENTIAL_VALUE: Final = 8
#: How the metadata names what changed a value: its field's name, or a detector.
_FIELD_RULES: Final = {kind: f"field:{kind.value}" for kind in Kind}
_DETECTOR_RULES: Final = {kind: f"detector:{kind.value}" for kind in Kind}
#: Marks a key not yet in `Finder.keys`.
_UNSEEN: Final[Any] = object()
#: How many JSON keys the finder remembers.
_KEYS_KEPT: Final = 16_384
_JSON_TYPES: Final = ("application/json", "+json", "application/graphql-response")
_FORM: Final = "application/x-www-form-urlencoded"


@dataclasses.dataclass(slots=True)
class Parsed:
    """A body as the sanitiser walks it: JSON, a form, text, or bytes read as Latin-1."""

    body: Body
    kind: str  # "json", "form", "text", "bytes", "empty"
    value: Any
    #: A GraphQL request (its variables are where ``graphql`` rules look).
    graphql: bool = False
    #: What policy rules decided, by JSON path; a form's pairs after its rules.
    decided: Any = None

    @classmethod
    def of(cls, headers: Headers, body: Body, *, request: bool = False) -> Parsed:
        content = body.content
        if not content:
            return cls(body, "empty", None)
        media = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        text = body.text()
        if text is None:
            return cls(body, "bytes", content.decode("latin-1"))
        if not body.truncated and (
            any(marker in media for marker in _JSON_TYPES) or text[:1] in ("{", "[")
        ):
            try:
                document = orjson.loads(content)
            except orjson.JSONDecodeError:
                pass
            else:
                graphql = request and isinstance(document, dict) and "query" in document
                return cls(body, "json", document, graphql)
        if media == _FORM and not body.truncated:
            return cls(body, "form", parse_qsl(text, keep_blank_values=True))
        return cls(body, "text", text)


class Findings:
    """Pass one over one exchange: what is sensitive in it, and the stand-in for each.

    `parity.sanitize` extends it with pass two, which replaces what was found.
    """

    def __init__(
        self,
        pseudonymiser: Pseudonymiser,
        finder: Finder,
        policy: Policy,
        endpoint: str | None,
        lookalikes: dict[str, bool],
        bodies: dict[tuple[str, int], list[tuple[Kind, Any, str | None]]],
    ) -> None:
        self._pseudonymiser = pseudonymiser
        self._find = finder
        self._lookalikes = lookalikes
        self._bodies = bodies
        #: What pass 1 takes, while a body's findings are being remembered.
        self._log: list[tuple[Kind, Any, str | None]] | None = None
        self._policy = policy
        self._endpoint = endpoint
        #: Whether anything is to change: something found, dropped, or decided by a rule.
        self.changes = False
        #: The pseudonyms made for this exchange (see `summary`).
        self._made: set[str] = set()
        #: Each sensitive value found, and its stand-in.
        self.found: dict[str, str] = {}
        #: Values that are sensitive because of their field, replaced only where whole.
        self._whole: dict[str, str] = {}
        self.dropped: list[str] = []
        #: The request's credentials removed: who asked, kept only as a keyed tag.
        self.callers: list[str] = []
        self._counts: Counter[str] = Counter()
        self._order: list[tuple[str, str]] | None = None
        self._raw: list[tuple[bytes, bytes]] | None = None
        self._safe: bool | None = None
        #: A number was found sensitive by its field: only the tree walk keeps it a number.
        self._typed = False
        #: Strings to search for sensitive values; `searched` empties it.
        self._queued: list[str] = []

    # -- pass 1 -------------------------------------------------------------------------

    def _take(self, kind: Kind, value: str, rule: str) -> str:
        if self._log is not None:
            self._log.append((kind, value, rule))
        self._counts[rule] += 1
        self.changes = True
        stand_in = self.found.get(value) or self._whole.get(value)
        if stand_in is None:
            stand_in = self._pseudonymiser.replace(kind, value)
            self._made.add(stand_in)
            if len(value) >= _PROPAGATED:
                self.found[value] = stand_in
            else:
                self._whole[value] = stand_in
        return stand_in

    def text(self, text: str) -> None:
        """Search `text` for sensitive values, with the others queued (see `searched`)."""
        self._queued.append(text)

    def searched(self) -> None:
        """Search the queued strings, together: most bodies hold no marker of any detector."""
        if self._queued:
            queued, self._queued = self._queued, []
            for _, found in self._find.many(queued):
                self._found(found)

    def _found(self, found: list[Finding]) -> None:
        for finding in found:
            self._take(finding.kind, finding.text, _DETECTOR_RULES[finding.kind])

    def field(self, name: str, value: Any, inherited: Kind | None = None) -> None:
        """A value under field `name` (or below a sensitive field, `inherited`)."""
        kind = inherited or kind_of_field(name)
        if isinstance(value, str):
            if kind is not None and value:
                self._take(kind, value, _FIELD_RULES[kind])
            elif len(value) >= SHORTEST:
                self.text(value)
        elif isinstance(value, int) and not isinstance(value, bool) and kind is not None:
            self._take_number(kind, value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
            self.text(str(value))  # card numbers sent as JSON numbers

    def _take_number(self, kind: Kind, value: int) -> None:
        """A number under a sensitive field: it stays a number (see `_raw_safe`)."""
        if self._log is not None:
            self._log.append((kind, value, None))
        self._counts[_FIELD_RULES[kind]] += 1
        self.changes = True
        self._typed = True
        text = str(value)
        if len(text) >= _PROPAGATED:  # the same number written as text elsewhere
            self.found.setdefault(text, str(self._pseudonymiser.replace_number(kind, value)))

    def _ruled(self, action: Action, value: str, rule: str) -> str:
        """What a policy rule makes of `value`; the stand-in is used wherever it appears."""
        self._counts[rule] += 1
        if action is Action.KEEP:
            return value
        self.changes = True
        if action is Action.PSEUDONYMISE:
            stand_in = self._pseudonymiser.replace(Kind.PERSONAL, value)
            self._made.add(stand_in)
        elif action is Action.HASH:
            stand_in = self._pseudonymiser.hashed(value)
        else:  # REDACT, and what DROP leaves elsewhere
            stand_in = REMOVED
        if len(value) >= _PROPAGATED:
            self.found.setdefault(value, stand_in)
        return stand_in

    def headers(self, headers: Headers, *, request: bool = False) -> list[tuple[str, str, bool]]:
        """The headers kept, each with whether a rule settled its value (then left alone).
        A request's credentials that are removed are noted in `callers`."""
        kept = []
        for name, value in headers:
            folded = name.lower()
            action = self._policy.named(Location.HEADER, folded, self._endpoint)
            if action is None and folded in ("cookie", "set-cookie"):
                cookies = self._cookies(folded, value, request)
                if cookies is not None:
                    kept.append((name, cookies, True))
                continue
            if action is None and folded in CREDENTIAL_HEADERS:
                action = Action.DROP
                for secret in _credential_values(folded, value):
                    self.found.setdefault(secret, redacted(Kind.TOKEN))
            if action is Action.DROP:
                self._ruled(Action.REDACT, value, f"header:{folded}")
                self.dropped.append(folded)
                if request and folded in CREDENTIAL_HEADERS:
                    self.callers.append(f"{folded}:{value}")
            elif action is None:
                kept.append((name, value, False))
                self.field(name, value)
            else:
                kept.append((name, self._ruled(action, value, f"header:{folded}"), True))
        return kept

    def _cookies(self, header: str, value: str, request: bool) -> str | None:
        """A Cookie or Set-Cookie value with only the cookies rules keep (by default none)."""
        parts = value.split(";") if header == "cookie" else value.split(";", 1)[:1]
        kept = []
        for part in parts:
            name, _, cookie = part.strip().partition("=")
            action = self._policy.named(Location.COOKIE, name, self._endpoint) or Action.DROP
            for secret in _credential_values("cookie", part):
                if action is not Action.KEEP:
                    self.found.setdefault(secret, redacted(Kind.TOKEN))
            if action is Action.DROP:
                self._counts[f"cookie:{name.lower()}"] += 1
                self.changes = True
                if request:
                    self.callers.append(f"cookie:{part.strip()}")
            else:
                kept.append(f"{name}={self._ruled(action, cookie, f'cookie:{name.lower()}')}")
        if not kept:
            self._counts[f"header:{header}"] += 1
            self.dropped.append(header)
            return None
        if header == "set-cookie":
            attributes = value.split(";", 1)[1:]
            return kept[0] + (";" + attributes[0] if attributes else "")
        return "; ".join(kept)

    def named_pairs(self, location: Location, pairs: Iterable[tuple[str, str]]) -> list[Any]:
        """Query parameters or form fields after their rules: (name, value, settled) or None."""
        decided: list[Any] = []
        for name, value in pairs:
            action = self._policy.named(location, name, self._endpoint)
            if action is None:
                if len(name) >= SHORTEST:
                    self.text(name)
                self.field(name, value)
                decided.append((name, value, False))
            elif action is Action.DROP:
                self._ruled(Action.REDACT, value, f"{location.value}:{name}")
                decided.append(None)
            else:
                decided.append((name, self._ruled(action, value, f"{location.value}:{name}"), True))
        return decided

    def query(self, query: Query) -> list[Any]:
        return self.named_pairs(Location.QUERY, query)

    def body(self, parsed: Parsed) -> None:
        if parsed.kind == "json" and self._policy.has_paths:
            parsed.decided = self._json_at_paths(parsed.value, parsed.graphql)
            self.changes = self.changes or bool(parsed.decided)
        elif parsed.kind == "form":
            parsed.decided = self.named_pairs(Location.FORM, parsed.value)
        elif parsed.kind in ("json", "text", "bytes"):
            self._remembered(parsed)

    def _remembered(self, parsed: Parsed) -> None:
        """Find in a JSON or text body, or repeat what was found in the same body before.

        Responses recur byte for byte (a popular item, a list page), and what a
        body holds does not depend on the rest of the exchange; so each body's
        findings are remembered by its digest and replayed when it comes again.
        """
        content = parsed.body.content
        key = (parsed.body.sha256, len(content))
        log = self._bodies.get(key) if len(content) >= _REMEMBERED_BODY else None
        if log is not None:
            for kind, value, rule in log:
                if rule is None:
                    self._take_number(kind, value)
                else:
                    self._take(kind, value, rule)
            return
        self._log = []
        outer, self._queued = self._queued, []  # what the body holds, and nothing else
        try:
            if parsed.kind == "json":
                self._json(parsed.value)
            else:
                self.text(parsed.value)
            self.searched()
        finally:
            log, self._log = self._log, None
            self._queued = outer
        if len(content) >= _REMEMBERED_BODY:
            if len(self._bodies) >= _BODIES_KEPT:
                self._bodies.clear()
            self._bodies[key] = log

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

    def _json(self, document: Any) -> None:
        # Iterative: orjson parses documents deeper than Python's recursion limit. The
        # common leaf (a short string or a number under an ordinary key) is decided
        # here without a call: this loop is most of a recorder's sanitising time.
        queue, field = self._queued.append, self.field
        clean = self._find.clean
        keys = self._find.keys
        stack: list[tuple[Any, Kind | None]] = [(document, None)]
        while stack:
            value, inherited = stack.pop()
            if type(value) is list:
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
                if inherited is not None:
                    kind = inherited
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


def _credential_values(name: str, value: str) -> Iterable[str]:
    """The secret parts of a dropped credential header, to be removed wherever else they appear."""
    if name in ("cookie", "set-cookie"):
        parts = value.split(";") if name == "cookie" else value.split(";", 1)[:1]
        for part in parts:
            _, _, cookie = part.partition("=")
            cookie = cookie.strip().strip('"')
            if len(cookie) >= _CREDENTIAL_VALUE:
                yield cookie
        return
    token = value.split(None, 1)[-1].strip() if " " in value.strip() else value.strip()
    if len(token) >= _CREDENTIAL_VALUE:
        yield token

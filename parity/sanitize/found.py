"""Sanitising, pass one: what one exchange's walk has found, and how it takes more.

`Found` holds what pass one has found so far (each sensitive value and its
stand-in, how often each rule changed a value, the strings still to search)
and the steps every part of the walk takes: take a value, queue text for the
detectors, judge a value by its field's name, apply a policy rule, read the
literals of a GraphQL document, and the query parameters or form fields that
URLs and bodies both hold. The parts build on it: the JSON walk
(`parity.sanitize.jsonwalk`), bodies (`parity.sanitize.bodyfindings`), and
headers, cookies, query and path (`parity.sanitize.findings`).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Final

import parity.sanitize.graphqldoc as graphqldoc
from parity.sanitize.policy import Action, Location, Policy
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic.detectors import SHORTEST, Finder, Finding
from parity.traffic.exchange import Request
from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from parity.traffic.markers import REMOVED, is_marker, url_safe

__all__ = ["Audit", "Found"]

#: Found values shorter than this are replaced where found, not searched for elsewhere:
#: "Al" or "12" would match inside unrelated words and numbers.
_PROPAGATED: Final = 4
#: How the metadata names what changed a value: its field's name, or a detector.
_FIELD_RULES: Final = {kind: f"field:{kind.value}" for kind in Kind}
_DETECTOR_RULES: Final = {kind: f"detector:{kind.value}" for kind in Kind}
#: Query parameters that carry credentials under names that say nothing elsewhere: OAuth's
#: authorization code, an API key (``?key=AIza...``).
_QUERY_SECRETS: Final = {"code": Kind.TOKEN, "key": Kind.TOKEN}

#: Told of each finding: where it is, its kind, the value (an audit keeps only its length).
Audit = Callable[[str, str, str], None]


class Found:
    """What pass one has found in one exchange, and the steps that find more.

    `parity.sanitize.findings.Findings` is the whole of pass one, built on it.
    """

    def __init__(
        self,
        pseudonymiser: Pseudonymiser,
        finder: Finder,
        policy: Policy,
        endpoint: str | None,
        lookalikes: dict[str, bool],
        bodies: dict[tuple[str, int], list[tuple[Kind, Any, str | None]]],
        *,
        request: Request | None = None,
        audit: Audit | None = None,
        fields: bool = True,
    ) -> None:
        self._pseudonymiser = pseudonymiser
        self._find = finder
        self._lookalikes = lookalikes
        self._bodies = bodies
        #: What pass 1 takes, while a body's findings are being remembered.
        self._log: list[tuple[Kind, Any, str | None]] | None = None
        self._policy = policy
        self._endpoint = endpoint
        #: The service's own addresses (its host, as the request names it): not personal.
        self._request = request
        self._own: frozenset[str] | None = None  # the service's own addresses, when asked
        #: Told of every finding (an audit); then bodies are never replayed from memory.
        self._audit = audit
        #: Whether field names count (an audit of sanitised records looks at values only).
        self._fields = fields
        #: Where the walk is, for the audit: "request header 2", "response body".
        self.where = ""
        self._wheres: dict[str, str] = {}
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
        #: How often each rule changed a value (a Counter costs four times as much to make).
        self._counts: defaultdict[str, int] = defaultdict(int)
        self._order: list[tuple[str, str]] | None = None
        self._raw: list[tuple[bytes, bytes]] | None = None
        self._safe: bool | None = None
        #: A number was found sensitive by its field: only the tree walk keeps it a number.
        self._typed = False
        #: Strings to search for sensitive values; `searched` empties it.
        self._queued: list[str] = []
        #: GraphQL documents whose literals hold something sensitive (see `finished`).
        self._documents: list[str] = []
        #: Found values as entities or percent-escapes may write them (pass two, lazily).
        self._encoded: Any = None
        #: The request's path segments and query names and values (see `_url_markers`).
        self._url_parts: list[str] = []

    # -- pass 1 -------------------------------------------------------------------------

    def _take(self, kind: Kind, value: str, rule: str) -> str:
        if self._log is not None:
            self._log.append((kind, value, rule))
        if self._audit is not None:
            self._audit(self._wheres.get(value, self.where), kind.value, value)
        self._counts[rule] += 1
        self.changes = True
        stand_in = self.found.get(value) or self._whole.get(value)
        if stand_in is None or (kind.secret and not is_marker(stand_in)):
            # A secret outranks a pseudonym found for the same text (see `note`).
            stand_in = self._pseudonymiser.replace(kind, value)
            self._made.add(stand_in)
            if len(value) >= _PROPAGATED:
                self.note(value, stand_in)
            else:
                self._whole[value] = stand_in
        return stand_in

    def note(self, value: str, stand_in: str) -> None:
        """Replace `value` by `stand_in` wherever else it appears, unless a stand-in is
        noted for it already. A redaction marker replaces a pseudonym or digest noted
        before it: a value that is a secret anywhere is removed everywhere, and a
        password equal to a name seen first does not keep the shape its pseudonym keeps."""
        known = self.found.get(value)
        if known is None or (is_marker(stand_in) and not is_marker(known)):
            self.found[value] = stand_in

    def text(self, text: str) -> None:
        """Search `text` for sensitive values, with the others queued (see `searched`)."""
        self._queued.append(text)
        if self._audit is not None:
            self._wheres.setdefault(text, self.where)

    def short(self, text: str) -> None:
        """Search a short value where encoded context travels (a header, a query parameter,
        a path segment): as text, and for what base64 runs in it hide."""
        if len(text) >= SHORTEST:
            self.text(text)
            found = self._find.encoded(text)
            if found:
                self._found(found)

    def searched(self) -> None:
        """Search the queued strings, together: most bodies hold no marker of any detector."""
        if self._queued:
            queued, self._queued = self._queued, []
            for text, found in self._find.many(queued):
                if self._audit is not None:
                    self.where = self._wheres.get(text, self.where)
                self._found(found)

    def finished(self) -> None:
        """The end of pass one: GraphQL documents get their stand-ins, literal by literal."""
        self.searched()
        for document in self._documents:
            rewritten, _ = graphqldoc.rewrite_literals(document, self._literal)
            self._whole[document] = self._substituted(rewritten)
        if self._url_parts and (self.found or self._whole):
            self._url_markers()

    def _url_markers(self) -> None:
        """A value found in the request's URL is marked everywhere as the URL marks it
        (``redacted-token``, not ``[redacted:token]``): a service that echoes its query
        or path (httpbin's ``args`` and ``url``) then echoes what the replay sends."""
        parts = self._url_parts
        url = "\n".join(parts)
        for value, stand_in in self.found.items():
            if stand_in[:9] == "[redacted" and value in url:
                self.found[value] = url_safe(stand_in)
        for value, stand_in in self._whole.items():
            if stand_in[:9] == "[redacted" and value in parts:
                self._whole[value] = url_safe(stand_in)

    def _literal(self, name: str, value: Any, kind: Kind | None) -> Any:
        kind = kind or (kind_of_field(name) if self._fields else None)
        if kind is None:
            return value
        if isinstance(value, str):
            return self.found.get(value) or self._whole.get(value) or value
        if isinstance(value, int) and not isinstance(value, bool):
            return self._pseudonymiser.replace_number(kind, value)
        return value

    def _substituted(self, text: str) -> str:
        """`text` with every found value in it replaced (pass two's substring rule)."""
        for value, stand_in in sorted(self.found.items(), key=lambda pair: -len(pair[0])):
            if value in text:
                text = text.replace(value, stand_in)
        return text

    def _found(self, found: list[Finding]) -> None:
        for finding in found:
            if finding.kind is Kind.IP and self._infrastructure(finding.text):
                continue
            self._take(finding.kind, finding.text, _DETECTOR_RULES[finding.kind])

    def _infrastructure(self, address: str) -> bool:
        """Loopback addresses and the service's own: where it runs, not who uses it."""
        if self._own is None:
            self._own = _own_hosts(self._request)
        if address in self._own:
            return True
        try:
            parsed = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return False
        return parsed.is_loopback or parsed.is_unspecified

    def field(self, name: str, value: Any, inherited: Kind | None = None) -> None:
        """A value under field `name` (or below a sensitive field, `inherited`)."""
        kind = inherited or (kind_of_field(name) if self._fields else None)
        if isinstance(value, str):
            if kind is not None and value:
                if kind is Kind.IP and self._infrastructure(value):
                    return
                if self._fields or not is_marker(value):
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
        if self._audit is not None:
            self._audit(self.where, kind.value, str(value))
        self._counts[_FIELD_RULES[kind]] += 1
        self.changes = True
        self._typed = True
        text = str(value)
        if len(text) >= _PROPAGATED:  # the same number written as text elsewhere
            self.note(text, str(self._pseudonymiser.replace_number(kind, value)))

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
            self.note(value, stand_in)
        return stand_in

    def _at(self, where: str) -> None:
        if self._audit is not None:
            self.where = where

    def named_pairs(self, location: Location, pairs: Iterable[tuple[str, str]]) -> list[Any]:
        """Query parameters or form fields after their rules: (name, value, settled) or None.
        Names are searched too: maps keyed by an email address exist."""
        decided: list[Any] = []
        for index, (name, value) in enumerate(pairs):
            if self._audit is not None:
                self.where = f"{self.where.partition(' #')[0]} #{index + 1}"
            action = self._policy.named(location, name, self._endpoint)
            if action is None:
                self.short(name)
                secret = _QUERY_SECRETS.get(name.lower()) if location is Location.QUERY else None
                if secret is not None and value and self._fields:
                    self._take(secret, value, _FIELD_RULES[secret])
                else:
                    self.field(name, value)
                    if len(value) >= 12:
                        found = self._find.encoded(value)
                        if found:
                            self._found(found)
                    if name == "query" and "{" in value:
                        self._graphql(value)
                decided.append((name, value, False))
            elif action is Action.DROP:
                self._ruled(Action.REDACT, value, f"{location.value}:{name}")
                decided.append(None)
            else:
                decided.append((name, self._ruled(action, value, f"{location.value}:{name}"), True))
        return decided

    def _seen(self, key: str, value: Any, kind: Kind | None) -> Any:
        """A value a token-by-token reader passes by: looked at, left as it is. The kind
        the reader inherited from field names counts only when names are judged."""
        self.field(key, value, kind if self._fields else None)
        return value

    def _graphql(self, document: str) -> None:
        """String and number literals in a GraphQL document, by the argument they stand for."""
        changed, self.changes = self.changes, False
        graphqldoc.rewrite_literals(document, self._seen)
        if self.changes:
            self._documents.append(document)
        self.changes = self.changes or changed


def _own_hosts(request: Request | None) -> frozenset[str]:
    """The addresses naming the service a request was sent to: its host, and its Host
    header with and without the port."""
    if request is None:
        return frozenset()
    host = request.headers.get("host") or ""
    own = {request.host, host, host.rpartition(":")[0] if "]" not in host[-1:] else host}
    return frozenset(own - {""})

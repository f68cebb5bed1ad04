"""Sanitising, pass one: what in an exchange is sensitive, and the stand-in for each.

`Findings` walks an exchange's headers (names and values), query (names and
values), path (segment by segment) and bodies (as `parity.bodies.Parsed`
takes them apart): credential headers are dropped, values under sensitive
names and values the detectors recognise get a stand-in, policy rules decide
the rest. `parity.sanitize` adds pass two, which replaces every occurrence.
An `audit` callback, given, hears of every finding and where it was (the
audit of `parity scan`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import ipaddress
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import repeat
from operator import itemgetter
from typing import Any, Final
from urllib.parse import unquote

from parity.sanitize import graphqldoc, jsontext, xmlbody
from parity.sanitize.bodies import Parsed, is_blank, keys_of
from parity.sanitize.policy import Action, Location, Mode, Policy
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic.detectors import SHORTEST, Finder, Finding
from parity.traffic.exchange import Headers, Query, Request
from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from parity.traffic.markers import REMOVED, is_marker, redacted, url_safe
from parity.traffic.paths import child

__all__ = ["CREDENTIAL_HEADERS", "Audit", "Findings", "Parsed", "is_credential_header"]

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
#: A Basic password is searched for elsewhere when this long (an echo of it, say).
_CREDENTIAL_PASSWORD: Final = 6
#: How the metadata names what changed a value: its field's name, or a detector.
_FIELD_RULES: Final = {kind: f"field:{kind.value}" for kind in Kind}
_DETECTOR_RULES: Final = {kind: f"detector:{kind.value}" for kind in Kind}
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
#: Words in a header's name that say it carries a credential, whatever its value looks like.
_CREDENTIAL_WORDS: Final = (
    "auth",
    "token",
    "secret",
    "key",
    "session",
    "password",
    "passwd",
    "signature",
    "credential",
    "cookie",
)
#: Headers named with those words that carry none: authentication challenges.
_NOT_CREDENTIALS: Final = frozenset({"www-authenticate", "proxy-authenticate"})
#: CORS headers name credentials and headers (``Access-Control-Allow-Credentials: true``,
#: ``Access-Control-Allow-Headers: Authorization``) without carrying any.
_CORS: Final = "access-control-"
#: Query parameters that carry credentials under names that say nothing elsewhere: OAuth's
#: authorization code, an API key (``?key=AIza...``).
_QUERY_SECRETS: Final = {"code": Kind.TOKEN, "key": Kind.TOKEN}
#: Markers of text that may hold entity- or percent-encoded characters.
_ENCODED_MARKS: Final = ("&#", "&commat;", "&period;", "%")

#: Told of each finding: where it is, its kind, the value (an audit keeps only its length).
Audit = Callable[[str, str, str], None]


@functools.lru_cache(maxsize=4096)
def is_credential_header(name: str) -> bool:
    """Whether a header of this name (lower case) carries a credential: the known ones,
    and any named with auth, token, secret, key, session, password, signature,
    credential or cookie (``X-Session-Token``, ``Private-Token``), challenges aside."""
    if name in CREDENTIAL_HEADERS:
        return True
    if _names_credentials_only(name):
        return False
    return any(word in name for word in _CREDENTIAL_WORDS)


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
        self._counts: Counter[str] = Counter()
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

    def _at(self, where: str) -> None:
        if self._audit is not None:
            self.where = where

    def _shown(self, name: str, index: int) -> str:
        """A name as an audit may print it: itself, unless it holds something sensitive."""
        if len(name) < SHORTEST or not (
            self._find(name) or self._find.encoded(name) or any(map(self._find, _numbered(name)))
        ):
            return name if name.isprintable() else f"#{index + 1}"
        return f"#{index + 1}"

    def headers(self, headers: Headers, *, request: bool = False) -> list[tuple[str, str, bool]]:
        """The headers kept, each with whether a rule settled its value (then left alone).
        A request's credentials that are removed are noted in `callers`."""
        side = "request" if request else "response"
        kept = []
        for index, (name, value) in enumerate(headers):
            folded = name.lower()
            if self._audit is not None:
                self.where = f"{side} header {self._shown(name, index)}"
            action = self._policy.named(Location.HEADER, folded, self._endpoint)
            if action is None and folded in ("cookie", "set-cookie"):
                cookies = self._cookies(folded, value, request)
                if cookies is not None:
                    kept.append((name, cookies, True))
                continue
            credential = action is None and is_credential_header(folded)
            if credential:
                action = Action.DROP
                for secret in _credential_values(folded, value):
                    self.found.setdefault(secret, redacted(Kind.TOKEN))
            if action is Action.DROP:
                if self._audit is not None:
                    self._audit(self.where, "credential header", value)
                self._ruled(Action.REDACT, value, f"header:{folded}")
                self.dropped.append(folded)
                if request and credential:
                    self.callers.append(f"{folded}:{value}")
                continue
            if name not in self._find.names:
                self._header_name(name)
            if action is None:
                kept.append((name, value, False))
                # CORS headers and challenges name credentials without carrying any
                # (``Access-Control-Allow-Credentials: true``): judged by their values.
                self.field("" if _names_credentials_only(folded) else name, value)
                if len(value) >= 12:
                    hidden = self._find.encoded(value)
                    if hidden:
                        self._found(hidden)
            else:
                kept.append((name, self._ruled(action, value, f"header:{folded}"), True))
        return kept

    def _header_name(self, name: str) -> None:
        """Search a header name, remembering it when it holds nothing: names recur."""
        parts = [name, *_numbered(name)] if len(name) >= SHORTEST else []
        found = self._find.encoded(name)
        if found:
            self._found(found)
        if not found and not any(self._find(part) for part in parts):
            self._find.remember_name(name)
            return
        for part in parts:
            self.text(part)

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
                if self._audit is not None:
                    self._audit(self.where, "cookie", cookie)
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

    def query(self, query: Query) -> list[Any]:
        self._at("request query")
        for name, value in query:
            self._url_parts.extend((name, value))
        return self.named_pairs(Location.QUERY, query)

    def path(self, path: str) -> None:
        """The path, segment by segment: a separator is never part of what is found."""
        if self._audit is not None:
            self.where = "request path"
        for segment in path.split("/"):
            if segment:
                text = unquote(segment) if "%" in segment else segment
                self._url_parts.append(text)
                self.short(text)

    def derived(self, *values: str | None) -> None:
        """What the record derives from the request (its endpoint, correlation id): searched
        like the request itself, so that they never keep what the request loses."""
        if self._audit is not None:
            self.where = "record fields"
        for value in values:
            if value:
                self.short(value)

    def body(self, parsed: Parsed, where: str = "body") -> None:
        self._at(where)
        kind = parsed.kind
        if kind == "json" and self._policy.has_paths and parsed.folds_keys(keys_of(parsed.value)):
            parsed.as_text()
            jsontext.rewrite_tokens(parsed.value, self._seen)
        elif kind == "json" and self._policy.has_paths:
            parsed.decided = self._json_at_paths(parsed.value, parsed.graphql)
            self.changes = self.changes or bool(parsed.decided)
        elif kind == "form":
            parsed.decided = self.named_pairs(Location.FORM, parsed.value)
        elif kind in ("json", "text", "bytes"):
            if not self._remembered(parsed):  # a JSON text that names a key twice
                parsed.as_text()
                jsontext.rewrite_tokens(parsed.value, self._seen)
            if kind == "text" and any(mark in parsed.value for mark in _ENCODED_MARKS):
                self._decoded_views(parsed.value)
        elif kind == "jsontext":
            jsontext.rewrite_tokens(parsed.value, self._seen)
        elif kind == "ndjson":
            for line in parsed.value:
                if not is_blank(line):
                    self._json(line)
        elif kind == "multipart":
            self._multipart(parsed, where)
        elif kind == "xml":
            try:
                xmlbody.rewrite_xml(parsed.value, self._seen)
            except xmlbody.UnreadableXml as exc:
                parsed.kind, parsed.reason = "unreadable", f"its XML cannot be read ({exc})"
        elif kind == "graphql":
            self.text(parsed.value)
            self._graphql(parsed.value)
        if parsed.graphql:
            documents = parsed.value if isinstance(parsed.value, list) else [parsed.value]
            for document in documents:
                query = document.get("query") if isinstance(document, dict) else None
                if isinstance(query, str):
                    self._graphql(query)
        if parsed.kind == "unreadable":
            self.changes = True
            # Its content is dropped, so what it holds is unknown: an echo of it (httpbin's
            # "data") goes too. Bytes that are not text cannot be echoed as a string.
            text = parsed.body.text()
            if text and len(text) >= _PROPAGATED and not parsed.body.truncated:
                self.found.setdefault(text, redacted(Kind.TOKEN))
            if self._audit is not None:
                self._audit(self.where, "unreadable body", parsed.body.content.decode("latin-1"))

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

    def _multipart(self, parsed: Parsed, where: str) -> None:
        assert parsed.parts is not None
        for index, (part, nested) in enumerate(parsed.parts):
            self._at(f"{where} part {index + 1}")
            if part.filename:
                self.short(part.filename)
            if nested is None:
                text = part.content.decode("utf-8", "surrogateescape")
                self.field(part.name or "", text)
            else:
                self.body(nested, f"{where} part {index + 1}")

    def _decoded_views(self, text: str) -> None:
        """Text with characters written as entities (``&#64;``) or percent-escapes (``%40``):
        searched as a reader would see it, so that an address written so is found."""
        for view in {html.unescape(text), unquote(text)}:
            if view != text:
                self.text(view)

    def _remembered(self, parsed: Parsed) -> bool:
        """Find in a JSON or text body, or repeat what was found in the same body before.

        Responses recur byte for byte (a popular item, a list page), and what a
        body holds does not depend on the rest of the exchange; so each body's
        findings are remembered by its digest and replayed when it comes again.

        False, with nothing remembered, for a JSON body that names a key twice: its
        parse lost the first value, and the caller reads the text instead.
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
            return True
        self._log = []
        outer, self._queued = self._queued, []  # what the body holds, and nothing else
        try:
            if parsed.kind == "json":
                if parsed.folds_keys(self._json(parsed.value)):
                    return False
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
        return True

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
        looked up once rather than once a row, and each column goes on `_json`'s stack as
        one list, which it reads with set operations in C rather than value by value.
        False, with nothing done, when the objects do not all have the same keys."""
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
            stack.append((column, kind if self._fields else None))
        return True

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
                    if kinds.isdisjoint(_LOOKED_AT):  # fractions, booleans and nulls
                        continue
                    if kinds in (_STRINGS, _NULLABLE_STRINGS):
                        # Words, tags, names of things: most are known to hold nothing.
                        novel = set(value).difference(clean)
                        novel.discard(None)
                        if novel:  # queued as often as written: what is found is counted
                            extend(filter(novel.__contains__, value))
                        continue
                    if kinds <= _NUMBERS and _SHORT_NUMBER < min(value) <= max(value) < 10**12:
                        continue  # ids, counts and scores, too short for a card number
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


def _names_credentials_only(name: str) -> bool:
    """Whether a header of this name (lower case) speaks of credentials without holding one."""
    return name in _NOT_CREDENTIALS or name.startswith(_CORS)


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
    if value.strip()[:6].lower() == "basic ":  # the user and password it carries, echoed
        try:
            pair = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return
        password = pair.partition(":")[2]
        for secret in (pair, password):
            if len(secret) >= _CREDENTIAL_PASSWORD:
                yield secret


def _numbered(name: str) -> list[str]:
    """What follows each hyphen of a header name where a digit follows it: the detectors
    take no number straight after a hyphen (``2024-...`` is a date, not a card), yet
    ``X-Trace-6011...`` carries one."""
    parts = []
    start = name.find("-")
    while start != -1:
        if name[start + 1 : start + 2].isdigit():
            parts.append(name[start + 1 :])
        start = name.find("-", start + 1)
    return parts


def _own_hosts(request: Request | None) -> frozenset[str]:
    """The addresses naming the service a request was sent to: its host, and its Host
    header with and without the port."""
    if request is None:
        return frozenset()
    host = request.headers.get("host") or ""
    own = {request.host, host, host.rpartition(":")[0] if "]" not in host[-1:] else host}
    return frozenset(own - {""})

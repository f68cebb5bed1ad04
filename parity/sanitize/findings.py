"""Sanitising, pass one: what in an exchange is sensitive, and the stand-in for each.

`Findings` walks an exchange's headers (names and values), query (names and
values), path (segment by segment) and bodies (as `parity.sanitize.bodies.Parsed`
takes them apart): credential headers are dropped, values under sensitive
names and values the detectors recognise get a stand-in, policy rules decide
the rest. Headers, cookies, the query and the path are read here; bodies in
`parity.sanitize.bodyfindings`, JSON in `parity.sanitize.jsonwalk`, and what is
found is kept in `parity.sanitize.found`. `parity.sanitize.engine` adds pass
two, which replaces every occurrence. An `audit` callback, given, hears of
every finding and where it was (the audit of `parity scan`).
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import unquote

from parity.sanitize.bodyfindings import BodyFindings
from parity.sanitize.policy import Action, Location
from parity.traffic.detectors import SHORTEST
from parity.traffic.exchange import Headers, Query
from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind
from parity.traffic.markers import redacted

__all__ = ["CREDENTIAL_HEADERS", "Findings", "is_credential_header"]

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
#: Dropped credentials are searched for elsewhere only when this long (session ids, tokens).
_CREDENTIAL_VALUE: Final = 8
#: A Basic password is searched for elsewhere when this long (an echo of it, say).
_CREDENTIAL_PASSWORD: Final = 6
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


class Findings(BodyFindings):
    """Pass one over one exchange: what is sensitive in it, and the stand-in for each.

    `parity.sanitize.engine` extends it with pass two, which replaces what was found.
    """

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
        # Fields that held nothing before hold nothing now, when no rule names a header:
        # most of a message's headers recur on every message.
        known = self._find.fields if not self._policy.names_headers else ()
        for index, (name, value) in enumerate(headers):
            if (name, value) in known:
                kept.append((name, value, False))
                continue
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
                    self.note(secret, redacted(Kind.TOKEN))
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
                named = "" if _names_credentials_only(folded) else name
                if (
                    name in self._find.names
                    and self._find.known_clean(value)
                    and (not named or kind_of_field(named) is None)
                ):
                    self._find.remember_field(name, value)
                    continue
                self.field(named, value)
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
                    self.note(secret, redacted(Kind.TOKEN))
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

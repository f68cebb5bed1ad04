"""Detectors: which strings in recorded traffic are secrets or personal data.

Two kinds of evidence: the *value* (an email address, a JWT, a card number
that passes the Luhn check...) and the *name* it is stored under (a JSON key,
a form field or a query parameter called ``email``, ``last_name``,
``password``...). `find` reports the values, `kind_of_field` the names (in
`parity.traffic.fieldnames`), both in the kinds of `parity.traffic.kinds`.

Speed matters more than breadth: every string of every recorded exchange
is searched, beside the proxy. Each detector's regex only runs on strings
that contain its cheap marker (an ``@`` for emails, ``eyJ`` for JWTs, enough
digits for numbers...), and `Finder.many` looks for the markers in all of a
body's strings at once, so a body of ordinary words and ids costs a few
substring tests in all.
detect-secrets was measured at 0.58 MB/s on 2 KB JSON bodies, far below the
20 MB/s a recorder needs, and flagged every body; its ideas are here, not its
code.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import filterfalse
from typing import Final, NamedTuple

import orjson

from parity.traffic.fieldnames import kind_of_field
from parity.traffic.kinds import Kind

__all__ = [
    "SHORTEST",
    "Finder",
    "Finding",
    "find",
    "find_encoded",
    "luhn_valid",
]

#: Strings shorter than this hold nothing `find` recognises (the shortest is an IPv4
#: address such as 1.1.1.1), so callers may skip them without a call.
SHORTEST: Final = 7


@dataclass(frozen=True, slots=True)
class Finding:
    """One sensitive value inside a string: its kind and where it is."""

    kind: Kind
    start: int
    end: int
    text: str


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i:bearer|token)\s+([A-Za-z0-9._~+/-]{16,}=*)")
#: HTTP Basic credentials written out (in a forwarded header, a log line, a body).
_BASIC = re.compile(r"(?i:basic)\s+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])")
#: Tokens that announce themselves by a vendor's prefix, whatever their length or
#: entropy: GitHub, GitLab, Slack, Stripe, Shopify, Google API keys, npm, SendGrid.
_PREFIXED = re.compile(
    r"(?<![A-Za-z0-9_-])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|glpat-[A-Za-z0-9_-]{20,}|gl(?:dt|rt|ptt|cbt|oas)-[A-Za-z0-9_-]{20,}"
    r"|xox[abprse]-[A-Za-z0-9-]{10,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|AIza[A-Za-z0-9_-]{35}|npm_[A-Za-z0-9]{36}"
    r"|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})"
)
#: Access key ids (AKIA, long-term; ASIA, temporary) and the unique ids of users, roles and
#: groups, which name an account's principals.
_AWS_PREFIXES: Final = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA")
_AWS_KEY = re.compile(rf"\b(?:{'|'.join(_AWS_PREFIXES)})[A-Z0-9]{{16}}\b")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)", re.S
)
#: Long runs of base64/base64url characters: candidates for generated secrets.
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])")
#: A card number stands apart: digits glued to letters are part of an id (a UUID's
#: "f41-1401-4443-944e" holds 13 digits that can pass the Luhn check).
_CARD = re.compile(r"(?<![0-9A-Za-z.-])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z.])")
#: Phone numbers as written: grouped (a run of groups that goes on is a card or an id,
#: not a phone) or in E.164 form.
_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])"
    r"\d{3,4}[ .-]\d{3,4}(?![\w-]|[ .]\d)"
    r"|(?<![\w+])\+\d{9,15}(?!\w)"
)
_IPV4 = re.compile(
    r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
    r"(?![\d.])"
)
_IPV6 = re.compile(
    r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f:])"
    r"|(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4}"
    r"(?![0-9A-Fa-f:])"
)
#: US social security numbers and UK national insurance numbers, by shape.
_NATIONAL_ID = re.compile(
    r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])"
    r"|\b(?![DFIQUV])[A-CEGHJ-PR-TW-Z](?![DFIOQUV])[A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)
_DIGIT = re.compile(r"\d")
_DIGITS: Final = "0123456789"
_NO_DIGITS: Final = str.maketrans("", "", _DIGITS)
#: Fewer digits than this cannot make a card, phone or social security number.
_FEW_DIGITS: Final = 9
#: Values that hold nothing any detector finds, however many digits they have: ISO 8601
#: dates and times, the commonest values with digits. Tested against the detectors.
_HARMLESS = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
#: Card brands by leading digits: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay.
_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9]|2)|35|3(?:0[0-5]|[68])")
#: Bits per character above which a long base64-like run is taken for a generated secret.
#: 32 to 48 random letters and digits measure 4.05 at the lowest (200,000 drawn); long
#: camel-case identifiers with digits can pass too, and are then redacted.
_SECRET_ENTROPY = 4.0


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check that card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _entropy(text: str) -> float:
    counts = Counter(text)
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def _looks_generated(text: str) -> bool:
    """A long run that mixes cases and digits with high entropy: a key, not a word or a hash."""
    body = text.rstrip("=")
    if not (any(c.isdigit() for c in body) and any(c.isupper() for c in body)):
        return False  # hex digests, lowercase slugs and words are not taken for secrets
    if not any(c.islower() for c in body):
        return False
    return _entropy(body) >= _SECRET_ENTROPY


def find(text: str) -> list[Finding]:
    """Every secret or piece of personal data recognised in `text`, without overlaps.

    Secrets come first (a JWT also looks like a token), then the personal data
    found in what is left.
    """
    if len(text) < SHORTEST:
        return []
    return _find(text, _DETECTORS)


#: Runs that may be base64 (standard or URL-safe) of something worth a look.
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{12,}={0,2}(?![A-Za-z0-9+/_=-])")
_URLSAFE = str.maketrans("-_", "+/")


def find_encoded(text: str) -> list[Finding]:
    """Sensitive values hidden in base64 runs of `text`: each run that decodes to
    printable text holding something `find` recognises, or JSON with a field named
    like personal data or a secret, is one finding of that kind, the run's length.

    Meant for the short values where encoded context travels (header values, query
    parameters, path segments, cookies): ``X-User: eyJlbWFpbCI6...``. The run must
    mix upper and lower case, as base64 of text does and words and hex digests do not.
    """
    found: list[Finding] = []
    if len(text) < 12:
        return found
    for match in _BASE64_RUN.finditer(text):
        run = match.group()
        if run.islower() or run.isupper() or run.isdigit():
            continue
        decoded = _base64_text(run)
        if decoded is None:
            continue
        kind = _kind_inside(decoded)
        if kind is not None:
            found.append(Finding(kind, match.start(), match.end(), run))
    return found


def _base64_text(run: str) -> str | None:
    body = run.rstrip("=").translate(_URLSAFE)
    if len(body) % 4 == 1:
        return None
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
        text = data.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if len(text) < 6 or not text.replace("\n", "").replace("\t", "").isprintable():
        return None
    return text


def _kind_inside(text: str) -> Kind | None:
    inner = _find(text, _DETECTORS) if len(text) >= SHORTEST else []
    if inner:
        return inner[0].kind
    if text[:1] in ("{", "["):
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        stack = [document]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                for key, item in value.items():
                    kind = kind_of_field(key)
                    if kind is not None and item not in (None, "", [], {}):
                        return kind
                    stack.append(item)
            elif isinstance(value, list):
                stack.extend(value)
    if ":" in text and " " not in text.partition(":")[0]:  # user:password, as Basic carries it
        user, _, password = text.partition(":")
        if (
            any(c.isalpha() for c in user)
            and len(password) >= 4
            and not password.startswith("/")  # a URL's scheme, not a user
            and text.isascii()
            and " " not in password
        ):
            return Kind.PASSWORD
    return None


class Finder:
    """`find` over many strings at once, remembering what short strings held.

    Header values, enum-like values and words recur from exchange to exchange;
    a sanitiser keeps one Finder so that each is searched once: those that held
    nothing, and those that held something with what they held (a `Host` of
    ``10.0.0.7:8080`` on every request, kept as the service's own address).
    Only strings up to 256 characters are remembered, and at most 65,536 of
    each.
    """

    def __init__(self) -> None:
        #: Strings known to hold nothing; callers in a hurry may test membership first.
        self.clean: set[str] = set()
        #: Keys of JSON objects known to hold nothing, with the kind of field each names
        #: (see `kind_of_field`); callers fill it.
        self.keys: dict[str, Kind | None] = {}
        #: Strings whose base64 runs, if any, hide nothing (see `encoded`).
        self._unencoded: set[str] = set()
        #: Header names known to hold nothing (see `remember_name`).
        self.names: set[str] = set()
        #: Header fields, (name, value), known to hold nothing under their name as
        #: written; callers fill it (see `remember_field`).
        self.fields: set[tuple[str, str]] = set()
        #: Strings known to hold something, with what: detectors are functions of the text.
        self._held: dict[str, list[Finding]] = {}

    def remember_name(self, name: str) -> None:
        """Note a header name that holds nothing, by any search: names recur."""
        if len(self.names) >= _NAMES_KEPT:
            self.names.clear()
        self.names.add(name)

    def remember_field(self, name: str, value: str) -> None:
        """Note a header field whose value holds nothing, by any search, under its name:
        `Accept`, `User-Agent` and `Content-Type` recur on every message."""
        if len(value) <= _CLEAN_LENGTH:
            if len(self.fields) >= _NAMES_KEPT:
                self.fields.clear()
            self.fields.add((name, value))

    def known_clean(self, text: str) -> bool:
        """Whether `text` is known to hold nothing, as text and in its base64 runs."""
        return (len(text) < SHORTEST or text in self.clean) and (
            len(text) < 12 or text in self._unencoded
        )

    def encoded(self, text: str) -> list[Finding]:
        """`find_encoded(text)`, remembering the strings it found nothing in: header
        values and query parameters recur from exchange to exchange."""
        if len(text) < 12 or text in self._unencoded:
            return []
        found = find_encoded(text)
        if not found and len(text) <= _CLEAN_LENGTH:
            if len(self._unencoded) >= _CLEAN_SIZE:
                self._unencoded.clear()
            self._unencoded.add(text)
        return found

    def __call__(self, text: str) -> list[Finding]:
        if len(text) < SHORTEST or text in self.clean:
            return []
        found = self._held.get(text)
        if found is not None:
            return list(found)
        found = _find(text, _DETECTORS)
        if found:
            self._hold(text, found)
        else:
            self._remember((text,))
        return found

    def many(self, texts: list[str]) -> list[tuple[str, list[Finding]]]:
        """`find` over each of `texts` (each searched on its own): those with findings.

        Each detector's marker is first looked for in all the texts joined, so
        the detectors that cannot match anywhere cost nothing per string: the
        common body, words and ids without an ``@`` or a long run, costs a few
        substring tests in all.
        """
        texts = list(filterfalse(self.clean.__contains__, texts))  # in C
        if not texts:
            return []
        if min(map(len, texts)) < SHORTEST:
            # Too short to hold anything, and known clean from now on: a walk queues every
            # string it does not know, and a body's short words would come back each time.
            self._remember([text for text in texts if len(text) < SHORTEST], longest=SHORTEST)
            texts = [text for text in texts if len(text) >= SHORTEST]
            if not texts:
                return []
        joined = "\n".join(texts)
        longest = max(map(len, texts))
        active = tuple(
            detector
            for detector in _DETECTORS
            if longest >= detector.shortest and detector.marker(joined)
        )
        if not active:
            self._remember(texts, longest)
            return []
        found, clean = [], []
        held = self._held
        for text in texts:
            in_text = held.get(text)
            if in_text is not None:
                found.append((text, list(in_text)))
                continue
            # The detectors left out cannot match here: their markers are not in any text.
            in_text = _find(text, active)
            if in_text:
                found.append((text, in_text))
                self._hold(text, in_text)
            else:
                clean.append(text)
        self._remember(clean)
        return found

    def _hold(self, text: str, found: list[Finding]) -> None:
        if len(text) <= _CLEAN_LENGTH:
            if len(self._held) >= _CLEAN_SIZE:
                self._held.clear()
            self._held[text] = list(found)

    def _remember(self, texts: Iterable[str], longest: int | None = None) -> None:
        """Remember `texts` as clean, those short enough (all, when `longest` says so)."""
        if len(self.clean) >= _CLEAN_SIZE:
            self.clean.clear()
        if longest is not None and longest <= _CLEAN_LENGTH:
            self.clean.update(texts)
        else:
            self.clean.update(text for text in texts if len(text) <= _CLEAN_LENGTH)


_CLEAN_LENGTH: Final = 256
_NAMES_KEPT: Final = 4096
_CLEAN_SIZE: Final = 65_536

_Add = Callable[[Kind, int, int], None]


class _Detector(NamedTuple):
    #: A cheap test that holds for every text the detector can match, and for any texts
    #: joined by newlines when it holds for one of them.
    marker: Callable[[str], bool]
    scan: Callable[[str, _Add], None]
    #: The length of the shortest text the detector can match.
    shortest: int = SHORTEST


def _find(text: str, detectors: tuple[_Detector, ...]) -> list[Finding]:
    if text[0] in _DIGITS and _HARMLESS.fullmatch(text):
        return []
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: Kind, start: int, end: int) -> None:
        for low, high in taken:
            if start < high and low < end:
                return
        taken.append((start, end))
        found.append(Finding(kind, start, end, text[start:end]))

    size = len(text)
    for detector in detectors:
        if size >= detector.shortest and detector.marker(text):
            detector.scan(text, add)
    return found


def _matches(pattern: re.Pattern[str], kind: Kind, group: int = 0) -> Callable[[str, _Add], None]:
    def scan(text: str, add: _Add) -> None:
        for match in pattern.finditer(text):
            add(kind, match.start(group), match.end(group))

    return scan


def _tokens(text: str, add: _Add) -> None:
    for match in _TOKEN.finditer(text):
        run = match.group()
        if "/" in run and _is_path(run):
            # A URL's path (``8080/base64/SFRUUEJJ...``): each segment is a value of its own.
            start = match.start()
            for piece in run.split("/"):
                if len(piece) >= 32 and _looks_generated(piece):
                    add(Kind.TOKEN, start, start + len(piece))
                start += len(piece) + 1
        elif _looks_generated(run):
            add(Kind.TOKEN, match.start(), match.end())


def _is_path(run: str) -> bool:
    """Whether a long run of base64 characters is a URL path rather than one value: it
    starts at a slash or a port number, and one of its segments is a plain word or number
    (``api``, ``v1``, ``8080``). A secret in standard base64 holds slashes too, but seldom
    begins like a path and holds such a segment."""
    pieces = run.split("/")
    if pieces[0] and not pieces[0].isdigit():
        return False
    return any(
        len(piece) >= 2 and piece.isascii() and piece.isalnum() and piece == piece.lower()
        for piece in pieces[1:]
    )


#: Capitalised words: candidates for the given name and surname of a person in free text.
_CAPITALISED = re.compile(
    r"(?<![\w-])[A-Z][a-z\u00e0-\u00ff]+(?:-[A-Z][a-z\u00e0-\u00ff]+)?(?![\w-])"
)
#: The locales whose given names and surnames Faker lists, for names in free text.
_NAME_LOCALES: Final = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR")


@functools.cache
def _person_names() -> tuple[frozenset[str], frozenset[str]]:
    """Given names and surnames, as Faker's person providers list them (loaded once)."""
    import importlib

    given: set[str] = set()
    surnames: set[str] = set()
    for locale in _NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            given.update(getattr(provider, attribute, ()))
        surnames.update(provider.last_names)
    return frozenset(given), frozenset(surnames)


def _names(text: str, add: _Add) -> None:
    """``Given Surname`` in free text: a listed given name, one space, a listed surname.
    A name alone is not taken (``June``, ``Chase``): prose is full of them."""
    given, surnames = _person_names()
    previous: re.Match[str] | None = None
    for match in _CAPITALISED.finditer(text):
        if (
            previous is not None
            and previous.end() + 1 == match.start()
            and text[previous.end()] == " "
            and previous.group() in given
            and match.group() in surnames
        ):
            add(Kind.NAME, previous.start(), match.end())
        previous = match


#: The last text the markers lowered, with its lowered copy: three markers ask for it,
#: and `Finder.many` runs them all on one joined text. One tuple, so threads that share
#: it read a text and its own copy together.
_last_lowered: tuple[str, str] = ("", "")


def _lowered(text: str) -> str:
    global _last_lowered
    seen, lowered = _last_lowered
    if seen is not text:
        lowered = text.lower()
        _last_lowered = (text, lowered)
    return lowered


def _has_capital(text: str) -> bool:
    # Ten times as fast as `not text.islower()` on ASCII text, and true only for a capital.
    return _lowered(text) != text


def _names_marker(text: str) -> bool:
    return " " in text and _has_capital(text)


def _ipv6(text: str, add: _Add) -> None:
    for match in _IPV6.finditer(text):
        if match.group().count(":") >= 2:
            add(Kind.IP, match.start(), match.end())


def _numbers(text: str, add: _Add) -> None:
    # Card, phone and social security numbers have nine digits or more, UK national
    # insurance numbers six, IPv4 addresses four: ids such as "o-c21b6092" are skipped
    # by counting. Text that is not ASCII may hold other digits, and is searched whole.
    count = _digits_in(text)
    many = count >= _FEW_DIGITS
    if many:
        for match in _CARD.finditer(text):
            digits = match.group().replace(" ", "").replace("-", "")
            if 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) and luhn_valid(digits):
                add(Kind.CARD, match.start(), match.end())
    if count >= 6:
        for match in _NATIONAL_ID.finditer(text):
            add(Kind.NATIONAL_ID, match.start(), match.end())
    if count >= 4 and "." in text:
        for match in _IPV4.finditer(text):
            add(Kind.IP, match.start(), match.end())
    if many:
        for match in _PHONE.finditer(text):
            if sum(c.isdigit() for c in match.group()) >= 9:
                add(Kind.PHONE, match.start(), match.end())


def _digits_in(text: str) -> int:
    """How many digits `text` has, or at least `_FEW_DIGITS` when it is not ASCII."""
    return len(text) - len(text.translate(_NO_DIGITS)) if text.isascii() else _FEW_DIGITS


def _has_digit(text: str) -> bool:
    if not text.isascii():
        return _DIGIT.search(text) is not None
    # Ten substring tests in C take a fifth of the time of one regex search.
    return (
        "0" in text
        or "1" in text
        or "2" in text
        or "3" in text
        or "4" in text
        or "5" in text
        or "6" in text
        or "7" in text
        or "8" in text
        or "9" in text
    )


# A word is looked for only when one of its rarer characters is there: a test for one
# character is a memchr, several times quicker than a test for a word, and a joined
# body of ordinary strings lacks most of them.


def _pem_marker(text: str) -> bool:
    return "-" in text and "-----BEGIN" in text


def _jwt_marker(text: str) -> bool:
    return "J" in text and "eyJ" in text


def _bearer_marker(text: str) -> bool:
    # The scheme is matched without case (``Token``, ``BEARER``, ``bEaReR``): the words
    # are looked for in the text lowered, when a K or a B says either may be there.
    token = "k" in text or "K" in text
    if not token and "b" not in text and "B" not in text:
        return False
    lowered = _lowered(text)
    return (token and "oken" in lowered) or "earer" in lowered


def _basic_marker(text: str) -> bool:
    return ("b" in text or "B" in text) and "basic" in _lowered(text)


def _prefixed_marker(text: str) -> bool:
    # The prefixes grouped by what they share: a few substring tests, not one per prefix.
    if "_" in text and (
        "gh" in text or "_live_" in text or "_test_" in text or "shp" in text or "npm_" in text
    ):
        return True
    return (
        ("-" in text and "gl" in text)
        or ("x" in text and "xox" in text)
        or ("z" in text and "AIza" in text)
        or ("G" in text and "SG." in text)
    )


def _aws_marker(text: str) -> bool:
    return "A" in text and any(prefix in text for prefix in _AWS_PREFIXES)


#: In order: secrets first (a JWT also looks like a token), then personal data in what is
#: left. Every marker is a substring test, so it holds for texts joined when it holds for
#: one of them.
_DETECTORS: Final = (
    _Detector(_pem_marker, _matches(_PRIVATE_KEY, Kind.PRIVATE_KEY)),
    _Detector(_jwt_marker, _matches(_JWT, Kind.JWT)),
    _Detector(_bearer_marker, _matches(_BEARER, Kind.BEARER, 1)),
    _Detector(_basic_marker, _matches(_BASIC, Kind.BEARER, 1), 14),
    _Detector(_prefixed_marker, _matches(_PREFIXED, Kind.TOKEN), 14),
    _Detector(_aws_marker, _matches(_AWS_KEY, Kind.AWS_KEY), 20),
    # A generated secret mixes digits and capitals (see `_looks_generated`).
    _Detector(lambda text: _has_capital(text) and _has_digit(text), _tokens, 32),
    _Detector(lambda text: "@" in text, _matches(_EMAIL, Kind.EMAIL)),
    _Detector(lambda text: ":" in text, _ipv6),
    _Detector(_has_digit, _numbers),
    _Detector(_names_marker, _names, 5),
)

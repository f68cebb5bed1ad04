"""Detectors: which strings in recorded traffic are secrets or personal data.

Two kinds of evidence: the *value* (an email address, a JWT, a card number
that passes the Luhn check...) and the *name* it is stored under (a JSON key,
a form field or a query parameter called ``email``, ``last_name``,
``password``...). `find` reports the values, `kind_of_field` the names.

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

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, NamedTuple

__all__ = ["SHORTEST", "Finder", "Finding", "Kind", "find", "kind_of_field", "luhn_valid"]

#: Strings shorter than this hold nothing `find` recognises (the shortest is an IPv4
#: address such as 1.1.1.1), so callers may skip them without a call.
SHORTEST: Final = 7


class Kind(StrEnum):
    """What a sensitive value is; `secret` says whether it is redacted or pseudonymised."""

    EMAIL = "email"
    PHONE = "phone"
    CARD = "card"
    IP = "ip"
    NATIONAL_ID = "national-id"
    NAME = "name"
    ADDRESS = "address"
    BIRTH_DATE = "birth-date"
    PERSONAL = "personal"
    JWT = "jwt"
    BEARER = "bearer-token"
    AWS_KEY = "aws-key"
    PRIVATE_KEY = "private-key"
    TOKEN = "token"
    PASSWORD = "password"

    @property
    def secret(self) -> bool:
        """Secrets are removed outright; personal data is replaced by a stable pseudonym."""
        return self in _SECRETS


_SECRETS: Final = frozenset(
    {Kind.JWT, Kind.BEARER, Kind.AWS_KEY, Kind.PRIVATE_KEY, Kind.TOKEN, Kind.PASSWORD}
)


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
#: Access key ids (AKIA, long-term; ASIA, temporary) and the unique ids of users, roles and
#: groups, which name an account's principals.
_AWS_PREFIXES: Final = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA")
_AWS_KEY = re.compile(rf"\b(?:{'|'.join(_AWS_PREFIXES)})[A-Z0-9]{{16}}\b")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)", re.S
)
#: Long runs of base64/base64url characters: candidates for generated secrets.
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])")
_CARD = re.compile(r"(?<![\d.-])\d(?:[ -]?\d){12,18}(?![\d.])")
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


class Finder:
    """`find` over many strings at once, remembering the short strings that held nothing.

    Header values, enum-like values and words recur from exchange to exchange;
    a sanitiser keeps one Finder so that each is searched once. Only strings
    up to 256 characters are remembered, and at most 65,536 of them.
    """

    def __init__(self) -> None:
        #: Strings known to hold nothing; callers in a hurry may test membership first.
        self.clean: set[str] = set()
        #: Keys of JSON objects known to hold nothing, with the kind of field each names
        #: (see `kind_of_field`); callers fill it.
        self.keys: dict[str, Kind | None] = {}

    def __call__(self, text: str) -> list[Finding]:
        if len(text) < SHORTEST or text in self.clean:
            return []
        found = _find(text, _DETECTORS)
        if not found:
            self._remember((text,))
        return found

    def many(self, texts: list[str]) -> list[tuple[str, list[Finding]]]:
        """`find` over each of `texts` (each searched on its own): those with findings.

        Each detector's marker is first looked for in all the texts joined, so
        the detectors that cannot match anywhere cost nothing per string: the
        common body, words and ids without an ``@`` or a long run, costs a few
        substring tests in all.
        """
        texts = [text for text in texts if len(text) >= SHORTEST and text not in self.clean]
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
            self._remember(texts)
            return []
        found, clean = [], []
        for text in texts:
            in_text = _find(text, active)
            if in_text:
                found.append((text, in_text))
            else:
                clean.append(text)
        self._remember(clean)
        return found

    def _remember(self, texts: Iterable[str]) -> None:
        if len(self.clean) >= _CLEAN_SIZE:
            self.clean.clear()
        self.clean.update(text for text in texts if len(text) <= _CLEAN_LENGTH)


_CLEAN_LENGTH: Final = 256
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

    for detector in detectors:
        if len(text) >= detector.shortest and detector.marker(text):
            detector.scan(text, add)
    return found


def _matches(pattern: re.Pattern[str], kind: Kind, group: int = 0) -> Callable[[str, _Add], None]:
    def scan(text: str, add: _Add) -> None:
        for match in pattern.finditer(text):
            add(kind, match.start(group), match.end(group))

    return scan


def _tokens(text: str, add: _Add) -> None:
    for match in _TOKEN.finditer(text):
        if _looks_generated(match.group()):
            add(Kind.TOKEN, match.start(), match.end())


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
        "0" in text or "1" in text or "2" in text or "3" in text or "4" in text
        or "5" in text or "6" in text or "7" in text or "8" in text or "9" in text
    )  # fmt: skip


def _bearer_marker(text: str) -> bool:
    return "oken" in text or "earer" in text or "OKEN" in text or "EARER" in text


def _aws_marker(text: str) -> bool:
    return "A" in text and any(prefix in text for prefix in _AWS_PREFIXES)


#: In order: secrets first (a JWT also looks like a token), then personal data in what is
#: left. Every marker is a substring test, so it holds for texts joined when it holds for
#: one of them.
_DETECTORS: Final = (
    _Detector(lambda text: "-----BEGIN" in text, _matches(_PRIVATE_KEY, Kind.PRIVATE_KEY)),
    _Detector(lambda text: "eyJ" in text, _matches(_JWT, Kind.JWT)),
    _Detector(_bearer_marker, _matches(_BEARER, Kind.BEARER, 1)),
    _Detector(_aws_marker, _matches(_AWS_KEY, Kind.AWS_KEY), 20),
    # A generated secret mixes digits and capitals (see `_looks_generated`).
    _Detector(lambda text: not text.islower() and _has_digit(text), _tokens, 32),
    _Detector(lambda text: "@" in text, _matches(_EMAIL, Kind.EMAIL)),
    _Detector(lambda text: ":" in text, _ipv6),
    _Detector(_has_digit, _numbers),
)


_FIELDS: Final = {
    Kind.NAME: "name fullname firstname lastname surname givenname familyname middlename "
    "forename maidenname nickname displayname username contactname cardholder "
    "cardholdername accountholder",
    Kind.EMAIL: "email emailaddress mail useremail contactemail",
    Kind.PHONE: "phone phonenumber mobile mobilenumber telephone tel cellphone fax",
    Kind.ADDRESS: "address streetaddress street addressline1 addressline2 addressline3 "
    "homeaddress postaladdress billingaddress shippingaddress postcode zipcode zip "
    "postalcode",
    Kind.BIRTH_DATE: "dob dateofbirth birthdate birthday",
    Kind.NATIONAL_ID: "ssn socialsecuritynumber nationalid nationalidnumber nino "
    "nationalinsurancenumber passport passportnumber taxid tin driverslicense "
    "driverlicense licensenumber iban",
    Kind.CARD: "card cardnumber ccnumber creditcard creditcardnumber pan",
    Kind.IP: "ip ipaddress clientip remoteaddr remoteip",
    Kind.PASSWORD: "password passwd pwd passphrase pin cvv cvc securitycode otp",
    Kind.TOKEN: "token secret clientsecret accesstoken refreshtoken idtoken apikey apitoken "
    "authtoken authorization privatekey sessionid session sessiontoken csrftoken "
    "xsrftoken signature",
}
_FIELD_KINDS: Final = {name: kind for kind, names in _FIELDS.items() for name in names.split()}
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


@functools.lru_cache(maxsize=8192)
def kind_of_field(name: str) -> Kind | None:
    """The kind of personal data or secret a field of this name holds, or None.

    Names are compared without case, separators or punctuation, so
    ``first_name``, ``firstName`` and ``First-Name`` are one name.
    """
    folded = name.lower()
    if folded.isalnum():
        return _FIELD_KINDS.get(folded)
    # The common separators first: a regex substitution costs five times as much.
    folded = folded.replace(" ", "").replace("_", "").replace("-", "")
    if folded.isascii() and folded.isalnum():
        return _FIELD_KINDS.get(folded)
    return _FIELD_KINDS.get(_NOT_ALNUM.sub("", folded))

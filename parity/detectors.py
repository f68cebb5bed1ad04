"""Detectors: which strings in recorded traffic are secrets or personal data.

Two kinds of evidence: the *value* (an email address, a JWT, a card number
that passes the Luhn check...) and the *name* it is stored under (a JSON key,
a form field or a query parameter called ``email``, ``last_name``,
``password``...). `find` reports the values, `kind_of_field` the names.

Speed matters more than breadth: every string of every recorded exchange
passes through `find`, beside the proxy. Each detector's regex only runs on
strings that contain its cheap marker (an ``@`` for emails, ``eyJ`` for JWTs,
a digit for numbers...), so the common word or id costs a few ``in`` tests.
detect-secrets was measured at 0.58 MB/s on 2 KB JSON bodies, far below the
20 MB/s a recorder needs, and flagged every body; its ideas are here, not its
code.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

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
_AWS_KEY = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b")
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
    return _find(text)


class Finder:
    """`find`, remembering the short strings that held nothing.

    Header values, enum-like values and words recur from exchange to exchange;
    a sanitiser keeps one Finder so that each is searched once. Only strings
    up to 256 characters are remembered, and at most 65,536 of them.
    """

    def __init__(self) -> None:
        #: Strings known to hold nothing; callers in a hurry may test membership first.
        self.clean: set[str] = set()

    def __call__(self, text: str) -> list[Finding]:
        if len(text) < SHORTEST or text in self.clean:
            return []
        found = _find(text)
        if not found and len(text) <= _CLEAN_LENGTH:
            if len(self.clean) >= _CLEAN_SIZE:
                self.clean.clear()
            self.clean.add(text)
        return found


_CLEAN_LENGTH: Final = 256
_CLEAN_SIZE: Final = 65_536


def _find(text: str) -> list[Finding]:
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: Kind, start: int, end: int) -> None:
        for low, high in taken:
            if start < high and low < end:
                return
        taken.append((start, end))
        found.append(Finding(kind, start, end, text[start:end]))

    if "-----BEGIN" in text:
        for match in _PRIVATE_KEY.finditer(text):
            add(Kind.PRIVATE_KEY, match.start(), match.end())
    if "eyJ" in text:
        for match in _JWT.finditer(text):
            add(Kind.JWT, match.start(), match.end())
    if "earer" in text or "EARER" in text or "oken" in text or "OKEN" in text:
        for match in _BEARER.finditer(text):
            add(Kind.BEARER, match.start(1), match.end(1))
    if "AKIA" in text or "ASIA" in text or "AIDA" in text or "AROA" in text:
        for match in _AWS_KEY.finditer(text):
            add(Kind.AWS_KEY, match.start(), match.end())
    if len(text) >= 32:
        for match in _TOKEN.finditer(text):
            if _looks_generated(match.group()):
                add(Kind.TOKEN, match.start(), match.end())
    if "@" in text:
        for match in _EMAIL.finditer(text):
            add(Kind.EMAIL, match.start(), match.end())
    if ":" in text:
        for match in _IPV6.finditer(text):
            if match.group().count(":") >= 2:
                add(Kind.IP, match.start(), match.end())
    if _DIGIT.search(text) is not None:
        _numbers(text, add)
    return found


def _numbers(text: str, add: Callable[[Kind, int, int], None]) -> None:
    for match in _CARD.finditer(text):
        digits = match.group().replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) and luhn_valid(digits):
            add(Kind.CARD, match.start(), match.end())
    for match in _NATIONAL_ID.finditer(text):
        add(Kind.NATIONAL_ID, match.start(), match.end())
    if "." in text:
        for match in _IPV4.finditer(text):
            add(Kind.IP, match.start(), match.end())
    for match in _PHONE.finditer(text):
        if sum(c.isdigit() for c in match.group()) >= 9:
            add(Kind.PHONE, match.start(), match.end())


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
    return _FIELD_KINDS.get(_NOT_ALNUM.sub("", folded))

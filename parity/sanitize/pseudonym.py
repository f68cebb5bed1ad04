"""Keyed pseudonyms: the same value always becomes the same stand-in, of the same shape.

A pseudonym is derived with HMAC-SHA256 under a secret key, so it cannot be
reversed or recomputed without the key, and one value gets one pseudonym
wherever it appears: in a request, its response and the dependency calls
made for it. Relations between requests survive sanitising, and a replay
still asks for the same user it asked for when recorded.

Shapes are kept so that a candidate validating its input accepts the
pseudonym: an email stays an email (on the reserved ``example.com``), a UUID
a version-4 UUID, an IPv4 address a documentation address (RFC 5737), an
IPv6 one an address under ``2001:db8::/32``, an ISO date a valid date, a card
number a Luhn-valid number of the same length. Anything else keeps its
length and character classes: digits stay digits, letters letters of the
same case, punctuation and spaces as they were.

Without a key there are no pseudonyms: values are redacted instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Final

from parity.traffic.detectors import luhn_valid
from parity.traffic.kinds import Kind
from parity.traffic.markers import REMOVED, redacted

__all__ = ["Pseudonymiser"]

_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_IPV4: Final = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6: Final = re.compile(r"[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:]*")
_ISO_DATE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DOCUMENTATION_NETS: Final = ("192.0.2", "198.51.100", "203.0.113")
_LOWER: Final = "abcdefghijklmnopqrstuvwxyz"
#: How many pseudonyms a Pseudonymiser remembers before it starts afresh.
_REMEMBERED: Final = 65_536
_UPPER: Final = _LOWER.upper()


class Pseudonymiser:
    """Turns sensitive values into pseudonyms under `key`, or into redaction markers.

    Secrets (`Kind.secret`) are always redacted: a stand-in password is no
    more useful to a replay than none. `fingerprint` names the key without
    revealing it, so records can say which key made their pseudonyms.
    """

    def __init__(self, key: bytes | None) -> None:
        self._key = key
        #: The keyed digest, its key schedule done once: copied for each value.
        self._hmac = hmac.new(key, digestmod="sha256") if key is not None else None
        # Users, cities and the like recur from exchange to exchange: their pseudonyms are
        # remembered (in this process only) rather than derived again each time.
        self._known: dict[str, str] = {}
        #: Names the key without revealing it: a digest of the key under a fixed label.
        self.fingerprint: str | None = None
        if key is not None:
            self.fingerprint = "hmac-sha256:" + hashlib.sha256(b"parity:" + key).hexdigest()[:16]

    def __getstate__(self) -> dict[str, object]:
        # The recorder hands its sanitiser to the writer process, and a keyed digest
        # object cannot cross a process boundary: the key does, and it is made again.
        state = dict(self.__dict__)
        state.pop("_hmac")
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        key = self._key
        self._hmac = hmac.new(key, digestmod="sha256") if key is not None else None

    @property
    def keyed(self) -> bool:
        return self._key is not None

    def replace(self, kind: Kind, value: str) -> str:
        """The stand-in for `value`, a `kind` of sensitive data."""
        if self._key is None or kind.secret:
            return redacted(kind)
        known = self._known.get(value)
        if known is not None:
            return known
        if len(self._known) >= _REMEMBERED:
            self._known.clear()
        made = self._known[value] = self._made(value)
        return made

    def _made(self, value: str) -> str:
        assert self._key is not None
        # Email addresses are compared without case, as mail systems do.
        keyed = value.lower() if "@" in value and _EMAIL.fullmatch(value) else value
        digest = self._keyed(keyed)
        shaped = _shaped(value, digest)
        return shaped if shaped != value else _shaped(value, hashlib.sha256(digest).digest())

    def hashed(self, value: str) -> str:
        """A keyed digest of `value` (the policy's ``hash`` action), or a marker without a key."""
        if self._key is None:
            return REMOVED
        return "hmac:" + self._keyed(value).hex()[:24]

    def _keyed(self, value: str) -> bytes:
        assert self._hmac is not None
        digest = self._hmac.copy()
        digest.update(value.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def replace_number(self, kind: Kind, value: int) -> int | str:
        """A number under a sensitive field: a number of as many digits, or a marker."""
        if self._key is None or kind.secret:
            return redacted(kind)
        text = str(abs(value))
        shaped = self.replace(kind, text)
        number = int(shaped)
        if len(text) > 1 and shaped[0] == "0":  # keep the digit count
            number += 10 ** (len(text) - 1)
        return -number if value < 0 else number


def _stream(digest: bytes, size: int) -> bytes:
    return hashlib.shake_256(digest).digest(max(size, 1))


def _shaped(value: str, digest: bytes) -> str:
    # Each shape's regex only runs on values with its mark: most values have none.
    if "@" in value and _EMAIL.fullmatch(value):
        return f"user-{digest[:6].hex()}@example.com"
    if len(value) == 36 and _UUID.fullmatch(value):
        raw = bytearray(digest[:16])
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        text = str(uuid.UUID(bytes=bytes(raw)))
        return text.upper() if value.isupper() else text
    if "." in value and _IPV4.fullmatch(value):
        return f"{_DOCUMENTATION_NETS[digest[0] % 3]}.{digest[1]}"
    if ":" in value and _IPV6.fullmatch(value) and value.count(":") >= 2:
        groups = [digest[i : i + 2].hex() for i in range(0, 12, 2)]
        return "2001:db8:" + ":".join(groups)
    date = _ISO_DATE.fullmatch(value) if len(value) == 10 else None
    if date is not None:
        year = 1930 + digest[0] % 70
        return f"{year:04d}-{1 + digest[1] % 12:02d}-{1 + digest[2] % 28:02d}"
    return _classes(value, digest)


def _class_row(char: str) -> str:
    """What each of the 256 byte values makes of ASCII `char`: one of its class, or itself."""
    if "0" <= char <= "9":
        return "".join(chr(48 + byte % 10) for byte in range(256))
    if "a" <= char <= "z":
        return "".join(_LOWER[byte % 26] for byte in range(256))
    if "A" <= char <= "Z":
        return "".join(_UPPER[byte % 26] for byte in range(256))
    return char * 256


#: `_class_row` of every ASCII character, by code: most values are ASCII, and one lookup
#: per character is a third of the time of the tests below.
_ASCII_CLASSES: Final = tuple(_class_row(chr(code)) for code in range(128))


def _classes(value: str, digest: bytes) -> str:
    """`value` with each digit and letter replaced by one of its class, the rest kept."""
    stream = _stream(digest, len(value))
    if value.isascii():
        rows = _ASCII_CLASSES
        out = [rows[ord(char)][byte] for char, byte in zip(value, stream, strict=False)]
    else:
        out = []
        for char, byte in zip(value, stream, strict=False):
            if "0" <= char <= "9":
                out.append(chr(48 + byte % 10))
            elif "a" <= char <= "z":
                out.append(_LOWER[byte % 26])
            elif "A" <= char <= "Z":
                out.append(_UPPER[byte % 26])
            elif char.isalpha():
                out.append(_UPPER[byte % 26] if char.isupper() else _LOWER[byte % 26])
            else:
                out.append(char)
    result = "".join(out)
    digits = [c for c in value if "0" <= c <= "9"] if len(value) >= 13 else ()
    if 13 <= len(digits) <= 19 and luhn_valid("".join(digits)):
        result = _luhn_fixed(result)
    return result


def _luhn_fixed(text: str) -> str:
    """`text` with its last digit chosen so that its digits pass the Luhn check."""
    positions = [i for i, c in enumerate(text) if "0" <= c <= "9"]
    last = positions[-1]
    for digit in "0123456789":
        candidate = text[:last] + digit + text[last + 1 :]
        if luhn_valid("".join(candidate[i] for i in positions)):
            return candidate
    raise AssertionError("one of ten check digits always passes")  # pragma: no cover

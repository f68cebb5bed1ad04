"""What a sanitised record holds where a value was removed: redaction markers
(``[redacted:email]``, and ``redacted-email`` where a URL or an HTTP token needs
letters, digits and hyphens), and the shapes only a pseudonym has.

Recorded traffic carries these, so everything that reads it needs to know
them: endpoint identity names a marked path segment by its kind, comparison
counts values equal only as markers, audits skip pseudonyms.
"""

from __future__ import annotations

import re
from typing import Final

from parity.traffic.kinds import Kind

__all__ = ["REMOVED", "is_marker", "looks_made", "redacted", "url_safe"]


#: What stands in for a value a policy rule redacts, whose kind is not known.
REMOVED: Final = "[redacted]"


_EMAIL_PSEUDONYM: Final = re.compile(r"user-[0-9a-f]{12}@example\.com")


def looks_made(text: str) -> bool:
    """Whether `text` has the shape only a pseudonym has: an email made here, or an address
    in the documentation ranges (RFC 5737, RFC 3849). Audits skip these."""
    if _EMAIL_PSEUDONYM.fullmatch(text):
        return True
    if text.startswith(("192.0.2.", "198.51.100.", "203.0.113.")):
        return True
    return text.lower().startswith("2001:db8:")


def redacted(kind: Kind) -> str:
    """The fixed marker that stands in for a removed value of this kind."""
    return _REDACTED[kind]


_REDACTED: Final = {kind: f"[redacted:{kind.value}]" for kind in Kind}
#: The same markers where brackets and colons are not allowed as they are: path segments,
#: query names and values, header and cookie names. Letters, digits and hyphens only, so
#: they need no percent-encoding anywhere in a URL and are valid HTTP tokens.
_URL_SAFE: Final = {marker: f"redacted-{kind.value}" for kind, marker in _REDACTED.items()} | {
    REMOVED: "redacted"
}
_MARKERS: Final = frozenset(_URL_SAFE) | frozenset(_URL_SAFE.values())


def url_safe(stand_in: str) -> str:
    """`stand_in` as it is written in a URL or an HTTP token: markers in their token form;
    pseudonyms keep the characters of the value they replace, which stood there already."""
    return _URL_SAFE.get(stand_in, stand_in)


def is_marker(text: str) -> bool:
    """Whether `text` is a redaction marker, in either of its forms."""
    return text in _MARKERS

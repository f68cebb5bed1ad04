"""Kinds of sensitive value: an email address, a card number, a token...

The vocabulary of the value detectors (`parity.traffic.detectors`), the
field-name rules (`parity.traffic.fieldnames`) and all that replaces what they
find. A module of its own, as the detectors consult the field-name rules too
(base64 that decodes to ``{"email": ...}``). `Kind.secret` says whether a value
of a kind is removed or given a pseudonym.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["Kind"]


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

"""Ids of recorded exchanges: each exchange's own, and the correlation id its request carries.

An exchange id (`new_exchange_id`) is a ULID: unique without coordination
between recorders, sorted by time, and the time it was made can be read back
(`exchange_id_time`). A correlation id (`correlation_id`) is read from the
request's headers and ties an inbound request to the calls it caused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from parity.traffic.exchange import Headers

__all__ = ["CORRELATION_HEADERS", "correlation_id", "exchange_id_time", "new_exchange_id"]

#: The headers that tie a request to the calls it causes, by default (the recorder's
#: ``parity_correlation_header``).
CORRELATION_HEADERS: tuple[str, ...] = ("traceparent", "X-Request-ID")


def correlation_id(headers: Headers, names: Sequence[str]) -> str | None:
    """The first correlation header present. For W3C `traceparent`, the trace id,
    which the monolith passes on to its own outbound calls."""
    for name in names:
        value = headers.get(name)
        if not value:
            continue
        if name.lower() == "traceparent":
            parts = value.strip().split("-")
            if len(parts) >= 3 and len(parts[1]) == 32:
                return parts[1].lower()
        return value.strip()
    return None


# Crockford's base32: sortable as text, no ambiguous letters.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}


def new_exchange_id(timestamp: float | None = None) -> str:
    """A unique id that sorts by time: 48 bits of milliseconds, 80 random bits (a ULID).

    Ids from many recorders can be merged without coordination, and the time an
    exchange started can be read back from its id (`exchange_id_time`).
    """
    millis = int((time.time() if timestamp is None else timestamp) * 1000)
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def exchange_id_time(exchange_id: str) -> float | None:
    """The start time encoded in an id from `new_exchange_id`, or None if it is not one."""
    if len(exchange_id) != 26:
        return None
    value = 0
    for char in exchange_id.upper():
        digit = _DECODE.get(char)
        if digit is None:
            return None
        value = value << 5 | digit
    return (value >> 80) / 1000

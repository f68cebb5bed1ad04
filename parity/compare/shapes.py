"""Values that look volatile: timestamps, UUIDs, ETags, request ids, epoch times. A
difference in one is "likely noise" in a report; nothing is ignored for its look alone."""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["volatile_shape"]


_SHAPES: Final = (
    (
        "a timestamp",
        re.compile(
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
            r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT"
        ),
    ),
    ("a UUID", re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")),
    ("an ETag", re.compile(r'(?:W/)?"[^"]+"')),
    (
        "a request id",
        re.compile(r"(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}"),
    ),
)

#: Epoch times from 2001 to 2033, in seconds or milliseconds.
_EPOCH: Final = ((10**9, 2 * 10**9), (10**12, 2 * 10**12))


def _epoch(value: float) -> bool:
    return any(low <= value < high for low, high in _EPOCH)


def volatile_shape(value: Any) -> str | None:
    """What `value` looks like if it looks volatile (a timestamp, a UUID...), else None."""
    if isinstance(value, str):
        for name, shape in _SHAPES:
            if shape.fullmatch(value):
                return name
    elif isinstance(value, int | float) and not isinstance(value, bool) and _epoch(value):
        return "a timestamp"
    return None

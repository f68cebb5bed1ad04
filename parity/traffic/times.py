"""Points in time, read by one rule: ISO 8601, UTC unless the text gives an offset.

`parse_time` reads what users write on a command line (also "2h ago");
`timestamp_of` reads the times other tools' files hold (HAR's
``startedDateTime``), for imports.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from parity.errors import UsageError

__all__ = ["format_time", "parse_instant", "parse_time", "timestamp_of"]

_RELATIVE = re.compile(r"(\d+)\s*([smhdw])(?:\s+ago)?")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """A timezone-aware instant from ISO 8601 (UTC when no offset is given) or a
    duration before `now` such as ``30m``, ``2h``, ``7d`` or ``2h ago``."""
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    if relative:
        amount, unit = relative.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        return parse_instant(value)
    except ValueError:
        raise UsageError(
            f"cannot read {text!r} as a time; write ISO 8601 such as 2026-11-23T10:00 "
            "(UTC unless an offset is given) or a duration ago such as 30m, 2h or 7d"
        ) from None


def parse_instant(text: str) -> datetime:
    """A timezone-aware instant from ISO 8601, UTC when the text gives no offset;
    ValueError if it is not one."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def timestamp_of(text: object) -> float:
    """Seconds since the epoch from an ISO 8601 time (UTC when it gives no offset);
    ValueError if it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not an ISO 8601 time")
    return parse_instant(text).timestamp()


def format_time(timestamp: float | None) -> str:
    """Seconds since the epoch as a UTC time a person can read, to the millisecond."""
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

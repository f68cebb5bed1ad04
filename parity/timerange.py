"""Points in time as users write them on a command line: ISO 8601 or "2h ago"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from parity.errors import UsageError

__all__ = ["format_time", "parse_time"]

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
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read {text!r} as a time; write ISO 8601 such as 2026-11-23T10:00 "
            "(UTC unless an offset is given) or a duration ago such as 30m, 2h or 7d"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def format_time(timestamp: float | None) -> str:
    """Seconds since the epoch as a UTC time a person can read, to the millisecond."""
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from parity.errors import UsageError
from parity.traffic.times import format_time, parse_time

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T10:00", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
        ("2026-11-23T10:00:00Z", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        (
            "2026-11-23T11:00+01:00",
            datetime(2026, 11, 23, 11, 0, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("2h ago", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
    ],
)
def test_times_users_write(text, expected) -> None:
    assert parse_time(text, NOW) == expected


def test_an_unreadable_time_names_the_forms() -> None:
    with pytest.raises(UsageError, match=r"ISO 8601.*30m, 2h or 7d"):
        parse_time("last tuesday")


def test_format_time_is_utc_to_the_millisecond() -> None:
    assert format_time(1795428000.1234) == "2026-11-23 10:00:00.123"
    assert format_time(None) == "-"

"""Builders for test data: sensible defaults, then the overrides a test cares about."""

from __future__ import annotations

from typing import Any

from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.ids import new_exchange_id

#: 2026-11-23 10:00:00 UTC: a fixed instant, so partitions are predictable.
T0 = 1795428000.0


def make_request(**overrides: Any) -> Request:
    body = overrides.pop("body", b"")
    fields: dict[str, Any] = {
        "method": "GET",
        "scheme": "http",
        "host": "monolith.test",
        "port": 8000,
        "path": "/api/users/1",
        "query": Query(),
        "headers": Headers([("Host", "monolith.test:8000"), ("Accept", "application/json")]),
        "body": body if isinstance(body, Body) else Body.of(body),
        "timestamp_start": T0,
        "timestamp_end": T0 + 0.001,
    }
    fields.update(overrides)
    for name, kind in (("query", Query), ("headers", Headers)):
        if not isinstance(fields[name], kind):
            fields[name] = kind(fields[name])
    return Request(**fields)


def make_response(**overrides: Any) -> Response:
    body = overrides.pop("body", b'{"id": 1, "name": "Ada"}')
    fields: dict[str, Any] = {
        "status": 200,
        "reason": "OK",
        "headers": Headers([("Content-Type", "application/json")]),
        "body": body if isinstance(body, Body) else Body.of(body),
        "timestamp_start": T0 + 0.010,
        "timestamp_end": T0 + 0.012,
    }
    fields.update(overrides)
    if not isinstance(fields["headers"], Headers):
        fields["headers"] = Headers(fields["headers"])
    return Response(**fields)


def make_exchange(at: float = T0, **overrides: Any) -> Exchange:
    """An exchange whose request started at `at` (seconds since the epoch)."""
    request = overrides.pop("request", None) or make_request(
        timestamp_start=at, timestamp_end=at + 0.001
    )
    fields: dict[str, Any] = {
        "id": new_exchange_id(request.timestamp_start),
        "request": request,
        "response": make_response(timestamp_start=at + 0.01, timestamp_end=at + 0.012),
        "recorder_id": "rec-a",
        "endpoint": "GET /api/users/{id}",
    }
    fields.update(overrides)
    return Exchange(**fields)


def make_exchanges(count: int, start: float = T0, step: float = 1.0) -> list[Exchange]:
    return [
        make_exchange(
            start + i * step,
            request=make_request(
                path=f"/api/users/{i}", timestamp_start=start + i * step, query=[("n", str(i))]
            ),
        )
        for i in range(count)
    ]


def accounted(stats: dict[str, int]) -> int:
    """What a recorder's counters say became of the exchanges it captured: written,
    dropped (each reason its own counter), or still in flight."""
    drops = sum(v for k, v in stats.items() if k.startswith("dropped_"))
    return stats["written"] + drops + stats["prepare_errors"] + stats["queue_depth"]

"""Planning by endpoint (`replayer.stream.Outline`): what each endpoint's item needs to know,
and nothing per exchange."""

from __future__ import annotations

import pytest

from replayer.selection import Planned
from replayer.stream import Outline


def planned(position: int, endpoint: str, skip: str | None = None, unsafe: str | None = None):
    return Planned(position, f"id{position}", endpoint, "GET", "monolith.test:8000", skip, unsafe)


STREAM = [
    planned(0, "GET /a"),
    planned(1, "POST /b", skip="POST changes state", unsafe="POST changes state"),
    planned(2, "GET /a"),
    planned(3, "GET /c", skip="the monolith gave no answer"),
    planned(4, "POST /b", unsafe="POST changes state"),
    planned(5, "GET /c", skip="the monolith gave no answer"),
    planned(6, "GET /c", skip="POST changes state"),
    planned(7, "POST /b", skip="POST changes state", unsafe="POST changes state"),
]


def test_each_endpoint_keeps_counts_positions_and_skip_reasons() -> None:
    outline = Outline.of(STREAM)
    a, b, c = (outline.endpoints[name] for name in ("GET /a", "POST /b", "GET /c"))
    assert (a.exchanges, a.runnable, a.unsafe, a.last, a.last_runnable) == (2, 2, 0, 2, 2)
    assert (b.exchanges, b.runnable, b.unsafe, b.last, b.last_runnable) == (3, 1, 1, 7, 4)
    assert (c.exchanges, c.runnable, c.last_runnable) == (3, 0, -1)
    assert dict(c.skips) == {"the monolith gave no answer": 2, "POST changes state": 1}
    assert outline.hosts == {"monolith.test:8000"}
    assert outline.sampled is None


def test_items_run_in_the_order_of_their_endpoints_last_replayed_exchange() -> None:
    # POST /b's last exchange is skipped: its item runs once its last replayed one is.
    assert list(Outline.of(STREAM).endpoints) == ["GET /a", "POST /b", "GET /c"]


def test_an_endpoint_with_nothing_replayed_says_why_with_its_commonest_reason() -> None:
    reason = Outline.of(STREAM).endpoints["GET /c"].skip_reason
    assert reason == (
        "GET /c: 2 exchange(s) not replayed (1 more for other reasons): the monolith gave no answer"
    )


@pytest.mark.parametrize("sampled", [True, False])
def test_exchange_ids_are_kept_only_for_a_sample(sampled) -> None:
    outline = Outline.of(STREAM, sampled=sampled)
    assert outline.sampled == (frozenset(p.id for p in STREAM) if sampled else None)

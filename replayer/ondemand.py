"""Replaying one exchange at a time, when its item asks: where sending ahead is not
possible (a pytest-xdist worker learns its share item by item; a reordered run).

`Cursor` reads planned exchanges from the store as asked, holding none;
`OnDemand` sends one request at a time on a private event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

from parity.errors import ParityError
from parity.store import SegmentInfo, Store
from parity.traffic.exchange import Exchange, Request
from replayer.selection import Planned, Selection, positioned
from replayer.target import Reply, Target

__all__ = ["Cursor", "OnDemand"]


class Cursor:
    """Planned exchanges read from the store when asked for, none held.

    Asked in increasing store position, as a pytest-xdist worker runs its
    share, the store is read once; asking for an earlier one reads it again
    from the start.
    """

    def __init__(
        self,
        store: Store,
        selection: Selection,
        segments: Callable[[int, SegmentInfo], bool] | None = None,
    ) -> None:
        self._store = store
        self._selection = selection
        self._take = segments
        self._stream: Iterator[tuple[int, Exchange]] | None = None
        self._position = -1

    def get(self, planned: Planned) -> Exchange:
        if self._stream is None or planned.position <= self._position:
            quiet = lambda damage: None  # noqa: E731 - reported when the run was planned
            self._stream = positioned(self._store, self._selection, quiet, take=self._take)
            self._position = -1
        for position, exchange in self._stream:
            self._position = position
            if position > planned.position:
                break
            if position == planned.position:
                if exchange.id != planned.id:
                    break
                return exchange
        self._stream = None
        raise ParityError(
            f"exchange {planned.id} is no longer where it was in the store: the store "
            "changed during the run; run again"
        )


class OnDemand:
    """Sends one request at a time, from the calling thread, on a private event loop."""

    def __init__(self, factory: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._target: Target = asyncio.run_coroutine_threadsafe(_make(factory), self._loop).result()

    def send(self, key: str, request: Request) -> Reply:
        return asyncio.run_coroutine_threadsafe(
            self._target.send(key, request), self._loop
        ).result()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._target.aclose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _make(factory: Any) -> Target:
    return factory()  # type: ignore[no-any-return]

"""The bounded hand-off from mitmproxy's event loop to a writer.

Both writers take exchanges through it, the thread (`recorder.writer`) and the
process (`recorder.process`): on the proxy's side it must cost next to nothing,
so it is a plain deque that takes no lock and wakes nobody.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

__all__ = ["Handoff"]


class Handoff(collections.deque[Any]):
    """The bounded queue from mitmproxy's event loop to a writer.

    Offering an item takes no lock and wakes nobody: the writer looks every so
    often and takes what has gathered. When the queue is full, or closed, the
    item is refused; a full queue counts the drop.
    """

    def __init__(self, size: int, count: Callable[[str], None]) -> None:
        super().__init__()
        self.size = size
        self.closed = False
        self._count = count

    def offer(self, item: Any) -> bool:
        if self.closed:
            self._count("dropped_stopping")
            return False
        if len(self) >= self.size:
            self._count("dropped_queue_full")
            return False
        self.append(item)  # counted once, by the caller (the recorder's `captured`)
        return True

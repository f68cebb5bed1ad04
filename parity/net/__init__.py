"""The HTTP client the replayer sends with: HTTP/1.1 over asyncio with h11."""

from __future__ import annotations

from parity.net.http1 import (
    Answer,
    ConnectionClosed,
    InvalidAnswer,
    Pool,
)

__all__ = [
    "Answer",
    "ConnectionClosed",
    "InvalidAnswer",
    "Pool",
]

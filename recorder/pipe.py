"""What the proxy and its writer process agree on.

The proxy writes frames to the child's stdin, each a length and a payload: the
child's configuration first (which carries what a child that died was writing,
a `Reconcile`), then batches of snapshots. Both wait the same time for a spool
that a writer process still finishing holds.
"""

from __future__ import annotations

import struct
from typing import IO, Final

from recorder.writer import WriterSettings

__all__ = ["Reconcile", "lock_wait", "read_frame", "send_frame"]

_FRAME: Final = struct.Struct("!Q")
#: What a child that died was writing: its segment's name and the records reported in it.
Reconcile = tuple[str, int] | None


def lock_wait(settings: WriterSettings) -> float:
    """How long a new writer waits for a spool still locked by an orphaned one, which
    gives up within its flush grace."""
    return settings.flush_grace + 5.0


def send_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_FRAME.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or None at the end of the stream (a cut frame counts as the end)."""
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    (size,) = _FRAME.unpack(head)
    payload = stream.read(size)
    return payload if len(payload) == size else None

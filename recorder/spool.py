"""The spool directory: a writer's segments on local disk until the store has them.

``<spool>/open/`` holds the segment being written (``<name>.part``),
``<spool>/pending/`` the closed ones waiting for an upload, and ``<spool>/lock``
keeps two live processes out of one directory. A writer process's parent checks
the lock before it starts a child (`recorder.process`); the writer
(`recorder.writer`) holds it while it runs.
"""

from __future__ import annotations

import fcntl
import time
from pathlib import Path
from typing import IO, Final

from parity.errors import UsageError
from parity.store.segments import SegmentKey

__all__ = ["check_spool", "key_of", "lock_spool", "spooled_name"]

# Path separators cannot appear in a spooled file's name; '+' appears in no key.
_SEP: Final = "+"


def spooled_name(key: SegmentKey | str) -> str:
    return (key if isinstance(key, str) else key.name).replace("/", _SEP)


def key_of(path: Path) -> SegmentKey | None:
    name = path.name.removesuffix(".part")
    return SegmentKey.parse(name.replace(_SEP, "/"))


def lock_spool(spool_dir: Path, wait: float = 0.0) -> IO[bytes]:
    """Make `spool_dir` ready and lock it for this process; the open lock file holds
    the lock. A lock still held by another process is waited for up to `wait`
    seconds (a writer process whose proxy was killed finishes its work first).
    Raises `UsageError` when the directory is unusable or stays locked."""
    try:
        (spool_dir / "open").mkdir(parents=True, exist_ok=True)
        (spool_dir / "pending").mkdir(parents=True, exist_ok=True)
        lock_file = (spool_dir / "lock").open("a+b")
    except OSError as exc:
        raise UsageError(
            f"cannot use spool directory {spool_dir} ({exc.strerror}); "
            "choose a writable one with parity_spool_dir"
        ) from None
    until = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() < until:
                time.sleep(0.1)
                continue
            lock_file.close()
            raise UsageError(
                f"another recorder is using spool directory {spool_dir}; give each "
                "process its own parity_recorder_id"
            ) from None
        return lock_file


def check_spool(spool_dir: Path, wait: float = 0.0) -> None:
    """Raise `UsageError` unless `spool_dir` can be locked by a writer (waiting up to
    `wait` seconds for it)."""
    lock_spool(spool_dir, wait).close()

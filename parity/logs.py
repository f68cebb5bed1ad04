"""Logging as Parity does it: loggers named under ``parity.``, and problems that repeat
reported once in full, then at most once a minute with how many were left unsaid.

A recorder in front of production meets the same failure thousands of times a
minute (a dead store, a malformed flow); one line each would bury the log.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Final

__all__ = ["RateLimitedLog", "logger"]

#: How often one kind of problem is reported again, in seconds.
REPORT_EVERY: Final = 60.0


def logger(module: str) -> logging.Logger:
    """The logger of `module` (its ``__name__``), under ``parity.``: one tree to configure,
    ``parity.recorder.addon`` for the recorder's addon."""
    return logging.getLogger(module if module.split(".")[0] == "parity" else f"parity.{module}")


class RateLimitedLog:
    """Warnings by kind: the first of each kind in full, then one line a minute."""

    def __init__(self, log: logging.Logger, clock: Callable[[], float] = time.monotonic) -> None:
        self._log = log
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    def warn(self, kind: str, message: str) -> None:
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < REPORT_EVERY:
            self._suppressed[kind] += 1
            return
        more = self._suppressed.pop(kind, 0)
        self._last[kind] = now
        self._log.warning(message + (f" ({more} more since the last report)" if more else ""))

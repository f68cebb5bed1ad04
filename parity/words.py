"""Counts and sizes as Parity's messages say them: "1 exchange", "3 bad entries", "4.2 MiB".

Messages are one sentence each (`parity.errors`), so numbers in them read as
words do: a noun agrees with its count, a size is in the largest binary unit
that keeps it above one.
"""

from __future__ import annotations

__all__ = ["counted", "human_size"]


def counted(n: int, noun: str) -> str:
    """`n` and `noun`, in the plural unless `n` is 1: a noun in -y takes -ies ("entry",
    "entries"), any other takes -s. `noun` is the singular; its last word is the one that
    agrees ("bad entry" -> "2 bad entries")."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {noun[:-1]}ies" if noun.endswith("y") else f"{n} {noun}s"


def human_size(size: int) -> str:
    """A number of bytes as people read it: "512 B", "1.5 KiB", up to GiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")

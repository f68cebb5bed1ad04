"""Errors a user can cause, each carrying one sentence that names the problem and the fix.

Anything raised as a `ParityError` is shown to the user as its message alone
(the `parity` command prints it and exits 2); anything else is a bug in Parity.
"""

from __future__ import annotations

__all__ = [
    "FormatVersionError",
    "ParityError",
    "RecordError",
    "StoreError",
    "UsageError",
    "needs_mitmproxy",
]


class ParityError(Exception):
    """A problem with the user's input or environment, explained in one sentence."""


class UsageError(ParityError):
    """A bad argument, option or configuration value."""


class StoreError(ParityError):
    """A store that cannot be opened, listed, read or written."""


class RecordError(ParityError):
    """A stored record that is not a valid exchange."""


class FormatVersionError(RecordError):
    """A stored record written in a format version this Parity cannot read."""


def needs_mitmproxy(what: str) -> UsageError:
    """The error for `what` ("recording", say) where mitmproxy is not installed."""
    return UsageError(f"{what} needs mitmproxy; install it with: pip install 'parity[recorder]'")

"""`parity import`: traffic other tools wrote, into a store, as recorded traffic is.

Every exchange read gets an endpoint identity (as the recorder names them;
one the file carries is kept where it fits the request) and goes through the
sanitiser before anything is written. Files are read whole before the first
segment is written, so a bad entry stops the import
with nothing written, unless the caller asked to skip bad entries (each one
is then reported). The readers live with their formats; this module holds
JSON Lines of Parity's own records, and the loop they share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Final

import orjson

from parity.errors import RecordError
from parity.interop.common import FormatError
from parity.store.reader import MAX_FRAME_BYTES
from parity.traffic.endpoint import DEFAULT_RULES, EndpointRules, describes, identify
from parity.traffic.exchange import Exchange

__all__ = ["Imported", "Reader", "import_files", "read_jsonl"]

#: A format's reader: the exchanges in a file; a bad entry raises `FormatError` unless
#: there is a callback, which then gets it while the entry is skipped.
Reader = Callable[[Path, Callable[[FormatError], None] | None], Iterator[Exchange]]


def read_jsonl(
    path: Path, on_bad: Callable[[FormatError], None] | None = None
) -> Iterator[Exchange]:
    """Parity's own records, one JSON object per line (as `parity show --json` prints
    and segments hold once decompressed)."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise FormatError(path, "the file", f"cannot be read ({exc.strerror})") from None
    with stream:
        for number, line in enumerate(_lines(stream), 1):
            if line is None:
                error = FormatError(
                    path,
                    f"line {number}",
                    f"is longer than {MAX_FRAME_BYTES} "
                    "bytes, the most a reader holds of one record",
                )
            elif not line.strip():
                continue
            else:
                try:
                    yield Exchange.from_record(orjson.loads(line))
                    continue
                except (orjson.JSONDecodeError, RecordError) as exc:
                    error = FormatError(path, f"line {number}", f"is not a Parity record ({exc})")
            if on_bad is None:
                raise error from None
            on_bad(error)


def _lines(stream: IO[bytes], limit: int = MAX_FRAME_BYTES) -> Iterator[bytes | None]:
    """The lines of `stream`, each read with a bound: None for a line over `limit` bytes,
    which is read past, never held."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit:
            yield line
            continue
        while line and not line.endswith(b"\n"):  # the rest of the long line, piece by piece
            line = stream.readline(1 << 20)
        yield None


#: The latest moment a store can name (segments are named by their UTC hour): the end of
#: the year 9999, in seconds since 1970.
_LATEST: Final = 253_402_300_799.0


def _out_of_range(exchange: Exchange) -> str | None:
    """What is wrong with an exchange's times, if anything: each must be a number of
    seconds since 1970 that a calendar can name (a file can hold 1e20, or NaN)."""
    request, response = exchange.request, exchange.response
    times = [
        ("request timestamp_start", request.timestamp_start),
        ("request timestamp_end", request.timestamp_end),
    ]
    if response is not None:
        times += [
            ("response timestamp_start", response.timestamp_start),
            ("response timestamp_end", response.timestamp_end),
        ]
    for name, value in times:
        if value is None and name != "request timestamp_start":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"its {name} is {value!r}, not a number of seconds since 1970"
        if not 0.0 <= value <= _LATEST:  # NaN fails this too
            return (
                f"its {name} {value!r} is not a time between 1970 and the year 9999 "
                "(seconds since 1970 are expected)"
            )
    return None


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import read: the exchanges to write, and the bad entries skipped."""

    exchanges: list[Exchange]
    skipped: list[FormatError]


def import_files(
    reader: Reader,
    paths: Sequence[Path],
    *,
    sanitiser: Callable[[Exchange], Exchange] | None,
    rules: EndpointRules = DEFAULT_RULES,
    skip_bad: bool = False,
    outbound: bool = False,
) -> Imported:
    """Read every file, name each exchange's endpoint and sanitise it. Raises the first
    `FormatError` unless `skip_bad`; nothing is written here. With `outbound`, every
    exchange is marked as a call the recorded service made to a dependency, which
    hermetic replays answer from."""
    skipped: list[FormatError] = []
    exchanges = []
    for path in paths:
        for number, exchange in enumerate(reader(path, skipped.append if skip_bad else None), 1):
            problem = _out_of_range(exchange)
            if problem is not None:
                error = FormatError(path, f"entry {number}", problem)
                if not skip_bad:
                    raise error
                skipped.append(error)
                continue
            endpoint = exchange.endpoint
            if not endpoint or not describes(endpoint, exchange.request, rules):
                # A name the file carries is kept only where it fits the request: a file
                # can say anything, and the name decides what may be replayed.
                exchange = replace(exchange, endpoint=identify(exchange.request, rules))
            if sanitiser is not None:
                exchange = sanitiser(exchange)
            if outbound:
                exchange = replace(exchange, meta={**exchange.meta, "outbound": True})
            exchanges.append(exchange)
    exchanges.sort(key=lambda exchange: exchange.request.timestamp_start)
    return Imported(exchanges, skipped)

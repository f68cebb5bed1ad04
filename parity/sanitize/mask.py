"""Masking data files with the recordings' policy and key: test data that matches them.

A candidate replaying sanitised traffic is asked for the pseudonyms, not the
people: a request for ``user-3f2a…@example.com`` finds nobody unless the
candidate's test data holds the same pseudonyms. `mask_file` puts a data
file (JSON, JSON Lines or CSV, such as a database export) through the same
sanitiser the recorder used, so every value becomes exactly the pseudonym it
became in the recordings: same policy, same key, same stand-in.

Each JSON document, JSON Lines line or CSV row (as an object of column names
to values) is sanitised as a JSON body is: by field names, detectors and
propagation within it. CSV cells stay text; a JSON number under a sensitive
field stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import orjson

from parity.errors import UsageError
from parity.sanitize.engine import Sanitiser
from parity.traffic.exchange import Body, Exchange, Headers, Request
from parity.traffic.ids import new_exchange_id

__all__ = ["DataFormat", "mask_file"]


class DataFormat(StrEnum):
    """The data files `parity mask` reads and writes."""

    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"

    @property
    def unit(self) -> str:
        """What `mask_file` counts in a file of this format: a document, a line, a row."""
        return {"json": "document", "jsonl": "line", "csv": "row"}[self.value]

    @classmethod
    def of(cls, path: Path, given: str | None) -> DataFormat:
        name = given or path.suffix.lstrip(".").lower().replace("ndjson", "jsonl")
        try:
            return cls(name)
        except ValueError:
            choices = ", ".join(member.value for member in cls)
            raise UsageError(
                f"cannot tell the format of {path} ({name or 'no extension'}); "
                f"pass --format with one of {choices}"
            ) from None


def _masked(document: Any, sanitiser: Sanitiser) -> Any:
    body = Body.of(orjson.dumps(document))
    headers = Headers([("Content-Type", "application/json")])
    request = Request("POST", "http", "data.invalid", 80, "/", headers=headers, body=body)
    clean = sanitiser(Exchange(new_exchange_id(0.0), request))
    return orjson.loads(clean.request.body.content)


def mask_file(source: Path, target: Path, sanitiser: Sanitiser, fmt: DataFormat) -> int:
    """Write `source` masked to `target`; the number of documents, lines or rows masked."""
    if source.resolve() == target.resolve():
        raise UsageError(f"--out {target} is the input file; write the masked copy elsewhere")
    try:
        with source.open("rb") as reading, target.open("wb") as writing:
            return _mask(reading, writing, sanitiser, fmt, source)
    except OSError as exc:
        raise UsageError(f"cannot mask {source} into {target} ({exc.strerror})") from None


def _mask(
    reading: IO[bytes], writing: IO[bytes], sanitiser: Sanitiser, fmt: DataFormat, source: Path
) -> int:
    if fmt is DataFormat.JSON:
        writing.write(orjson.dumps(_masked(_loaded(reading.read(), source, 1), sanitiser)))
        writing.write(b"\n")
        return 1
    if fmt is DataFormat.JSONL:
        count = 0
        for number, line in enumerate(reading, start=1):
            if line.strip():
                document = _masked(_loaded(line, source, number), sanitiser)
                writing.write(orjson.dumps(document) + b"\n")
                count += 1
        return count
    text = io.TextIOWrapper(reading, encoding="utf-8", newline="")
    out = io.TextIOWrapper(writing, encoding="utf-8", newline="")
    rows = csv.DictReader(text)
    if rows.fieldnames is None:
        return 0
    writer = csv.DictWriter(out, rows.fieldnames)
    writer.writeheader()
    count = 0
    for row in _rows(rows, source):
        masked = _masked(row, sanitiser)
        writer.writerow({name: _cell(masked.get(name)) for name in rows.fieldnames})
        count += 1
    out.flush()
    out.detach()
    text.detach()
    return count


def _rows(rows: csv.DictReader[str], source: Path) -> Iterator[dict[str, str]]:
    try:
        for row in rows:
            yield {name: value for name, value in row.items() if name is not None}
    except (csv.Error, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{source} line {rows.line_num} is not CSV this can read ({exc})"
        ) from None


def _cell(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _loaded(data: bytes, source: Path, line: int) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{source} line {line} is not JSON ({exc}); fix or remove it") from None

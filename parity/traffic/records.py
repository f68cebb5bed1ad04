"""Stored records: the JSON an exchange is kept as, and the versions of its format.

A record (`Record`) is what `Exchange.to_record()` writes and `Exchange.from_record()`
reads (docs/FORMAT.md). Each carries the format version it was written in; a record
of an older version is brought up to `FORMAT_VERSION` by the chain of migrations in
`MIGRATIONS` before it is read, so that stores recorded by one version of Parity
are read by the next. Apart from the model, so that readers of segments upgrade
records without building exchanges.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity.errors import FormatVersionError, RecordError

__all__ = ["FORMAT_VERSION", "MIGRATIONS", "Record", "upgrade_record"]

#: The version of the stored record format written by this Parity. Bump it when a
#: record's meaning or shape changes, and add a migration from the previous one.
FORMAT_VERSION = 1

Record = dict[str, Any]

#: Upgrades from one format version to the next: ``MIGRATIONS[n]`` turns a
#: version-n record into a version-(n+1) record. Readers apply them in a chain.
MIGRATIONS: dict[int, Callable[[Record], Record]] = {}


def upgrade_record(record: Record) -> Record:
    """Bring a record of any known format version up to `FORMAT_VERSION`."""
    if not isinstance(record, dict):
        raise RecordError(f"a record must be a JSON object, not {type(record).__name__}")
    version = record.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        raise RecordError(f"record {record.get('id', '?')} has no format version field 'v'")
    if version > FORMAT_VERSION:
        raise FormatVersionError(
            f"record {record.get('id', '?')} is in format version {version}, but this Parity "
            f"reads versions up to {FORMAT_VERSION}; upgrade Parity to read it"
        )
    while version < FORMAT_VERSION:
        migrate = MIGRATIONS.get(version)
        if migrate is None:
            raise FormatVersionError(
                f"record {record.get('id', '?')} is in format version {version}, which this "
                f"Parity no longer reads; convert it with an older Parity first"
            )
        record = migrate(record)
        version += 1
        record["v"] = version
    return record

"""Traffic formats by name: the readers ``parity import --from NAME`` chooses from and the
writers ``parity export --to NAME`` chooses from.

mitmproxy flow files are read by `recorder.flowfile`, which needs mitmproxy;
`parity` never imports the recorder, so the ``parity`` command adds that
reader, as ``mitmproxy``, to the ones here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, TypeVar

from parity.errors import UsageError
from parity.interop.cassette import read_cassette
from parity.interop.exporting import ExportWriter, export_cassettes, export_har
from parity.interop.har import read_har
from parity.interop.importing import Reader, read_jsonl

__all__ = ["READERS", "WRITERS", "reader_for", "writer_for"]

#: The formats `parity import` reads, by name.
READERS: Final[Mapping[str, Reader]] = MappingProxyType(
    {"har": read_har, "vcr": read_cassette, "jsonl": read_jsonl}
)
#: The formats `parity export` writes, by name.
WRITERS: Final[Mapping[str, ExportWriter]] = MappingProxyType(
    {"vcr": export_cassettes, "har": export_har}
)

_Chosen = TypeVar("_Chosen")


def reader_for(name: str, readers: Mapping[str, Reader] = READERS) -> Reader:
    """The reader of the format `name` among `readers`; a `UsageError` naming the formats
    there are when there is no such format."""
    return _chosen(name, readers, "import")


def writer_for(name: str, writers: Mapping[str, ExportWriter] = WRITERS) -> ExportWriter:
    """The writer of the format `name` among `writers`; a `UsageError` naming the formats
    there are when there is no such format."""
    return _chosen(name, writers, "export")


def _chosen(name: str, table: Mapping[str, _Chosen], what: str) -> _Chosen:
    try:
        return table[name]
    except KeyError:
        raise UsageError(
            f"{name!r} is not a format Parity can {what}; the formats are {', '.join(table)}"
        ) from None

"""Moving traffic between tools: HAR, vcrpy cassettes, Parity's JSON Lines and
mitmproxy flow files, read and written by name (`READERS`, `WRITERS`).

Each format has its module (`har`, `cassette`; mitmproxy flow files are read
by `recorder.flowfile`, which needs mitmproxy); `importing` and `exporting`
hold what ``parity import`` and ``parity export`` do around them, and
`registry` the formats by name.
"""

from __future__ import annotations

from parity.interop.cassette import (
    read_cassette,
    write_cassette,
)
from parity.interop.common import (
    DECODED_LIMIT,
    FormatError,
    decoded_body,
    extension_of,
    request_from_url,
    restore,
)
from parity.interop.exporting import (
    Exported,
    ExportWriter,
    Grouping,
    export_cassettes,
    export_har,
    select_exchanges,
)
from parity.interop.har import (
    read_har,
    write_har,
)
from parity.interop.importing import (
    Imported,
    Reader,
    import_files,
    read_jsonl,
)
from parity.interop.registry import (
    READERS,
    WRITERS,
    reader_for,
    writer_for,
)

__all__ = [
    "DECODED_LIMIT",
    "READERS",
    "WRITERS",
    "ExportWriter",
    "Exported",
    "FormatError",
    "Grouping",
    "Imported",
    "Reader",
    "decoded_body",
    "export_cassettes",
    "export_har",
    "extension_of",
    "import_files",
    "read_cassette",
    "read_har",
    "read_jsonl",
    "reader_for",
    "request_from_url",
    "restore",
    "select_exchanges",
    "write_cassette",
    "write_har",
    "writer_for",
]

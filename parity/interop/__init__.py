"""Moving traffic between tools: HAR, vcrpy cassettes, Parity's JSON Lines and
mitmproxy flow files, read and written by name (`READERS`, `WRITERS`).
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

__all__ = [
    "DECODED_LIMIT",
    "FormatError",
    "Imported",
    "Reader",
    "decoded_body",
    "extension_of",
    "import_files",
    "read_cassette",
    "read_har",
    "read_jsonl",
    "request_from_url",
    "restore",
    "write_cassette",
    "write_har",
]

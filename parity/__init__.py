"""Parity: certify a rewritten service against the one it replaces, from recorded traffic.

The `parity` package is the vocabulary and the engines that the recorder and
the gateway (inside mitmproxy) and the replayer (inside pytest) share, by role:
`traffic` (exchanges, endpoint identity), `store` (segments, local and S3),
`sanitize`, `compare`, `interop` (other tools' formats), `migration` (routing,
promotion, live.json), `net` (the HTTP client) and `proxy` (what the recorder
and the gateway share inside mitmproxy); `config` and `errors` at the top. Only
`cli`, the ``parity`` command, imports the recorder, gateway and replayer.
This module exports the names most users need.
"""

from parity.errors import (
    FormatVersionError,
    ParityError,
    RecordError,
    StoreError,
    UsageError,
)
from parity.store import (
    LocalStore,
    SegmentInfo,
    Store,
    iter_exchanges,
    iter_records,
    open_store,
    write_exchanges,
)
from parity.store.segments import Compression, SegmentKey
from parity.traffic.exchange import (
    Body,
    Exchange,
    Headers,
    Query,
    Request,
    Response,
)
from parity.traffic.ids import (
    new_exchange_id,
)
from parity.traffic.records import (
    FORMAT_VERSION,
)

__version__ = "0.1.0"

__all__ = [
    "FORMAT_VERSION",
    "Body",
    "Compression",
    "Exchange",
    "FormatVersionError",
    "Headers",
    "LocalStore",
    "ParityError",
    "Query",
    "RecordError",
    "Request",
    "Response",
    "SegmentInfo",
    "SegmentKey",
    "Store",
    "StoreError",
    "UsageError",
    "__version__",
    "iter_exchanges",
    "iter_records",
    "new_exchange_id",
    "open_store",
    "write_exchanges",
]

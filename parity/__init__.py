"""Parity: certify a rewritten service against the one it replaces, from recorded traffic.

The `parity` package is the shared vocabulary of the recorder (inside mitmproxy)
and the replayer (inside pytest): the exchange model, the stored format,
stores, endpoint identity. It imports neither of them.
"""

from parity.errors import (
    FormatVersionError,
    ParityError,
    RecordError,
    StoreError,
    UsageError,
)
from parity.exchange import (
    FORMAT_VERSION,
    Body,
    Exchange,
    Headers,
    Query,
    Request,
    Response,
    new_exchange_id,
)
from parity.segments import Compression, SegmentKey
from parity.store import (
    LocalStore,
    SegmentInfo,
    Store,
    iter_exchanges,
    iter_records,
    open_store,
    write_exchanges,
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

"""The vocabulary of recorded traffic: exchanges and their parts (`exchange`), the
stored record and its versions (`records`), ids (`ids`), endpoint identity
(`endpoint`, with GraphQL requests read by `graphql`), what makes a request safe
to send again (`safety`), what kind of value a string holds, an email, a card
number or a token (`kinds`, `detectors`, `fieldnames`), what a sanitised record
holds in its place (`markers`), content decoding (`decode`), paths into JSON
documents (`paths`) and points in time (`times`).
"""

from __future__ import annotations

from parity.traffic.decode import (
    DECODABLE,
    DecodeLimitExceeded,
    UnknownEncoding,
    decode_bounded,
)
from parity.traffic.detectors import (
    SHORTEST,
    Finder,
    Finding,
    find,
    find_encoded,
    luhn_valid,
)
from parity.traffic.endpoint import (
    DEFAULT_RULES,
    EndpointRules,
    describes,
    identify,
    matches,
    named_markers,
)
from parity.traffic.exchange import (
    Body,
    Exchange,
    Headers,
    Query,
    Request,
    Response,
    media_type,
)
from parity.traffic.fieldnames import (
    kind_of_field,
)
from parity.traffic.graphql import (
    Operation,
    Unreadable,
    read,
)
from parity.traffic.ids import (
    CORRELATION_HEADERS,
    correlation_id,
    exchange_id_time,
    new_exchange_id,
)
from parity.traffic.kinds import (
    Kind,
)
from parity.traffic.markers import (
    REMOVED,
    is_marker,
    looks_made,
    redacted,
    url_safe,
)
from parity.traffic.paths import (
    PathPattern,
    any_index,
    canonical,
    child,
    compile_pattern,
    normalise,
    shown,
)
from parity.traffic.records import (
    FORMAT_VERSION,
    MIGRATIONS,
    Record,
    upgrade_record,
)
from parity.traffic.safety import (
    SAFE_METHODS,
    effective_method,
    unsafe_reason,
)
from parity.traffic.times import (
    format_time,
    parse_instant,
    parse_time,
    timestamp_of,
)

__all__ = [
    "CORRELATION_HEADERS",
    "DECODABLE",
    "DEFAULT_RULES",
    "FORMAT_VERSION",
    "MIGRATIONS",
    "REMOVED",
    "SAFE_METHODS",
    "SHORTEST",
    "Body",
    "DecodeLimitExceeded",
    "EndpointRules",
    "Exchange",
    "Finder",
    "Finding",
    "Headers",
    "Kind",
    "Operation",
    "PathPattern",
    "Query",
    "Record",
    "Request",
    "Response",
    "UnknownEncoding",
    "Unreadable",
    "any_index",
    "canonical",
    "child",
    "compile_pattern",
    "correlation_id",
    "decode_bounded",
    "describes",
    "effective_method",
    "exchange_id_time",
    "find",
    "find_encoded",
    "format_time",
    "identify",
    "is_marker",
    "kind_of_field",
    "looks_made",
    "luhn_valid",
    "matches",
    "media_type",
    "named_markers",
    "new_exchange_id",
    "normalise",
    "parse_instant",
    "parse_time",
    "read",
    "redacted",
    "shown",
    "timestamp_of",
    "unsafe_reason",
    "upgrade_record",
    "url_safe",
]

"""Sanitising: nothing secret or personal leaves an exchange, and relations survive.

The engine (`Sanitiser`) runs two passes. `findings` finds what is sensitive in
every part of an exchange, as `bodies` takes it apart (JSON, forms,
`multipart`, XML, GraphQL, text), by field names and by what values look like
(`parity.traffic.detectors`); it reads headers, cookies, query and path itself,
bodies in `bodyfindings` and JSON in `jsonwalk`, and keeps what it found in
`found`. The engine then replaces every occurrence with a `pseudonym` or a
redaction marker, as the `policy` says: in text, headers, query and path
(`replacing`), and in bodies (`bodyreplacing`). `scan` audits a store with the
same detectors; `mask` masks test data the same way.
"""

from __future__ import annotations

from parity.sanitize.bodies import (
    Parsed,
    is_blank,
    keys_of,
)
from parity.sanitize.bodyfindings import (
    BodyFindings,
)
from parity.sanitize.bodyreplacing import (
    BodyReplacing,
)
from parity.sanitize.engine import (
    CREDENTIAL_HEADERS,
    Sanitiser,
    removed_credentials,
)
from parity.sanitize.findings import (
    Findings,
    is_credential_header,
)
from parity.sanitize.found import (
    Audit,
    Found,
)
from parity.sanitize.graphqldoc import (
    rewrite_literals,
)
from parity.sanitize.jsonedit import (
    DROPPED,
    rewrite_at_paths,
    rewrite_leaves,
)
from parity.sanitize.jsontext import (
    rewrite_tokens,
)
from parity.sanitize.jsonwalk import (
    JsonWalk,
)
from parity.sanitize.mask import (
    DataFormat,
    mask_file,
)
from parity.sanitize.multipart import (
    Part,
    UnreadableMultipart,
    parse_multipart,
    rebuild_multipart,
)
from parity.sanitize.policy import (
    DEFAULT_KEY_ENV,
    Action,
    Location,
    Mode,
    Policy,
    Rule,
)
from parity.sanitize.pseudonym import (
    Pseudonymiser,
)
from parity.sanitize.replacing import (
    Replacing,
    encoded_forms,
)
from parity.sanitize.scan import (
    Scanner,
    ScanTally,
    Suspect,
    scan_store,
    suspects,
)
from parity.sanitize.xmlbody import (
    UnreadableXml,
    rewrite_xml,
)

__all__ = [
    "CREDENTIAL_HEADERS",
    "DEFAULT_KEY_ENV",
    "DROPPED",
    "Action",
    "Audit",
    "BodyFindings",
    "BodyReplacing",
    "DataFormat",
    "Findings",
    "Found",
    "JsonWalk",
    "Location",
    "Mode",
    "Parsed",
    "Part",
    "Policy",
    "Pseudonymiser",
    "Replacing",
    "Rule",
    "Sanitiser",
    "ScanTally",
    "Scanner",
    "Suspect",
    "UnreadableMultipart",
    "UnreadableXml",
    "encoded_forms",
    "is_blank",
    "is_credential_header",
    "keys_of",
    "mask_file",
    "parse_multipart",
    "rebuild_multipart",
    "removed_credentials",
    "rewrite_at_paths",
    "rewrite_leaves",
    "rewrite_literals",
    "rewrite_tokens",
    "rewrite_xml",
    "scan_store",
    "suspects",
]

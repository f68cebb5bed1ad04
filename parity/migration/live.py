"""live.json: what the side-by-side gateway saw per endpoint, the evidence promotion reads.

The format belongs to neither side: the gateway writes it (`gateway.scoreboard`),
`parity promote` and `parity report` read it; both take the version from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from parity.errors import UsageError

__all__ = ["LIVE_SCHEMA", "check_live"]

#: The live.json schema version: per endpoint ``endpoint``, ``phase``, ``mirrored``,
#: ``matched``, ``mismatched``, ``noise``, ``candidate_errors``, ``served_by_candidate``,
#: ``fallbacks`` (counts), and latencies.
LIVE_SCHEMA: Final = 1


def check_live(document: Mapping[str, Any]) -> None:
    """Refuse, in one sentence, a live.json of another schema version."""
    if document.get("schema_version") != LIVE_SCHEMA:
        raise UsageError(
            f"live.json has schema version {document.get('schema_version')!r}; this Parity "
            f"reads version {LIVE_SCHEMA}"
        )

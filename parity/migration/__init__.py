"""The live migration: the routing table that says which phase each endpoint is in,
promotion and demotion on evidence, and live.json, the gateway's evidence (one
gateway's, or a fleet's added up).
"""

from __future__ import annotations

from parity.migration.live import (
    LIVE_SCHEMA,
    check_live,
    combine_live,
)
from parity.migration.promotion import (
    Move,
    demotion,
    proposals,
    read_evidence,
    read_live,
    table_change,
)
from parity.migration.routes import (
    Phase,
    ReloadingTable,
    Route,
    RoutingTable,
    moved,
)

__all__ = [
    "LIVE_SCHEMA",
    "Move",
    "Phase",
    "ReloadingTable",
    "Route",
    "RoutingTable",
    "check_live",
    "combine_live",
    "demotion",
    "moved",
    "proposals",
    "read_evidence",
    "read_live",
    "table_change",
]

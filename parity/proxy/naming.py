"""What the recorder and the side-by-side gateway share inside mitmproxy: the options that
name endpoints, and the keys of `flow.metadata` one addon leaves for the other.

Both addons declare the naming options (mitmproxy keeps one option declared
the same twice), so that beside each other they name a request alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from parity.traffic.endpoint import EndpointRules

if TYPE_CHECKING:
    from mitmproxy.addonmanager import Loader

__all__ = ["ENDPOINT_KEY", "META_KEY", "add_naming_options", "naming_rules"]

#: The key of `flow.metadata` whose mapping other addons (the gateway) add to the record's
#: ``meta``: JSON-compatible values only.
META_KEY = "parity_meta"
#: Where the gateway (`gateway.shadow`) leaves the endpoint it named the flow by.
ENDPOINT_KEY = "parity_endpoint"


def add_naming_options(loader: Loader) -> None:
    """The options that name endpoints. The recorder and the gateway both declare them
    (mitmproxy keeps one option declared the same twice), so that beside each other they
    name a request alike."""
    loader.add_option(
        "parity_template",
        Sequence[str],
        [],
        "Declared route templates for endpoint identity, e.g. '/api/users/{id}' or "
        "'GET /api/users/{id}/progress' (repeat for several).",
    )
    loader.add_option(
        "parity_graphql_path",
        Sequence[str],
        ["/graphql"],
        "Paths whose requests are named by their GraphQL operation.",
    )


def naming_rules(options: Any) -> EndpointRules:
    """The endpoint rules the naming options give (`UsageError` if one is invalid)."""
    return EndpointRules(tuple(options.parity_template), tuple(options.parity_graphql_path))

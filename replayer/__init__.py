"""Everything that runs inside pytest: the `pytest --replay` plugin and certification.

Imports `parity`, never `recorder`, and works without mitmproxy installed.
`ReplayConfig` is imported on first use, so that a pytest session without
``--replay`` loads no more of Parity than the plugin's option table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from replayer.rewrite import ReplayConfig

__all__ = ["ReplayConfig"]


def __getattr__(name: str) -> Any:
    if name == "ReplayConfig":
        from replayer.rewrite import ReplayConfig

        return ReplayConfig
    raise AttributeError(f"module 'replayer' has no attribute {name!r}")

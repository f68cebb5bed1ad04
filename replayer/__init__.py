"""Replaying: what to replay (`selection`), sending it (`target`, `prefetch`), judging
each exchange (`judge`) as an item per exchange (`items`) or per endpoint
(`endpoint_item` over `stream`), certifying each endpoint (`certify`, `aggregate`),
and the reports (`report`, `page` with `pagesections` and `pagetext`); the
`pytest --replay` plugin (`plugin`) is thin over them.

Imports `parity`, never `recorder` or `gateway`, and works without mitmproxy
installed.
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

"""Everything that runs inside mitmproxy: the recorder addon and, later, the shadow gateway.

Imports `parity`, never `replayer`. Needs the `recorder` extra (mitmproxy).
"""

__all__: list[str] = []

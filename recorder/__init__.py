"""Recording, inside mitmproxy: the recorder addon (`addon`, ``mitmdump -s
recorder/addon.py`` or ``parity record``), its sampling, and the writer that
sanitises, encodes and stores exchanges off the proxy's event loop (`writer`,
in a child process: `process` starts `worker`).

Imports `parity`, never `gateway` or `replayer`. Needs the `recorder` extra
(mitmproxy).
"""

__all__: list[str] = []

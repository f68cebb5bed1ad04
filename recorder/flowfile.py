"""mitmproxy flow files (``mitmdump -w``): read into exchanges, as the recorder converts.

Each HTTP flow is converted by `parity.proxy.convert` exactly as a live one is:
bodies decoded (within the recorder's limits), the correlation id taken from
the default headers. Flows of other kinds (TCP, UDP, DNS) are not HTTP
exchanges and are passed over. Needs mitmproxy (``pip install parity[recorder]``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from parity.errors import needs_mitmproxy
from parity.interop.common import FormatError
from parity.proxy.convert import BodyLimits, snapshot, to_exchange
from parity.traffic.exchange import Exchange
from parity.traffic.ids import CORRELATION_HEADERS

__all__ = ["read_flows"]


def read_flows(
    path: Path, on_bad: Callable[[FormatError], None] | None = None
) -> Iterator[Exchange]:
    """The HTTP exchanges in a mitmproxy flow file. A file mitmproxy cannot read raises
    `FormatError` naming the flow where reading stopped; flows read before it are kept
    only when `on_bad` is given (it gets the error)."""
    try:
        from mitmproxy import http, io
        from mitmproxy.exceptions import FlowReadException
    except ImportError:
        raise needs_mitmproxy("reading mitmproxy flow files") from None
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise FormatError(path, "the file", f"cannot be read ({exc.strerror})") from None
    limits = BodyLimits()
    with stream:
        index = 0
        try:
            for flow in io.FlowReader(stream).stream():
                if isinstance(flow, http.HTTPFlow):
                    yield to_exchange(
                        snapshot(flow), "mitmproxy", limits, correlation_names=CORRELATION_HEADERS
                    )
                index += 1
        except (FlowReadException, ValueError, KeyError, TypeError) as exc:
            error = FormatError(path, f"flow {index}", f"is not a mitmproxy flow ({exc})")
            if on_bad is None:
                raise error from None
            on_bad(error)

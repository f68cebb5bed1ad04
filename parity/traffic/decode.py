"""Content-encoding removal with a bound on the decoded size.

A recorded body is stored decoded (docs/FORMAT.md), and a replayed answer is
decoded the same way before it is compared, but a small gzip or brotli body
can expand to gigabytes. Every decoder here stops as soon as the output passes
`limit`, so a compression bomb costs at most about `limit` bytes of memory.

Brotli needs the `brotli` package (installed with the recorder's mitmproxy);
without it "br" is not among `DECODABLE` and is refused like an unknown coding.
"""

from __future__ import annotations

import zlib
from typing import Final

import zstandard

try:
    import brotli
except ImportError:  # pragma: no cover - brotli comes with mitmproxy
    brotli = None

__all__ = ["DECODABLE", "DecodeLimitExceeded", "UnknownEncoding", "decode_bounded"]

#: The content codings `decode_bounded` removes in this environment.
DECODABLE: Final = frozenset(
    {"identity", "gzip", "x-gzip", "deflate", "zstd"} | ({"br"} if brotli is not None else set())
)

# Brotli 1.1 (the newest mitmproxy 11 allows) has no output limit, and one call
# on a kilobyte of crafted input can expand to gigabytes. Fed a byte at a time,
# one call yields at most a few megabytes (8.4 MB measured on a maximal bomb).
_BROTLI_STEP: Final = 1
_ZLIB_STEP: Final = 1 << 16

#: What the decoders raise for data that is not in the coding it claims.
_CORRUPT: Final = (zlib.error, zstandard.ZstdError) + ((brotli.error,) if brotli else ())


class DecodeLimitExceeded(Exception):
    """The decoded body would be larger than the limit."""


class UnknownEncoding(Exception):
    """A content-encoding Parity cannot remove, or data that is not in it."""


def _zlib(data: bytes, wbits: int, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits)
    out = bytearray()
    pending = data
    while pending:
        out += decoder.decompress(pending, _ZLIB_STEP)
        if len(out) > limit:
            raise DecodeLimitExceeded
        pending = decoder.unconsumed_tail
        if decoder.eof:
            break
    out += decoder.flush()
    if len(out) > limit:
        raise DecodeLimitExceeded
    return bytes(out)


def _deflate(data: bytes, limit: int) -> bytes:
    # "deflate" is zlib-wrapped by the standard, raw deflate by some servers.
    try:
        return _zlib(data, zlib.MAX_WBITS, limit)
    except zlib.error:
        return _zlib(data, -zlib.MAX_WBITS, limit)


def _brotli(data: bytes, limit: int) -> bytes:
    if brotli is None:
        raise UnknownEncoding("cannot remove content-encoding 'br': the brotli package is missing")
    decoder = brotli.Decompressor()
    out = bytearray()
    view = memoryview(data)
    for start in range(0, len(data), _BROTLI_STEP):
        out += decoder.process(bytes(view[start : start + _BROTLI_STEP]))
        if len(out) > limit:
            raise DecodeLimitExceeded
    return bytes(out)


def _zstd(data: bytes, limit: int) -> bytes:
    reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
    out = reader.read(limit + 1)
    if len(out) > limit:
        raise DecodeLimitExceeded
    return bytes(out)


def decode_bounded(data: bytes, encoding: str, limit: int) -> bytes:
    """`data` with `encoding` (a Content-Encoding value, possibly a list) removed.

    Raises `DecodeLimitExceeded` when the result would pass `limit` bytes and
    `UnknownEncoding` for an encoding it does not know or data it cannot decode.
    """
    # Encodings are listed in the order they were applied; undo the last first.
    for name in reversed([part.strip().lower() for part in encoding.split(",")]):
        try:
            if name in {"", "identity"}:
                continue
            if name in {"gzip", "x-gzip"}:
                data = _zlib(data, 16 + zlib.MAX_WBITS, limit)
            elif name == "deflate":
                data = _deflate(data, limit)
            elif name == "br":
                data = _brotli(data, limit)
            elif name == "zstd":
                data = _zstd(data, limit)
            else:
                raise UnknownEncoding(f"unknown content-encoding {name!r}")
        except _CORRUPT as exc:
            raise UnknownEncoding(f"body is not valid {name} ({exc})") from None
    return data

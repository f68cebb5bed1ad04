from __future__ import annotations

import gzip
import subprocess
import sys
import zlib

import brotli
import pytest
import zstandard

from parity.traffic.decode import DecodeLimitExceeded, UnknownEncoding, decode_bounded

BODY = b'{"users": [' + b", ".join(b'{"id": %d}' % i for i in range(500)) + b"]}"


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("gzip", gzip.compress(BODY)),
        ("x-gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", zlib.compress(BODY)[2:-4]),  # raw deflate, as some servers send
        ("br", brotli.compress(BODY)),
        ("zstd", zstandard.ZstdCompressor().compress(BODY)),
        ("gzip, br", brotli.compress(gzip.compress(BODY))),
        ("identity", BODY),
    ],
)
def test_every_common_encoding_is_removed(encoding, encoded) -> None:
    assert decode_bounded(encoded, encoding, 1 << 20) == BODY


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", lambda data: gzip.compress(data, 9)),
        ("deflate", lambda data: zlib.compress(data, 9)),
        ("br", lambda data: brotli.compress(data, quality=5)),
        ("zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
    ],
)
def test_a_compression_bomb_stops_at_the_limit(encoding, compress) -> None:
    import tracemalloc

    bomb = compress(b"\0" * (64 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(DecodeLimitExceeded):
            decode_bounded(bomb, encoding, 4 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20  # well below the 64 MiB the bomb expands to


def test_unknown_or_corrupt_encodings_say_so() -> None:
    with pytest.raises(UnknownEncoding, match="unknown content-encoding 'compress'"):
        decode_bounded(b"x", "compress", 100)
    with pytest.raises(UnknownEncoding, match="not valid gzip"):
        decode_bounded(b"not gzip at all", "gzip", 100)


def test_without_brotli_br_is_refused_like_an_unknown_coding() -> None:
    script = (
        "import sys; sys.modules['brotli'] = None\n"
        "from parity.traffic.decode import DECODABLE, UnknownEncoding, decode_bounded\n"
        "assert 'br' not in DECODABLE and 'gzip' in DECODABLE\n"
        "try:\n"
        "    decode_bounded(b'x', 'br', 100)\n"
        "except UnknownEncoding as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == (
        "cannot remove content-encoding 'br': the brotli package is missing"
    )

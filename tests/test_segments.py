from __future__ import annotations

import dataclasses
import gzip
import io
import shutil
import subprocess
import zlib

import orjson
import pytest
import zstandard

from parity.errors import FormatVersionError, UsageError
from parity.store.reader import (
    MAX_FRAME_BYTES,
    SegmentDamage,
    SegmentDamagedWarning,
    read_exchanges,
    read_records,
)
from parity.store.segments import Compression, SegmentKey
from parity.store.writer import SegmentWriter
from parity.traffic.records import FORMAT_VERSION
from tests.factories import T0, make_exchange, make_exchanges


def encode(exchanges, compression=Compression.ZSTD, frame_bytes=1 << 20) -> bytes:
    out = io.BytesIO()
    with SegmentWriter(out, compression, frame_bytes=frame_bytes) as writer:
        for exchange in exchanges:
            writer.write(exchange)
    return out.getvalue()


def decode(data: bytes, compression=Compression.ZSTD) -> tuple[list, list[SegmentDamage]]:
    damage: list[SegmentDamage] = []
    got = list(
        read_exchanges(io.BytesIO(data), "seg-under-test", compression, on_damage=damage.append)
    )
    return got, damage


@pytest.mark.parametrize("compression", list(Compression))
@pytest.mark.parametrize("frame_bytes", [1, 4096, 1 << 20])
def test_written_exchanges_are_read_back_identical(compression, frame_bytes) -> None:
    exchanges = make_exchanges(200)
    got, damage = decode(encode(exchanges, compression, frame_bytes), compression)
    assert got == exchanges
    assert damage == []


@pytest.mark.parametrize("compression", list(Compression))
def test_standard_tools_read_a_segment_as_json_lines(compression) -> None:
    exchanges = make_exchanges(30)
    data = encode(exchanges, compression, frame_bytes=2048)
    if compression is Compression.GZIP:
        text = gzip.decompress(data)
    else:
        reader = zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(data), read_across_frames=True
        )
        text = reader.read()
    lines = text.splitlines()
    assert len(lines) == 30
    assert [orjson.loads(line)["id"] for line in lines] == [e.id for e in exchanges]
    assert all(orjson.loads(line)["v"] == FORMAT_VERSION for line in lines)


@pytest.mark.skipif(
    shutil.which("zstd") is None, reason="the zstd command-line tool is not installed"
)
def test_the_zstd_command_reads_a_segment() -> None:  # pragma: no cover - depends on the machine
    data = encode(make_exchanges(5), frame_bytes=100)
    out = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    assert len(out.splitlines()) == 5


@pytest.mark.parametrize("compression", list(Compression))
def test_a_truncated_segment_yields_every_intact_record_and_one_warning(compression) -> None:
    exchanges = make_exchanges(400)
    data = encode(exchanges, compression, frame_bytes=8192)
    cut = data[: len(data) * 2 // 3]
    with pytest.warns(SegmentDamagedWarning) as caught:
        got = list(
            read_exchanges(
                io.BytesIO(cut), "date=2026-11-23/hour=10/rec-a-000001.jsonl.zst", compression
            )
        )
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "date=2026-11-23/hour=10/rec-a-000001.jsonl.zst" in message
    assert "truncated" in message and "byte" in message
    # Everything before the cut is there, in order, and nothing after it.
    assert 0 < len(got) < len(exchanges)
    assert got == exchanges[: len(got)]
    # Frames are small: at most the records of one frame are lost to the cut.
    assert len(got) >= len(exchanges) * 2 // 3 - 8192 // 300


@pytest.mark.parametrize("compression", list(Compression))
def test_a_garbage_line_is_skipped_and_the_rest_is_read(compression) -> None:
    exchanges = make_exchanges(20)
    lines = [orjson.dumps(e.to_record()) for e in exchanges]
    lines.insert(7, b"this is not json {{{")
    raw = b"\n".join(lines) + b"\n"
    data = (
        zstandard.ZstdCompressor().compress(raw)
        if compression is Compression.ZSTD
        else gzip.compress(raw)
    )
    got, damage = decode(data, compression)
    assert got == exchanges
    assert len(damage) == 1
    assert damage[0].line == 8
    assert damage[0].offset == sum(len(line) + 1 for line in lines[:7])
    assert "line 8" in damage[0].message and "not a valid record" in damage[0].message
    assert damage[0].intact_records == 20


def test_flipped_bits_lose_only_the_damaged_frame_onwards_never_yield_garbage() -> None:
    exchanges = make_exchanges(300)
    data = bytearray(encode(exchanges, frame_bytes=4096))
    data[len(data) // 2] ^= 0xFF
    got, damage = decode(bytes(data))
    assert got == exchanges[: len(got)]
    assert 0 < len(got) < 300
    assert len(damage) == 1 and "corrupt" in damage[0].message


def test_a_record_of_an_unknown_version_is_refused_naming_it() -> None:
    record = make_exchange().to_record()
    record["v"] = 99
    data = zstandard.ZstdCompressor().compress(orjson.dumps(record) + b"\n")
    with pytest.raises(
        FormatVersionError, match=r"format version 99.*upgrade Parity.*segment s1, line 1"
    ):
        list(read_records(io.BytesIO(data), "s1"))


def test_an_empty_segment_reads_as_nothing() -> None:
    assert decode(encode([])) == ([], [])


def test_segment_keys_are_hive_partitioned_and_parse_back() -> None:
    key = SegmentKey.for_time(T0 + 3600 * 5 + 59, "rec-a", 12)
    assert key.name == "date=2026-11-23/hour=15/rec-a-000012.jsonl.zst"
    assert SegmentKey.parse(key.name) == key
    gz = SegmentKey.for_time(T0, "r.1_x", 3, Compression.GZIP)
    assert gz.name.endswith("r.1_x-000003.jsonl.gz")
    assert SegmentKey.parse(gz.name) == gz


@pytest.mark.parametrize(
    "name",
    [
        "date=2026-11-23/hour=10/../../etc-000001.jsonl.zst",
        "date=2026-11-23/hour=10/rec-000001.json",
        "date=2026-13-23/hour=10/rec-000001.jsonl.zst",
        "date=2026-11-23/hour=25/rec-000001.jsonl.zst",
        "notes.txt",
    ],
)
def test_names_that_are_not_segments_are_not_keys(name) -> None:
    assert SegmentKey.parse(name) is None


@pytest.mark.parametrize("recorder_id", ["../x", "a/b", "", ".hidden", "x" * 65, "a b"])
def test_recorder_ids_that_could_escape_a_store_are_refused(recorder_id) -> None:
    with pytest.raises(UsageError, match="recorder id"):
        SegmentKey.for_time(T0, recorder_id, 1)


def test_an_unknown_compression_names_the_choices() -> None:
    with pytest.raises(UsageError, match="choose one of: zstd, gzip"):
        Compression.parse("lz4")
    assert Compression.parse("GZIP") is Compression.GZIP


# -- bounded reading ------------------------------------------------------------------------


def _bomb(compression: Compression, size: int) -> bytes:
    """One frame (or gzip member) of `size` zero bytes, a few kilobytes compressed, with
    no size in its header: what a reader meets in a crafted segment."""
    zeros = bytes(16 << 20)
    if compression is Compression.ZSTD:
        compressor = zstandard.ZstdCompressor(level=3, write_checksum=True).compressobj()
        return b"".join(compressor.compress(zeros) for _ in range(size // len(zeros))) + (
            compressor.flush()
        )
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(deflate.compress(zeros) for _ in range(size // len(zeros))) + deflate.flush()


@pytest.mark.parametrize("compression", list(Compression))
def test_a_compression_bomb_is_skipped_named_and_the_records_around_it_read(compression) -> None:
    before, after = make_exchanges(10), make_exchanges(10, start=T0 + 100)
    size = MAX_FRAME_BYTES + (16 << 20)
    data = encode(before, compression) + _bomb(compression, size) + encode(after, compression)
    assert len(data) < 200_000  # tens of megabytes from a few kilobytes
    got, damage = decode(data, compression)
    assert got == before + after
    assert len(damage) == 1
    assert damage[0].line == 11 and damage[0].offset_kind == "decompressed"
    assert f"a frame decompresses to {size} bytes, more than the {MAX_FRAME_BYTES}" in (
        damage[0].message
    )
    assert damage[0].intact_records == 20


@pytest.mark.parametrize("compression", list(Compression))
def test_decompressed_pieces_stay_bounded_whatever_the_ratio(compression) -> None:
    # What one decoder call returns is what a reader holds beside its frame.
    from parity.store.reader import _pieces

    largest = max(
        len(piece) for piece, _ in _pieces(io.BytesIO(_bomb(compression, 256 << 20)), compression)
    )
    assert largest <= 32 << 20


def test_line_numbers_after_a_skipped_frame_count_its_lines() -> None:
    lines = b"x\n" * (MAX_FRAME_BYTES // 2 + 1)  # over the limit: every line a skipped one
    frame = zstandard.ZstdCompressor(write_checksum=True).compress(lines)
    garbage = zstandard.ZstdCompressor(write_checksum=True).compress(b"not json\n")
    got, damage = decode(frame + garbage)
    assert got == [] and damage[0].line == 1
    assert damage[0].skipped_lines == MAX_FRAME_BYTES // 2 + 2


def test_a_record_that_would_overfill_a_frame_starts_one_of_its_own() -> None:
    from parity.traffic.exchange import Body

    small = make_exchanges(2)

    def holding(size: int):  # type: ignore[no-untyped-def]
        response = dataclasses.replace(small[0].response, body=Body.of(b"\xff" * size))
        return dataclasses.replace(small[0], response=response)

    # As base64, 13 MiB then 20 MiB: together more than a reader holds of one frame.
    exchanges = [holding(10 << 20), holding(15 << 20), small[1]]
    got, damage = decode(encode(exchanges, frame_bytes=16 << 20))
    assert damage == [] and got == exchanges


def test_a_record_larger_than_a_reader_holds_is_refused() -> None:
    from parity.store.writer import RecordTooLarge, SegmentWriter
    from parity.traffic.exchange import Body

    exchange = make_exchanges(1)[0]
    huge = dataclasses.replace(
        exchange,
        response=dataclasses.replace(exchange.response, body=Body.of(b"\xff" * (25 << 20))),
    )
    with pytest.raises(RecordTooLarge, match="larger than the 33554432 bytes a reader holds"):
        SegmentWriter(io.BytesIO()).write(huge)

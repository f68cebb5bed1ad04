"""Segment encode and decode throughput for exchanges with ~2 KB JSON response bodies.

Encode: `Exchange` objects to a compressed segment in memory (`SegmentWriter` on
a `BytesIO`). Decode: those bytes back to `Exchange` objects (`read_exchanges`).
One thread, so the figures are per core. MB are 10**6 bytes of uncompressed
JSON Lines, the segment's content before compression.
"""

from __future__ import annotations

import io
import random
import sys
from functools import partial

import orjson

from benchmarks._harness import Result, time_call
from parity.store.reader import read_exchanges
from parity.store.segments import Compression
from parity.store.writer import SegmentWriter
from parity.traffic.exchange import Body, Exchange, Headers, Query, Request, Response
from parity.traffic.ids import new_exchange_id

__all__ = ["decode", "encode", "make_exchanges", "run"]

FULL_SIZE = 50_000
QUICK_SIZE = 2_000
SEED = 20261123
#: 2026-11-23 10:00:00 UTC.
T0 = 1795428000.0

_FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "John",
    "Sophie",
    "Linus",
    "Hedy",
    "Tim",
]
_LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Backus",
    "Wilson",
    "Torvalds",
    "Lamarr",
    "Berners-Lee",
]
_CITIES = [
    "Lyon",
    "Porto",
    "Leeds",
    "Graz",
    "Turku",
    "Ghent",
    "Malmo",
    "Bergen",
    "Cork",
    "Brno",
    "Trieste",
    "Utrecht",
]
_STREETS = [
    "Oak",
    "Elm",
    "Maple",
    "Cedar",
    "Station",
    "Market",
    "Mill",
    "Church",
    "Bridge",
    "Harbour",
]
_TAGS = [
    "new",
    "vip",
    "churn-risk",
    "beta",
    "trial",
    "enterprise",
    "newsletter",
    "gdpr",
    "mobile",
    "referral",
]
_WORDS = [
    "order",
    "shipped",
    "pending",
    "refund",
    "invoice",
    "basket",
    "item",
    "warehouse",
    "courier",
    "delayed",
    "priority",
    "gift",
    "returned",
    "partial",
]
_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "okhttp/4.12.0",
    "python-httpx/0.27.2",
)
_RESOURCES = ("users", "orders", "products", "invoices", "carts", "shipments")


def _person(rng: random.Random, serial: int) -> dict[str, object]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {
        "id": serial,
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@example.com",
        "balance": round(rng.uniform(-500, 25_000), 2),
        "active": rng.random() < 0.8,
        "tags": rng.sample(_TAGS, rng.randint(0, 4)),
        "address": {
            "street": f"{rng.randint(1, 400)} {rng.choice(_STREETS)} Street",
            "city": rng.choice(_CITIES),
            "postcode": f"{rng.randint(10000, 99999)}",
        },
        "orders": [
            {"ref": f"o-{rng.getrandbits(32):08x}", "total": rng.randint(100, 99_999)}
            for _ in range(rng.randint(0, 3))
        ],
        "note": " ".join(rng.choices(_WORDS, k=rng.randint(2, 9))),
        "updated": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
    }


def _json_body(rng: random.Random) -> bytes:
    """A JSON page of records, about 2 KB (1.6 to 2.4 KB), different every time."""
    target = rng.randint(1600, 2200)
    page: dict[str, object] = {"page": rng.randint(1, 50), "per_page": 0, "items": []}
    items: list[object] = page["items"]  # type: ignore[assignment]
    body = b""
    while len(body) < target:
        items.append(_person(rng, rng.randint(1, 10_000_000)))
        page["per_page"] = len(items)
        body = orjson.dumps(page)
    return body


def _exchange(rng: random.Random, at: float) -> Exchange:
    resource = rng.choice(_RESOURCES)
    post = rng.random() < 0.2
    request_id = f"{rng.getrandbits(128):032x}"
    headers = [
        ("Host", "monolith.internal:8000"),
        ("User-Agent", rng.choice(_AGENTS)),
        ("Accept", "application/json"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Accept-Language", rng.choice(("en-GB,en;q=0.9", "fr-FR,fr;q=0.8", "de-DE"))),
        ("Authorization", "Bearer [redacted]"),
        ("X-Request-Id", request_id),
        ("Traceparent", f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01"),
        ("Connection", "keep-alive"),
    ]
    body = b""
    if post:
        body = orjson.dumps({"quantity": rng.randint(1, 9), "note": rng.choice(_WORDS)})
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    path = f"/api/v2/{resource}/{rng.randint(1, 999_999)}"
    query = [("page", str(rng.randint(1, 50))), ("limit", rng.choice(("10", "20", "50")))]
    if rng.random() < 0.3:
        query.append(("sort", rng.choice(("-updated", "name", "id"))))
    response_body = _json_body(rng)
    response_headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(response_body))),
        ("Date", "Mon, 23 Nov 2026 10:00:00 GMT"),
        ("Server", "gunicorn"),
        ("Cache-Control", rng.choice(("no-store", "private, max-age=60"))),
        ("Vary", "Accept-Encoding, Authorization"),
        ("ETag", f'W/"{rng.getrandbits(64):016x}"'),
        ("X-Request-Id", request_id),
        ("X-RateLimit-Remaining", str(rng.randint(0, 5000))),
        ("Strict-Transport-Security", "max-age=31536000"),
    ]
    took = rng.uniform(0.002, 0.250)
    request = Request(
        method="POST" if post else "GET",
        scheme="http",
        host="monolith.internal",
        port=8000,
        path=path + ("/items" if post else ""),
        query=Query(query),
        headers=Headers(headers),
        body=Body.of(body),
        timestamp_start=at,
        timestamp_end=at + 0.0005,
    )
    response = Response(
        status=201 if post else 200,
        reason="Created" if post else "OK",
        headers=Headers(response_headers),
        body=Body.of(response_body),
        timestamp_start=at + took,
        timestamp_end=at + took + 0.001,
    )
    return Exchange(
        id=new_exchange_id(at),
        request=request,
        response=response,
        recorder_id="bench",
        endpoint=f"{request.method} /api/v2/{resource}/{{id}}{'/items' if post else ''}",
        correlation_id=request_id,
        meta={"sanitised": ["Authorization"]},
    )


def make_exchanges(count: int, seed: int = SEED) -> list[Exchange]:
    """`count` different exchanges, the same ones for the same seed (ids aside)."""
    rng = random.Random(seed)
    return [_exchange(rng, T0 + i * 0.05) for i in range(count)]


def encode(exchanges: list[Exchange], compression: Compression) -> tuple[bytes, int]:
    """The exchanges as one segment's bytes, and the uncompressed size of its lines."""
    out = io.BytesIO()
    with SegmentWriter(out, compression) as writer:
        for exchange in exchanges:
            writer.write(exchange)
    return out.getvalue(), writer.uncompressed_bytes


def decode(data: bytes, compression: Compression) -> int:
    """How many exchanges the segment `data` holds, decoding every one of them."""
    count = 0
    for _ in read_exchanges(io.BytesIO(data), "bench", compression):
        count += 1
    return count


def run(quick: bool) -> list[Result]:
    size = QUICK_SIZE if quick else FULL_SIZE
    repeats = 2 if quick else 3
    print(f"segments: generating {size:,} exchanges ...", file=sys.stderr, flush=True)
    exchanges = make_exchanges(size)
    mean_body = sum(e.response.body.size for e in exchanges if e.response) / size
    results: list[Result] = []
    for compression in Compression:
        case = f"{compression.value} n={size}"
        data, raw = encode(exchanges, compression)
        if decode(data, compression) != size:
            raise AssertionError(f"{compression.value}: decoding lost exchanges")
        enc = time_call(partial(encode, exchanges, compression), repeats).best
        dec = time_call(partial(decode, data, compression), repeats).best
        mb = raw / 1e6
        results += [
            Result("segments", case, "encode", size / enc, "exchanges/s"),
            Result("segments", case, "encode", mb / enc, "MB/s"),
            Result("segments", case, "decode", size / dec, "exchanges/s"),
            Result("segments", case, "decode", mb / dec, "MB/s"),
            Result("segments", case, "encode+decode", size / (enc + dec), "exchanges/s"),
            Result("segments", case, "compression ratio", raw / len(data), "x"),
            Result("segments", case, "record size (mean)", raw / size, "bytes"),
            Result("segments", case, "response body (mean)", mean_body, "bytes"),
        ]
    return results

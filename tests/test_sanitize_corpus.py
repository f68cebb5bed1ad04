"""The sanitiser's promise over a corpus: nothing planted reaches the store, in any encoding.

Secrets and personal data of every class are planted in every place a
request or response can hold them, and in the fields the record derives
(the endpoint, the correlation id). Each exchange goes through the
recorder's own `Preparer` (conversion, then sanitising), and the stored
bytes (`orjson.dumps(exchange.to_record())`) must hold none of the planted
values, nor their URL-, base64-, JSON-, entity- or percent-encoded forms,
not even inside a stored body once it is base64-decoded and decompressed.
With sanitising off, `parity scan` must flag every planted exchange, and
say nothing that gives a planted value away.

Each failure names the class, where it was planted, which encoded form
leaked and where in the record. The planted data is synthetic.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import random
import re
import subprocess
import sys
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlencode
from xml.sax.saxutils import escape, quoteattr

import h11
import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from parity.proxy.convert import BodyLimits, RawRequest, RawResponse, Snapshot
from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from parity.sanitize.scan import Suspect, suspects
from parity.store import open_store, write_exchanges
from parity.traffic.detectors import Finder, luhn_valid
from parity.traffic.exchange import Exchange
from parity.traffic.ids import CORRELATION_HEADERS
from recorder.prepare import Preparer
from recorder.sanitize import unsanitised

KEY = b"corpus-key"
HOST = "127.0.0.1"
PORT = 8000
HOST_HEADER = f"{HOST}:{PORT}"
T0 = 1795512464.0
#: Small, so that a compressed body passes the decoding limit cheaply.
LIMITS = BodyLimits(max_body=1 << 20, max_decoded=1 << 13)
PREPARERS = {
    keyed: Preparer(
        "corpus",
        LIMITS,
        correlation_names=CORRELATION_HEADERS,
        sanitizer=Sanitiser(Pseudonymiser(KEY if keyed else None)),
    )
    for keyed in (True, False)
}
RAW = Preparer("corpus", LIMITS, correlation_names=CORRELATION_HEADERS, sanitizer=unsanitised)

LOWER = "abcdefghijklmnopqrstuvwxyz"
ALPHANUMERIC = LOWER + LOWER.upper() + "0123456789"
#: Every failing (class, location) is expected to fail today: shrinking each of them would
#: cost minutes and the values are synthetic anyway, so failures are reported as drawn.
CORPUS = settings(
    max_examples=3,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
seeds = st.integers(0, 2**32 - 1)


# -- planted values -----------------------------------------------------------------------------


def _chars(rng: random.Random, alphabet: str, low: int, high: int | None = None) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high or low)))


def email(rng: random.Random) -> str:
    local = f"{_chars(rng, LOWER, 4, 8)}.{_chars(rng, LOWER, 4, 8)}"
    return f"{local}@{_chars(rng, LOWER, 4, 8)}.{rng.choice(['com', 'org', 'net', 'io'])}"


def phone_uk(rng: random.Random) -> str:
    return f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"


def phone_us(rng: random.Random) -> str:
    return f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"


def card(rng: random.Random) -> str:
    body = (rng.choice(["4", "51", "55", "6011"]) + _chars(rng, "0123456789", 15))[:15]
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(100, 900) if n != 666])
    return f"{area:03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"


def uk_ni(rng: random.Random) -> str:
    letters = "ABCEGHJKLMNPRSTWXYZ"
    return f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(0, 999999):06d}" + (
        rng.choice("ABCD")
    )


def ipv4(rng: random.Random) -> str:
    while True:  # public, outside the documentation ranges pseudonyms use, 11+ characters
        address = IPv4Address(rng.getrandbits(32))
        if address.is_global and all(int(octet) >= 10 for octet in str(address).split(".")):
            return str(address)


def ipv6(rng: random.Random) -> str:
    while True:
        address = IPv6Address((0x2A00 << 112) | rng.getrandbits(112))
        if address.is_global:
            return address.exploded


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(rng: random.Random) -> str:
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64url(orjson.dumps({"sub": _chars(rng, ALPHANUMERIC, 12), "iat": T0}))
    return f"{header}.{payload}.{_b64url(rng.randbytes(32))}"


def aws_key(rng: random.Random) -> str:
    return rng.choice(["AKIA", "ASIA"]) + _chars(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


def token(rng: random.Random) -> str:
    while True:
        value = _chars(rng, ALPHANUMERIC, 32, 48)
        if any(c.isdigit() for c in value) and value.lower() != value != value.upper():
            return value


def private_key(rng: random.Random) -> str:
    lines = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(3)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----"


def password(rng: random.Random) -> str:
    """Shorter than the detectors' tokens: only its field or header says it is a secret."""
    return _chars(rng, ALPHANUMERIC, 10, 14) + rng.choice("!#$%*.-_") + _chars(rng, "0123456789", 2)


GIVEN_NAMES = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Sarah",
]
SURNAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Thompson",
    "Harris",
]


def person(rng: random.Random) -> str:
    return f"{rng.choice(GIVEN_NAMES)} {rng.choice(SURNAMES)}"


#: The classes found by their value, wherever they are.
CLASSES: dict[str, Callable[[random.Random], str]] = {
    "email": email,
    "phone-uk": phone_uk,
    "phone-us": phone_us,
    "card": card,
    "ssn": ssn,
    "uk-ni": uk_ni,
    "ipv4": ipv4,
    "ipv6": ipv6,
    "jwt": jwt,
    "aws-key": aws_key,
    "token": token,
    "private-key": private_key,
}


# -- encoded forms ------------------------------------------------------------------------------


def entities(value: str, keep: str = "") -> str:
    """`value` with each non-alphanumeric character (but those in `keep`) as ``&#NN;``."""
    return "".join(c if c.isalnum() or c in keep else f"&#{ord(c)};" for c in value)


def percents(value: str) -> str:
    """`value` with each non-alphanumeric character percent-encoded."""
    return "".join(c if c.isalnum() else f"%{ord(c):02X}" for c in value)


def forms(value: str) -> dict[str, str]:
    """How `value` could be written in the stored bytes, by name; forms under 6 characters
    would match by chance and are left out."""
    escaped = json.dumps(value)[1:-1]
    b64 = base64.b64encode(value.encode()).decode()
    url = base64.urlsafe_b64encode(value.encode()).decode()
    candidates = {
        "as planted": value,
        "JSON-escaped": escaped,
        "JSON-escaped twice": json.dumps(escaped)[1:-1],
        "percent-encoded (quote)": quote(value, safe=""),
        "form-encoded (quote_plus)": quote_plus(value),
        "base64": b64,
        "base64 unpadded": b64.rstrip("="),
        "urlsafe base64": url,
        "urlsafe base64 unpadded": url.rstrip("="),
        "HTML entities (reserved characters)": entities(value, keep="-._~"),
        "HTML entities (every non-alphanumeric)": entities(value),
        "percent-encoded (every non-alphanumeric)": percents(value),
    }
    found: dict[str, str] = {}
    for name, form in candidates.items():
        if len(form) >= 6 and form not in found.values():
            found[name] = form
    return found


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")


def _unbase64(run: str) -> bytes | None:
    padded = run.rstrip("=") + "=" * (-len(run.rstrip("=")) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            return decode(padded)
        except (binascii.Error, ValueError):
            continue
    return None


def _inflated(data: bytes) -> bytes | None:
    try:
        return zlib.decompressobj(32 + zlib.MAX_WBITS).decompress(data)  # gzip or zlib
    except zlib.error:
        return None


def views(record: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """What the stored record says, read every way an attacker would: its bytes; each body
    base64-decoded, then decompressed; each base64-looking run decoded."""
    text = orjson.dumps(record).decode()
    yield "the stored record", text
    for side in ("request", "response"):
        message = record.get(side)
        if not message:
            continue
        body = message["body"]
        if "base64" in body:
            raw = base64.b64decode(body["base64"])
            yield f"{side}.body base64-decoded", raw.decode("latin-1")
        else:  # a JSON body's strings are escaped once less here than in the record
            raw = body["text"].encode()
            yield f"{side}.body text", body["text"]
        inflated = _inflated(raw)
        if inflated is not None:
            yield f"{side}.body decompressed", inflated.decode("latin-1")
    for match in _BASE64_RUN.finditer(text):
        decoded = _unbase64(match.group())
        if decoded:
            yield f"base64 run {match.group()[:16]}... decoded", decoded.decode("latin-1")


def locate(record: Any, form: str) -> list[str]:
    """The fields of the record whose text holds `form`."""
    paths, stack = [], [("", record)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if form in key:
                    paths.append(f"{path}.{key} (the key)".lstrip("."))
                stack.append((f"{path}.{key}".lstrip("."), item))
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, str) and (form in value or form in json.dumps(value)):
            paths.append(path)
    return sorted(paths) or ["(only in the encoded bytes)"]


# -- building snapshots -------------------------------------------------------------------------


def request(method: str, target: str, headers=(), body: bytes = b"") -> RawRequest:
    fields = [(b"Host", HOST_HEADER.encode())]
    fields += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    if body:
        fields.append((b"Content-Length", str(len(body)).encode()))
    return RawRequest(
        method.encode(),
        b"http",
        HOST,
        PORT,
        target.encode("latin-1"),
        b"HTTP/1.1",
        tuple(fields),
        body,
        T0,
        T0 + 0.01,
    )


def response(headers=(), body: bytes = b'{"ok":true}', status: int = 200) -> RawResponse:
    fields = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    if not headers:
        fields.append((b"Content-Type", b"application/json"))
    fields.append((b"Content-Length", str(len(body)).encode()))
    return RawResponse(status, b"OK", b"HTTP/1.1", tuple(fields), body, T0 + 0.01, T0 + 0.02)


def snap(req: RawRequest, resp: RawResponse | None = None) -> Snapshot:
    return Snapshot(req, resp or response(), None)


def post(target: str, content_type: str, body: bytes, headers=()) -> Snapshot:
    return snap(request("POST", target, [("Content-Type", content_type), *headers], body))


def get(target: str, headers=()) -> Snapshot:
    return snap(request("GET", target, headers))


def post_json(target: str, document: Any) -> Snapshot:
    return post(target, "application/json", orjson.dumps(document))


BOUNDARY = "----parity-corpus-7f3a9c"


def multipart(*parts: tuple[str, str | None, str | None, str]) -> Snapshot:
    """A multipart/form-data request of (field, filename, content type, content) parts."""
    chunks = []
    for name, filename, content_type, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        head += f"Content-Type: {content_type}\r\n" if content_type else ""
        chunks.append(f"{head}\r\n{content}\r\n")
    body = ("".join(chunks) + f"--{BOUNDARY}--\r\n").encode()
    return post("/api/upload", f"multipart/form-data; boundary={BOUNDARY}", body)


def deep(leaf: Any, depth: int = 20) -> Any:
    document = leaf
    for level in range(depth):
        document = {"data": [{"level": level, "child": document}]}
    return document


def padded_gzip(document: Any) -> bytes:
    """`document` as gzipped JSON that decodes to more than `LIMITS.max_decoded` bytes."""
    padding = "lorem ipsum dolor sit amet " * (LIMITS.max_decoded // 20)
    data = orjson.dumps({"padding": padding, **document})
    assert len(data) > LIMITS.max_decoded
    return gzip.compress(data, mtime=0)


GZIP_HEADERS = [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
_TCHAR = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def header_name(value: str) -> str:
    name = f"X-Trace-{value}"
    assert _TCHAR.fullmatch(name), "a header name can hold token characters only"
    return name


#: Where a value found by its shape can be planted: each a function of the value.
LOCATIONS: dict[str, Callable[[str], Snapshot]] = {
    "header value": lambda v: get("/api/orders", [("X-Customer-Note", f"re {v} ok")]),
    "header name": lambda v: get("/api/orders", [(header_name(v), "1")]),
    "correlation id (X-Request-ID)": lambda v: get("/api/orders", [("X-Request-ID", v)]),
    "query value": lambda v: get("/api/search?" + urlencode([("q", v), ("page", "2")])),
    "query name": lambda v: get("/api/search?" + urlencode([(v, "1"), ("page", "2")])),
    "path segment and endpoint": lambda v: get(f"/users/{quote(v, safe='')}/profile"),
    "cookie": lambda v: get("/api/orders", [("Cookie", f"theme=dark; ref={quote(v, safe='')}")]),
    "form field": lambda v: post(
        "/api/contact",
        "application/x-www-form-urlencoded",
        urlencode([("comment", f"re {v}"), ("n", "1")]).encode(),
    ),
    "multipart field": lambda v: multipart(
        ("comment", None, None, f"re {v}"), ("n", None, None, "1")
    ),
    "multipart text/plain file": lambda v: multipart(
        ("attachment", "note.txt", "text/plain", f"Contact:\n{v}\n")
    ),
    "JSON string at depth 20": lambda v: post_json("/api/notes", deep({"note": f"re {v} ok"})),
    "JSON key at depth 20": lambda v: post_json("/api/notes", deep({"by": {v: {"n": 1}}})),
    "JSON first of duplicate keys": lambda v: post(
        "/api/notes",
        "application/json",
        b'{"id":7,"note":"' + json.dumps(v)[1:-1].encode() + b'","note":"ok"}',
    ),
    "XML text": lambda v: post(
        "/api/notes",
        "application/xml",
        f"<note><to>team</to><body>{escape(v)}</body></note>".encode(),
    ),
    "XML attribute": lambda v: post(
        "/api/notes", "application/xml", f"<note ref={quoteattr(v)}><body>hi</body></note>".encode()
    ),
    "NDJSON line": lambda v: post(
        "/api/events",
        "application/x-ndjson",
        b"\n".join(orjson.dumps(line) for line in ({"n": 1}, {"n": 2, "note": v}, {"n": 3}))
        + b"\n",
    ),
    "GraphQL variables": lambda v: post_json(
        "/graphql",
        {
            "query": "mutation Note($input: NoteInput!) { addNote(input: $input) { id } }",
            "variables": {"input": {"comment": v, "pinned": True}},
        },
    ),
    "GraphQL string literal": lambda v: post_json(
        "/graphql", {"query": f"mutation {{ addNote(text: {json.dumps(v)}) {{ id }} }}"}
    ),
    "text/plain": lambda v: post(
        "/api/notes", "text/plain", f"Dear team,\nplease contact {v} today.\n".encode()
    ),
    "text/html with entities": lambda v: post(
        "/api/notes", "text/html", f"<p>Contact: {entities(v, keep='-._~')}</p>".encode()
    ),
    "text/plain percent-encoded": lambda v: post(
        "/api/notes", "text/plain", f"see ref={quote(v, safe='')} sent\n".encode()
    ),
    "gzip body over the limit": lambda v: post(
        "/api/notes", "application/json", padded_gzip({"note": v}), GZIP_HEADERS[1:]
    ),
    "unknown content coding": lambda v: post(
        "/api/notes",
        "application/json",
        gzip.compress(orjson.dumps({"note": v}), mtime=0),
        [("Content-Encoding", "x-custom")],
    ),
    "response header": lambda v: snap(
        request("GET", "/api/me"),
        response([("Content-Type", "application/json"), ("X-Debug-Owner", v)]),
    ),
    "response Set-Cookie": lambda v: snap(
        request("GET", "/api/me"),
        response(
            [("Content-Type", "application/json"), ("Set-Cookie", f"r={quote(v, safe='')}; Path=/")]
        ),
    ),
    "response JSON at depth 20": lambda v: snap(
        request("GET", "/api/me"),
        response([("Content-Type", "application/json")], orjson.dumps(deep({"owner": f"by {v}"}))),
    ),
    "response text/html with entities": lambda v: snap(
        request("GET", "/api/me"),
        response([("Content-Type", "text/html")], f"<p>{entities(v, keep='-._~')}</p>".encode()),
    ),
    "response gzip body over the limit": lambda v: snap(
        request("GET", "/api/me"), response(GZIP_HEADERS, padded_gzip({"owner": v}))
    ),
}


def fits(cls: str, location: str) -> bool:
    """Whether HTTP can carry a value of `cls` at `location` as it is."""
    if location == "header name":
        return cls in ("card", "ssn", "uk-ni", "ipv4", "jwt", "aws-key", "token")
    if cls == "private-key":  # no line breaks in headers; attributes normalise them
        return location not in (
            "header value",
            "correlation id (X-Request-ID)",
            "response header",
            "XML attribute",
        )
    return True


TABLE = [(cls, where) for cls in CLASSES for where in LOCATIONS if fits(cls, where)]


# -- plants: what was planted, and how to tell it is gone ---------------------------------------


@dataclass(frozen=True)
class Plant:
    """One exchange with planted values: `secrets` must vanish from the stored bytes in every
    form; `located` values (too short to look for anywhere) must leave their place."""

    label: str
    snapshot: Snapshot
    secrets: tuple[str, ...] = ()
    located: tuple[tuple[str, Callable[[Exchange], Any], str], ...] = ()


def plant(cls: str, location: str, value: str) -> Plant:
    return Plant(f"{cls} in {location}", LOCATIONS[location](value), (value,))


def json_field(key: str) -> Callable[[Exchange], Any]:
    def at(exchange: Exchange) -> Any:
        try:
            return orjson.loads(exchange.request.body.content).get(key)
        except (orjson.JSONDecodeError, AttributeError):
            return None

    return at


def headers_plant(name: str, value: str, *hidden: str) -> Plant:
    return Plant(f"header {name}", get("/api/me", [(name, value)]), (value, *hidden))


def form_plant(field: str, secret: str) -> Plant:
    body = urlencode([("login", "jo"), (field, secret), ("remember", "1")]).encode()
    return Plant(
        f"form field {field}", post("/login", "application/x-www-form-urlencoded", body), (secret,)
    )


def json_plant(key: str, value: str, *, short: bool = False) -> Plant:
    snapshot = post_json("/api/account", {"id": 7, key: value, "plan": "basic"})
    if short:
        return Plant(f"JSON key {key}", snapshot, (), ((f"$.{key}", json_field(key), value),))
    return Plant(f"JSON key {key}", snapshot, (value,))


def basic(rng: random.Random) -> Plant:
    secret = password(rng)
    credential = base64.b64encode(f"{_chars(rng, LOWER, 6, 10)}:{secret}".encode()).decode()
    return headers_plant("X-Forwarded-Authorization", f"Basic {credential}", credential, secret)


def user_context(rng: random.Random) -> Plant:
    address = email(rng)
    blob = base64.b64encode(orjson.dumps({"email": address})).decode()
    return headers_plant("X-User-Context", blob, address)


def xml_plant(label: str, body: str, *secrets: str) -> Plant:
    return Plant(label, post("/api/users", "application/xml", body.encode()), secrets)


def soap(rng: random.Random) -> Plant:
    secret = password(rng)
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-wssecurity-secext-1.0.xsd">'
        "<soapenv:Header><wsse:Security><wsse:UsernameToken>"
        "<wsse:Username>svc-orders</wsse:Username>"
        f'<wsse:Password Type="#PasswordText">{escape(secret)}</wsse:Password>'
        "</wsse:UsernameToken></wsse:Security></soapenv:Header>"
        "<soapenv:Body><GetOrder><id>42</id></GetOrder></soapenv:Body></soapenv:Envelope>"
    )
    snapshot = post(
        "/soap/orders", "text/xml; charset=utf-8", envelope.encode(), [("SOAPAction", '"GetOrder"')]
    )
    return Plant("SOAP wsse:Password", snapshot, (secret,))


def ndjson(rng: random.Random) -> Plant:
    secret = password(rng)
    lines = [{"op": "start"}, {"op": "login", "user": "jo", "password": secret}, {"op": "end"}]
    body = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
    return Plant("NDJSON password", post("/api/batch", "application/x-ndjson", body), (secret,))


def graphql_variable(rng: random.Random) -> Plant:
    secret = password(rng)
    document = {
        "query": "mutation Change($input: PasswordInput!) { changePassword(input: $input) { ok } }",
        "variables": {"input": {"userId": "u-1", "newPassword": secret}},
    }
    return Plant("GraphQL variables.input.newPassword", post_json("/graphql", document), (secret,))


def graphql_literal(rng: random.Random) -> Plant:
    secret = password(rng)
    query = f'mutation {{ login(user: "x", password: {json.dumps(secret)}) {{ token }} }}'
    return Plant("GraphQL literal password:", post_json("/graphql", {"query": query}), (secret,))


def query_plant(name: str, value: str) -> Plant:
    target = "/callback?" + urlencode([("state", "s1"), (name, value)])
    return Plant(f"query parameter {name}", get(target), (value,))


#: Classes only their field, header or place says are sensitive; each a function of a Random.
NAMED: dict[str, Callable[[random.Random], Plant]] = {
    "X-Session-Token": lambda r: headers_plant("X-Session-Token", _chars(r, ALPHANUMERIC, 24)),
    "X-Client-Secret": lambda r: headers_plant("X-Client-Secret", _chars(r, ALPHANUMERIC, 28)),
    "Private-Token glpat-": lambda r: headers_plant(
        "Private-Token", "glpat-" + _chars(r, ALPHANUMERIC + "-_", 20)
    ),
    "X-Shopify-Access-Token shpat_": lambda r: headers_plant(
        "X-Shopify-Access-Token", "shpat_" + r.randbytes(16).hex()
    ),
    "X-Refresh-Token UUID": lambda r: headers_plant(
        "X-Refresh-Token", str(uuid.UUID(int=r.getrandbits(128), version=4))
    ),
    "X-Forwarded-Authorization Basic": basic,
    "X-User-Context base64 JSON": user_context,
    "form new_password": lambda r: form_plant("new_password", password(r)),
    "form pass": lambda r: form_plant("pass", password(r)),
    "form user[password]": lambda r: form_plant("user[password]", password(r)),
    "form password_confirmation": lambda r: form_plant("password_confirmation", password(r)),
    "JSON newPassword": lambda r: json_plant("newPassword", password(r)),
    "JSON card_cvv": lambda r: json_plant("card_cvv", f"{r.randint(100, 999)}", short=True),
    "JSON otp_code": lambda r: json_plant("otp_code", f"{r.randint(0, 999999):06d}", short=True),
    "JSON customer_name": lambda r: json_plant("customer_name", person(r)),
    "JSON mobile_phone": lambda r: json_plant("mobile_phone", f"07{r.randint(0, 10**9 - 1):09d}"),
    "GraphQL variables.input.newPassword": graphql_variable,
    "GraphQL literal password": graphql_literal,
    "multipart password field": lambda r: (
        lambda s: Plant(
            "multipart field password",
            multipart(("login", None, None, "jo"), ("password", None, None, s)),
            (s,),
        )
    )(password(r)),
    "multipart note field with email": lambda r: (
        lambda s: Plant("multipart field note", multipart(("note", None, None, f"mail {s}")), (s,))
    )(email(r)),
    "multipart text/plain file with email": lambda r: (
        lambda s: Plant(
            "multipart text/plain file",
            multipart(("file", "contacts.txt", "text/plain", f"{s}\n")),
            (s,),
        )
    )(email(r)),
    "multipart application/json file with customer_name": lambda r: (
        lambda s: Plant(
            "multipart application/json file",
            multipart(("file", "c.json", "application/json", json.dumps({"customer_name": s}))),
            (s,),
        )
    )(person(r)),
    "XML <password>": lambda r: (
        lambda s: xml_plant(
            "XML <password>", f"<login><user>jo</user><password>{escape(s)}</password></login>", s
        )
    )(password(r)),
    "XML <fullName>": lambda r: (
        lambda s: xml_plant("XML <fullName>", f"<user><id>7</id><fullName>{s}</fullName></user>", s)
    )(person(r)),
    "XML attribute email=": lambda r: (
        lambda s: xml_plant(
            "XML <user email=...>", f'<users><user id="7" email={quoteattr(s)}/></users>', s
        )
    )(email(r)),
    "NDJSON password": ndjson,
    "query X-Amz-Signature": lambda r: query_plant("X-Amz-Signature", r.randbytes(32).hex()),
    "query sig": lambda r: query_plant("sig", _b64url(r.randbytes(32))),
    "query OAuth code": lambda r: query_plant("code", _chars(r, ALPHANUMERIC, 24)),
    "name in text/plain": lambda r: (
        lambda s: Plant(
            "person's name in text/plain",
            post("/api/notes", "text/plain", f"Spoke to {s} about the refund.\n".encode()),
            (s,),
        )
    )(person(r)),
    "name in JSON notes": lambda r: (
        lambda s: Plant(
            "person's name in JSON notes",
            post_json("/api/tickets", {"id": 7, "notes": f"Spoke to {s} about the refund."}),
            (s,),
        )
    )(person(r)),
}


def duplicate(rng: random.Random) -> Plant:
    secret = password(rng)
    body = b'{"user":"jo","password":"' + json.dumps(secret)[1:-1].encode() + b'","password":"x"}'
    return Plant(
        "first of duplicate JSON keys", post("/login", "application/json", body), (secret,)
    )


def deeper_than_the_parser(rng: random.Random, *, with_email: bool = True) -> Plant:
    secret, address = password(rng), email(rng)
    leaf = {"password": secret, "email": address} if with_email else {"password": secret}
    body = b'{"a":' * 1100 + orjson.dumps(leaf) + b"}" * 1100
    with pytest.raises(orjson.JSONDecodeError):  # the point: deeper than orjson reads
        orjson.loads(body)
    snapshot = post("/api/import", "application/json", body)
    return Plant("JSON 1100 levels deep", snapshot, tuple(leaf.values()))


# An email in a compressed body is in LOCATIONS; here, what only its field names.
def gzip_over_limit(rng: random.Random) -> Plant:
    secret = password(rng)
    body = padded_gzip({"user": "jo", "password": secret})
    snapshot = post("/api/import", "application/json", body, GZIP_HEADERS[1:])
    return Plant("gzip body over the decoding limit", snapshot, (secret,))


def unknown_coding(rng: random.Random) -> Plant:
    secret = password(rng)
    body = gzip.compress(orjson.dumps({"user": "jo", "password": secret}), mtime=0)
    snapshot = post("/api/import", "application/json", body, [("Content-Encoding", "x-custom")])
    return Plant("Content-Encoding: x-custom (gzip inside)", snapshot, (secret,))


def endpoint_email(rng: random.Random) -> Plant:
    address = email(rng)
    return Plant(
        "endpoint of GET /users/<email>/profile",
        get(f"/users/{quote(address, safe='')}/profile"),
        (address,),
    )


def endpoint_ssn(rng: random.Random) -> Plant:
    number = ssn(rng)
    return Plant("endpoint of GET /lookup/<ssn>", get(f"/lookup/{number}"), (number,))


def correlation(rng: random.Random) -> Plant:
    address = email(rng)
    return Plant(
        "correlation_id from X-Request-ID", get("/api/me", [("X-Request-ID", address)]), (address,)
    )


def email_query_name(rng: random.Random) -> Plant:
    address = email(rng)
    return Plant(
        "query parameter named by an email",
        get(f"/api/flags?{quote(address, safe='@')}=1"),
        (address,),
    )


#: Fixed-shape classes, tested on examples so that a failure reads plainly.
SHAPED: dict[str, Callable[[random.Random], Plant]] = {
    "SOAP wsse:Password": soap,
    "duplicate JSON keys": duplicate,
    "JSON deeper than the parser": deeper_than_the_parser,
    # One value planted, so the scan must flag the password itself, not only the email.
    "JSON deeper than the parser, password only": lambda r: deeper_than_the_parser(
        r, with_email=False
    ),
    "gzip over the limit": gzip_over_limit,
    "unknown content coding": unknown_coding,
    "endpoint with an email": endpoint_email,
    "endpoint with an SSN": endpoint_ssn,
    "correlation id": correlation,
    "query name that is an email": email_query_name,
}


# -- the checks ---------------------------------------------------------------------------------


def fail(lines: list[str]) -> None:
    """Fail with `lines` only: they name the class, the place, the form and the field, and
    pytest's tracebacks of hundreds of failing examples would take a minute to print."""
    if lines:
        pytest.fail("\n".join(lines), pytrace=False)


def leaks(planted: Plant, exchange: Exchange) -> list[str]:
    """Each planted value that is still in the stored record: which form, and where."""
    record = exchange.to_record()
    seen = list(views(record))
    found = []
    for secret in planted.secrets:
        for name, form in forms(secret).items():
            where = next((where for where, text in seen if form in text), None)
            if where is not None:
                fields = ", ".join(locate(record, form)) if where == "the stored record" else ""
                found.append(
                    f"{planted.label}: {secret!r} leaked, {name} ({form!r}), in "
                    f"{where}" + (f": {fields}" if fields else "")
                )
    for where, at, value in planted.located:
        if at(exchange) == value:
            found.append(f"{planted.label}: {value!r} is still at {where}")
    return found


def assert_planted(planted: Plant, raw: Exchange) -> None:
    """The corpus itself is right: what it plants is in the unsanitised record."""
    seen = [text for _, text in views(raw.to_record())]
    for secret in planted.secrets:
        assert any(form in text for form in forms(secret).values() for text in seen), (
            f"test bug: {planted.label}: {secret!r} is not in the unsanitised record"
        )
    for where, at, value in planted.located:
        assert at(raw) == value, f"test bug: {planted.label}: {value!r} is not at {where}"


def check_stored(planted: Plant, keyed: bool, example: str = "") -> None:
    raw = RAW(planted.snapshot)
    assert_planted(planted, raw)
    found = leaks(planted, PREPARERS[keyed](planted.snapshot))
    key = "with a key" if keyed else "without a key"
    fail([f"sanitised {key}{example}, still stored:", *found] if found else [])


def scaffolding(suspect: Suspect) -> bool:
    """What every corpus exchange holds: the Host header, the service's loopback address."""
    return suspect.where == "request header Host"


def check_scan(planted: Plant, example: str = "") -> None:
    raw = RAW(planted.snapshot)
    assert_planted(planted, raw)
    found = list(suspects(raw, Finder()))
    said = [suspect.describe() for suspect in found]
    if all(scaffolding(suspect) for suspect in found):
        fail([f"{planted.label}{example}: parity scan finds nothing in the unsanitised exchange"])
    told = [
        f"{planted.label}{example}: scan output gives {secret!r} away ({name} {form!r}) in {line!r}"
        for secret in planted.secrets
        for name, form in forms(secret).items()
        for line in said
        if form in line
    ]
    fail(told)


def check_valid_http(planted: Plant, keyed: bool, example: str = "") -> None:
    """The stored request can still be sent: a valid HTTP/1.1 request to the same host."""
    sent = PREPARERS[keyed](planted.snapshot).request
    key = "with a key" if keyed else "without a key"
    problems = []
    if not sent.path.startswith("/"):
        problems.append(f"{planted.label}: the stored path {sent.path!r} does not start with /")
    try:
        h11.Request(
            method=sent.method, target=sent.target, headers=list(sent.headers), http_version="1.1"
        )
    except (h11.LocalProtocolError, UnicodeError) as exc:
        problems.append(
            f"{planted.label}: h11 refuses the stored request ({exc}): target "
            f"{sent.target!r}, headers {list(sent.headers)!r}"
        )
    if sent.host != HOST:
        problems.append(f"{planted.label}: the request host became {sent.host!r}")
    if sent.headers.get_all("host") != [HOST_HEADER]:
        problems.append(
            f"{planted.label}: the Host header {HOST_HEADER!r} became "
            f"{sent.headers.get_all('host')!r}"
        )
    fail([f"sanitised {key}{example}:", *problems] if problems else [])


def inherent(suspect: Suspect) -> bool:
    """What a place is flagged for whatever it holds: a cookie is a credential by its name,
    and a body that cannot be read (compressed past the limit, an unknown coding) cannot be
    shown to hold nothing, so the sanitiser drops it."""
    return suspect.kind == "cookie" or suspect.kind == "unreadable body"


@pytest.mark.parametrize("location", list(LOCATIONS))
def test_the_corpus_alone_gives_the_scan_nothing_to_find(location) -> None:
    """So that what the scan finds in a planted exchange is the planted value."""
    found = list(suspects(RAW(LOCATIONS[location]("harmless")), Finder()))
    assert [s.describe() for s in found if not (scaffolding(s) or inherent(s))] == []


# -- value classes in every place ---------------------------------------------------------------


def drawn(cls: str, location: str, seed: int) -> Plant:
    return plant(cls, location, CLASSES[cls](random.Random(seed)))


TABLE_IDS = [f"{cls}-in-{where}".replace(" ", "-") for cls, where in TABLE]


@pytest.mark.parametrize(("cls", "location"), TABLE, ids=TABLE_IDS)
@CORPUS
@given(seed=seeds, keyed=st.booleans())
def test_no_planted_value_is_stored_in_any_form(cls, location, seed, keyed) -> None:
    check_stored(drawn(cls, location, seed), keyed, f" (seed {seed})")


@pytest.mark.parametrize(("cls", "location"), TABLE, ids=TABLE_IDS)
@CORPUS
@given(seed=seeds)
def test_scan_flags_each_planted_value_and_gives_none_away(cls, location, seed) -> None:
    check_scan(drawn(cls, location, seed), f" (seed {seed})")


@pytest.mark.parametrize(("cls", "location"), TABLE, ids=TABLE_IDS)
@CORPUS
@given(seed=seeds, keyed=st.booleans())
def test_sanitised_requests_stay_valid_http(cls, location, seed, keyed) -> None:
    check_valid_http(drawn(cls, location, seed), keyed, f" (seed {seed})")


# -- classes only their name or place says are sensitive ----------------------------------------


@pytest.mark.parametrize("case", list(NAMED))
@CORPUS
@given(seed=seeds, keyed=st.booleans())
def test_named_secrets_and_personal_data_are_not_stored(case, seed, keyed) -> None:
    check_stored(NAMED[case](random.Random(seed)), keyed, f" (seed {seed})")


@pytest.mark.parametrize("case", list(NAMED))
@CORPUS
@given(seed=seeds)
def test_scan_flags_named_secrets_and_personal_data(case, seed) -> None:
    check_scan(NAMED[case](random.Random(seed)), f" (seed {seed})")


@pytest.mark.parametrize("case", list(NAMED))
@CORPUS
@given(seed=seeds, keyed=st.booleans())
def test_requests_with_named_values_stay_valid_http(case, seed, keyed) -> None:
    check_valid_http(NAMED[case](random.Random(seed)), keyed, f" (seed {seed})")


# -- fixed shapes, on examples ------------------------------------------------------------------


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "unkeyed"])
@pytest.mark.parametrize("case", list(SHAPED))
def test_fixed_shapes_are_not_stored(case, keyed) -> None:
    check_stored(SHAPED[case](random.Random(1)), keyed)


@pytest.mark.parametrize("case", list(SHAPED))
def test_scan_flags_fixed_shapes(case) -> None:
    check_scan(SHAPED[case](random.Random(1)))


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "unkeyed"])
@pytest.mark.parametrize("case", list(SHAPED))
def test_fixed_shapes_stay_valid_http(case, keyed) -> None:
    check_valid_http(SHAPED[case](random.Random(1)), keyed)


# -- the real command ---------------------------------------------------------------------------


def test_parity_scan_over_an_unsanitised_store_finds_and_does_not_tell(tmp_path: Path) -> None:
    rng = random.Random(7)
    planted = [plant(cls, where, CLASSES[cls](rng)) for cls, where in TABLE]
    planted += [make(rng) for make in (*NAMED.values(), *SHAPED.values())]
    store = tmp_path / "store"
    write_exchanges(open_store(str(store)), [RAW(p.snapshot) for p in planted], "corpus")
    # --show: every finding is listed, so every line the command can print is checked.
    result = subprocess.run(
        [sys.executable, "-m", "parity.cli", "scan", str(store), "--show", "100000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-2000:]
    told = sorted(
        {
            f"{p.label}: {secret!r} ({name} {form!r})"
            for p in planted
            for secret in p.secrets
            for name, form in forms(secret).items()
            if form in output
        }
    )
    fail(["parity scan's output gives planted values away:", *told] if told else [])

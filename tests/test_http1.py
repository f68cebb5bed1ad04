"""The URL targets' HTTP/1.1 client against a scripted server on loopback: framing, reuse, faults."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import certifi
import h11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from parity.net.http1 import Answer, ConnectionClosed, InvalidAnswer, Pool
from parity.traffic.exchange import Request
from replayer.target import open_target

#: Answers the scripted server gives, by request path.
Script = Callable[[bytes], bytes | None]

#: Ends an answer after which the scripted server closes the connection.
CLOSE = b"<close>"


class Server:
    """An asyncio server on 127.0.0.1 answering each request with `script(path)`.

    None from the script closes the connection without answering, an answer
    ending in CLOSE closes it after answering. Every request
    is kept as (connection number, request head), so tests can see reuse.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[tuple[int, bytes]] = []
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.seen.append((number, head))
                answer = self.script(head.split(b" ")[1])
                if answer is None:
                    break
                writer.write(answer.removesuffix(CLOSE))
                await writer.drain()
                if answer.endswith(CLOSE):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


def ok(body: bytes = b"hello", *extra: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body) + b"".join(extra)
    return head + b"\r\n" + body


def run(script: Script, go: Callable[[Pool, Server], Awaitable[object]]) -> object:
    async def main() -> object:
        server = Server(script)
        await server.start()
        pool = Pool("127.0.0.1", server.port, size=2)
        try:
            return await go(pool, server)
        finally:
            await pool.aclose()
            await server.stop()

    return asyncio.run(main())


async def get(pool: Pool, path: bytes = b"/", method: bytes = b"GET") -> Answer:
    return await pool.request(method, path, [(b"Host", b"test")], b"")


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (ok(b"plain"), b"plain"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n",
            b"abcdefg",
        ),
        (b"HTTP/1.0 200 OK\r\n\r\nuntil the end" + CLOSE, b"until the end"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"after 1xx"), b"after 1xx"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", b""),
    ],
    ids=["content-length", "chunked", "close-delimited", "informational", "204", "304"],
)
def test_every_framing_gives_the_whole_body(raw, body) -> None:
    answer = run(lambda path: raw, lambda pool, server: get(pool))
    assert isinstance(answer, Answer)
    assert answer.body == body
    assert answer.first_byte <= answer.last_byte


def test_a_head_answer_has_no_body_whatever_its_content_length_says() -> None:
    async def go(pool: Pool, server: Server) -> tuple[bytes, bytes, int]:
        first = await get(pool, b"/head", method=b"HEAD")
        second = await get(pool)  # the same connection, still in step
        return first.body, second.body, server.connections

    def script(path: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" if path == b"/head" else ok()

    assert run(script, go) == (b"", b"hello", 1)


def test_headers_keep_their_case_order_and_repeats() -> None:
    raw = ok(b"x", b"X-Custom: a\r\n", b"set-cookie: 1\r\n", b"Set-Cookie: 2\r\n")
    answer = run(lambda path: raw, lambda pool, server: get(pool))
    assert isinstance(answer, Answer)
    assert answer.headers == [
        (b"Content-Length", b"1"),
        (b"X-Custom", b"a"),
        (b"set-cookie", b"1"),
        (b"Set-Cookie", b"2"),
    ]
    assert (answer.status, answer.reason, answer.http_version) == (200, b"OK", b"1.1")


def test_connections_are_reused_and_bounded() -> None:
    async def go(pool: Pool, server: Server) -> int:
        for _ in range(3):
            await asyncio.gather(*(get(pool, b"/%d" % i) for i in range(4)))
        return server.connections

    # Four at once need four connections; two are kept, so each round opens two more.
    assert run(lambda path: ok(), go) == 2 + 2 + 2 + 2


def test_an_answer_that_closes_the_connection_is_not_reused() -> None:
    async def go(pool: Pool, server: Server) -> int:
        for _ in range(3):
            assert (await get(pool)).body == b"hello"
        return server.connections

    assert run(lambda path: ok(b"hello", b"Connection: close\r\n") + CLOSE, go) == 3


def test_a_stale_keep_alive_connection_is_retried_once_for_idempotent_methods() -> None:
    calls: list[bytes] = []

    def script(path: bytes) -> bytes | None:
        calls.append(path)
        # The first connection answers once, then closes as a server timing out idle
        # keep-alive connections would, after it has read the next request.
        return ok() if len(calls) != 2 else None

    async def go(pool: Pool, server: Server) -> tuple[bytes, int]:
        await get(pool)
        answer = await get(pool)
        return answer.body, server.connections

    assert run(script, go) == (b"hello", 2)


def test_a_stale_connection_is_not_retried_for_a_post() -> None:
    calls: list[bytes] = []

    def script(path: bytes) -> bytes | None:
        calls.append(path)
        return ok() if len(calls) != 2 else None

    async def go(pool: Pool, server: Server) -> str:
        await get(pool)
        try:
            await get(pool, method=b"POST")
        except ConnectionClosed as exc:
            return str(exc)
        return "answered"

    assert run(script, go) == "end of stream before it"
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("raw", "kind", "message"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort" + CLOSE, ConnectionClosed, "middle"),
        (b"SMTP ready\r\n\r\n", InvalidAnswer, ""),
        (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", InvalidAnswer, ""),
    ],
    ids=["cut-short", "not-http", "bad-header"],
)
def test_broken_answers_raise_a_named_error(raw, kind, message) -> None:
    async def go(pool: Pool, server: Server) -> Exception:
        with pytest.raises(kind) as caught:
            await get(pool)
        return caught.value

    error = run(lambda path: raw, go)
    assert message in str(error)


def test_an_unsendable_request_is_refused_before_anything_is_sent() -> None:
    async def go(pool: Pool, server: Server) -> int:
        with pytest.raises(h11.LocalProtocolError):
            await pool.request(b"GET", b"/", [(b"Host", b"t"), (b"Bad Name", b"v")], b"")
        return len(server.seen)

    assert run(lambda path: ok(), go) == 0


# -- through open_target: decoding, limits, TLS ------------------------------------------------


def request_for(path: str) -> Request:
    return Request("GET", "http", "monolith.test", 80, path)


def target_answer(script: Script, path: str, **options: object) -> object:
    async def main() -> object:
        server = Server(script)
        await server.start()
        target = open_target(f"http://127.0.0.1:{server.port}", **options)  # type: ignore[arg-type]
        try:
            return await target.send("k", request_for(path))
        finally:
            await target.aclose()
            await server.stop()

    return asyncio.run(main())


def test_a_gzip_answer_is_decoded_and_loses_its_content_encoding() -> None:
    raw = ok(gzip.compress(b'{"a": 1}'), b"Content-Encoding: gzip\r\n")
    outcome = target_answer(lambda path: raw, "/")
    assert outcome.error is None  # type: ignore[attr-defined]
    response = outcome.response  # type: ignore[attr-defined]
    assert response.body.content == b'{"a": 1}'
    assert "content-encoding" not in response.headers
    assert response.http_version == "HTTP/1.1"


def test_a_corrupt_encoded_answer_is_one_sentence() -> None:
    raw = ok(b"not gzip", b"Content-Encoding: gzip\r\n")
    outcome = target_answer(lambda path: raw, "/")
    assert outcome.response is None  # type: ignore[attr-defined]
    assert outcome.error.startswith(  # type: ignore[attr-defined]
        "the answer's body could not be decoded (body is not valid gzip"
    )


def test_a_compression_bomb_is_stopped(monkeypatch) -> None:
    monkeypatch.setattr("replayer.wire.MAX_DECODED", 1 << 20)
    raw = ok(gzip.compress(b"\0" * (4 << 20)), b"Content-Encoding: gzip\r\n")
    outcome = target_answer(lambda path: raw, "/")
    assert outcome.error == "the answer's body decodes to more than 1 MiB"  # type: ignore[attr-defined]


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Parity test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): a certificate must name the
        # key that signed it, as every real authority's certificates do.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_an_https_target_is_verified_against_the_trusted_authorities(tmp_path, monkeypatch) -> None:
    ca, cert, key = _certificates(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    public_authorities = certifi.where()

    async def main(trusted: bool) -> object:
        monkeypatch.setattr(certifi, "where", lambda: str(ca) if trusted else public_authorities)
        server = Server(lambda path: ok(b"secure"))
        await server.start(server_tls)
        target = open_target(f"https://127.0.0.1:{server.port}")
        try:
            return await target.send("k", request_for("/"))
        finally:
            await target.aclose()
            await server.stop()

    outcome = asyncio.run(main(trusted=True))
    assert outcome.error is None  # type: ignore[attr-defined]
    assert outcome.response.body.content == b"secure"  # type: ignore[attr-defined]
    untrusted = asyncio.run(main(trusted=False))
    assert untrusted.response is None  # type: ignore[attr-defined]
    assert untrusted.error.startswith(  # type: ignore[attr-defined]
        "TLS with https://127.0.0.1:"
    )
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.error  # type: ignore[attr-defined]

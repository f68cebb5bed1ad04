"""What a replay sends and what comes back, independent of where it is sent.

`outgoing` rebuilds a recorded request for sending, `Reply` is what came back,
`curl_command` lets a user send the same request by hand. `replayer.target`
re-exports these; targets and the `Replayer` build on them.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol
from urllib.parse import urlencode

from parity.errors import ParityError
from parity.terminal import printable
from parity.traffic.decode import DECODABLE, DecodeLimitExceeded, UnknownEncoding, decode_bounded
from parity.traffic.exchange import Body, Headers, Request, Response

__all__ = [
    "HOP_BY_HOP",
    "MAX_DECODED",
    "Reply",
    "Target",
    "TargetError",
    "UnreadableAnswer",
    "curl_command",
    "decodable_codings",
    "outgoing",
    "response_of",
]

#: Headers that describe one connection, not the message (RFC 9110 section 7.6.1);
#: replaying them would describe a connection that no longer exists.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

#: Recomputed by the client for the replayed body and target, so never copied.
_RECOMPUTED = frozenset({"host", "content-length"})


#: The most a replayed answer's body may decode to; a bigger one is a compression bomb.
MAX_DECODED: Final = 256 << 20


class UnreadableAnswer(Exception):
    """An answer whose body cannot be read as one: said in one sentence."""


class TargetError(ParityError):
    """A replay target that cannot be opened: a bad spec, an import failure, not an app."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back for one replayed request: a response, or one sentence saying why not."""

    key: str
    response: Response | None
    error: str | None
    elapsed: float


class Target(Protocol):
    """Where replayed requests go: a URL, an in-process app, or a test double."""

    description: str

    async def send(self, key: str, request: Request) -> Reply:
        """Send `request`; failures of the target become `Reply.error`, never exceptions."""
        ...

    async def aclose(self) -> None: ...


def decodable_codings() -> frozenset[str]:
    """The content codings an answer may come in: those `parity.decode` removes here.

    Asking a server for a coding the replayer cannot decode would turn a good
    answer into an undecodable one, so only these are passed on.
    """
    return DECODABLE


def _coding(element: str) -> str:
    return element.split(";", 1)[0].strip().lower()


def _accept_encoding(value: str) -> str:
    """`value` with only the codings the replayer decodes (q-values kept), or "" if none is left."""
    usable = decodable_codings()
    kept = [e.strip() for e in value.split(",") if _coding(e) in usable]
    return ", ".join(kept)


def _replaced(
    headers: list[tuple[str, str]], extra: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """`headers` with `extra` taking the place of recorded headers of the same name."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, value in extra:
        groups.setdefault(name.lower(), []).append((name, value))
    result: list[tuple[str, str]] = []
    for name, value in headers:
        group = groups.get(name.lower())
        if group is None:
            result.append((name, value))
        else:  # the first recorded occurrence gets the extra values, later ones are dropped
            result.extend(group)
            group.clear()
    for group in groups.values():
        result.extend(group)
    return result


def outgoing(
    request: Request, extra_headers: Sequence[tuple[str, str]] = ()
) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """The (method, target, headers, body) to send for a recorded request.

    The target is the raw recorded path plus the query re-encoded in recorded
    order, repeats kept. Headers keep their order, case and repeats, minus
    hop-by-hop headers (but a plain ``Connection: keep-alive``, as true of the replay's
    connection as of the recorded one), Host and Content-Length (the client sets both for the
    new connection and body) and Accept-Encoding codings the replayer cannot decode.
    `extra_headers` replace recorded headers of the same name, case-insensitively
    (test credentials in place of sanitised ones), and are appended otherwise;
    they are sent as given, unfiltered.
    """
    fields = request.query.fields
    target = f"{request.path}?{_query_string(fields)}" if fields else request.path
    folded_headers = [(name.lower(), name, value) for name, value in request.headers]
    named = {
        name.strip().lower()
        for folded, _, value in folded_headers
        if folded == "connection"
        for name in value.split(",")
    }
    headers: list[tuple[str, str]] = []
    for folded, name, value in folded_headers:
        if folded == "connection" and value.strip().lower() == "keep-alive":
            # True of the replay's connection too (the client keeps its connections), and
            # services that echo their request headers (httpbin's) answer the same with it.
            headers.append((name, value))
            continue
        if folded in HOP_BY_HOP or folded in _RECOMPUTED or folded in named or name[:1] == ":":
            continue
        if folded == "accept-encoding":
            value = _accept_encoding(value)
            if not value:
                continue
        headers.append((name, value))
    if extra_headers:
        headers = _replaced(headers, extra_headers)
    return request.method, target, headers, request.body.content


#: What percent-encoding leaves as it is; a query of only these needs no encoding.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def _query_string(fields: Sequence[tuple[str, str]]) -> str:
    """The query re-encoded in recorded order, as `urlencode` writes it (spaces as +)."""
    if all(_UNRESERVED.fullmatch(name) and _UNRESERVED.fullmatch(value) for name, value in fields):
        return "&".join([f"{name}={value}" for name, value in fields])
    return urlencode(fields, encoding="utf-8", errors="surrogateescape")


def _text(value: bytes) -> str:
    """Bytes from the wire as text, decoded as the recorder decodes them."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def response_of(
    status: int,
    reason: str,
    raw_headers: Sequence[tuple[bytes, bytes]],
    content: bytes,
    http_version: str,
    started: float,
    finished: float,
) -> Response:
    """A recorded-style `Response` for an answer as it came off the wire.

    Like the recorder, the body is stored decoded and Content-Encoding is
    dropped, so a replayed answer compares like a recorded one. A body that
    cannot be decoded, or would decode to more than 256 MiB, raises
    `UnreadableAnswer`.
    """
    try:  # one C call a name or value, as nearly every answer's headers are UTF-8
        fields = [(name.decode(), value.decode()) for name, value in raw_headers]
    except UnicodeDecodeError:
        fields = [(_text(name), _text(value)) for name, value in raw_headers]
    encodings = [v for k, v in fields if len(k) == 16 and k.lower() == "content-encoding"]
    if encodings and content:
        try:
            content = decode_bounded(content, ", ".join(encodings), MAX_DECODED)
        except DecodeLimitExceeded:
            raise UnreadableAnswer(
                f"the answer's body decodes to more than {MAX_DECODED >> 20} MiB"
            ) from None
        except UnknownEncoding as exc:
            raise UnreadableAnswer(f"the answer's body could not be decoded ({exc})") from None
        fields = [(k, v) for k, v in fields if k.lower() != "content-encoding"]
    return Response(
        status, reason, Headers(fields), Body.of(content), http_version, started, finished
    )


_TOKEN = re.compile(r"[!#%&'*+.^_`|~0-9A-Za-z-]+")
#: Headers curl adds on its own unless told not to (an empty `-H 'Name:'`).
_CURL_DEFAULTS = ("User-Agent", "Accept")


def curl_command(
    target_base: str,
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    variables: Mapping[str, str] | None = None,
) -> str:
    """A shell command that sends the same request with curl, to reproduce a failure by hand.

    The URL is sent as is (no globbing, no dot-segment squashing), curl's own
    default headers are suppressed when the request had none, and a body that
    is not plain text is piped in through base64. A header value that is a key of
    `variables` (``$REPLAY_TOKEN``, a credential shown by its name) is left to the
    shell to expand: the command holds the variable, never its value.
    """
    variables = variables or {}
    args = ["curl", "--silent", "--show-error", "--include", "--globoff", "--path-as-is"]
    if method == "HEAD":
        args.append("--head")
    elif not (method == "GET" and not body) and not (method == "POST" and body):
        args += ["--request", method]
    present = {name.lower() for name, _ in headers}
    expanded = {}
    for name, value in headers:
        if value in variables and _TOKEN.fullmatch(name):  # safe in double quotes
            expanded[f"{name}: {value}"] = f'"{name}: ${{{variables[value]}}}"'
        # curl drops a header given as "Name:"; "Name;" sends it with an empty value.
        args += ["--header", f"{name}: {value}" if value else f"{name};"]
    for name in _CURL_DEFAULTS:
        if name.lower() not in present:
            args += ["--header", f"{name}:"]
    if "accept-encoding" in present:
        args.append("--compressed")
    prefix = ""
    if body:
        if "content-type" not in present:
            args += ["--header", "Content-Type:"]
        text = Body(body).text()
        if text is not None and printable(text, keep="\n\t") == text and text[:1] != "@":
            args += ["--data-binary", text]
        else:  # binary, control characters, or a file name to curl: piped in, byte for byte
            encoded = base64.b64encode(body).decode("ascii")
            prefix = f"printf %s {shlex.quote(encoded)} | base64 --decode | "
            args += ["--data-binary", "@-"]
    args.append(target_base.rstrip("/") + target)
    return prefix + " ".join(expanded.get(arg) or shlex.quote(arg) for arg in args)

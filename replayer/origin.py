"""The candidate's own address, read in its answers as the recorded one.

A service that echoes where it was called (httpbin's ``url`` and ``Host``,
an absolute ``Location``, links in a page, a ``self`` URL in a JSON:API
document) answers a replay with the candidate's scheme, host and port, where
the monolith answered with its own. That is not a difference between the two
services, so before an answer from a URL target is compared, each place it
names the candidate's origin is read as the recorded origin: the absolute
form (``http://127.0.0.1:8001``, also with JSON's escaped slashes) and the
authority alone (``127.0.0.1:8001``, as an echoed ``Host`` holds it), in the
body and in every header. The count of places is kept, and shown with the
comparison, so that nobody wonders why the candidate's address never shows.

An app called in-process needs none of this: it is called with the recorded
host. ``--replay-keep-origin`` turns the reading off.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import httpx

from parity.traffic.exchange import Body, Headers, Request, Response

__all__ = ["Origin", "as_recorded"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Origin:
    """A scheme and an authority (host, and port when it is not the scheme's default)."""

    scheme: str
    authority: str

    @classmethod
    def of_url(cls, url: str) -> Origin:
        parsed = httpx.URL(url)
        return cls(parsed.scheme, parsed.netloc.decode("ascii"))

    @classmethod
    def of_request(cls, request: Request) -> Origin:
        """Where the recorded request went, as the monolith saw it: its Host header, or
        else its host and port."""
        scheme = "https" if request.scheme == "https" else "http"
        host = request.headers.get("host")
        if not host:
            name = f"[{request.host}]" if ":" in request.host else request.host
            default = _DEFAULT_PORTS[scheme] == request.port
            host = name if default or not request.port else f"{name}:{request.port}"
        return cls(scheme, host.strip())

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}"


def as_recorded(response: Response, candidate: Origin, recorded: Origin) -> tuple[Response, int]:
    """`response` with the candidate's origin read as the recorded one, and in how many
    places it was. A truncated body is left as it is: only its digest was recorded."""
    if candidate == recorded:
        return response, 0
    # Every form holds the authority: one substring search says whether there is work.
    authority = candidate.authority
    body = response.body
    in_body = not body.truncated and authority.encode("utf-8") in body.content
    if not in_body and not any(authority in value for _, value in response.headers):
        return response, 0
    text, binary, stand_ins = _forms(candidate, recorded)
    count = 0
    headers = []
    for name, value in response.headers:
        value, found = text.subn(lambda match: stand_ins[match[0]], value)
        count += found
        headers.append((name, value))
    if in_body:
        content, found = binary.subn(
            lambda match: stand_ins[match[0].decode("utf-8")].encode("utf-8"), body.content
        )
        if found:
            count += found
            body = Body.of(content)
    if not count:
        return response, 0
    rewritten = Response(
        response.status,
        response.reason,
        Headers(headers),
        body,
        response.http_version,
        response.timestamp_start,
        response.timestamp_end,
    )
    return rewritten, count


@functools.lru_cache(maxsize=64)
def _forms(
    candidate: Origin, recorded: Origin
) -> tuple[re.Pattern[str], re.Pattern[bytes], dict[str, str]]:
    """The candidate's forms as a text and a bytes pattern, and what each stands for.

    The absolute forms first (with slashes as JSON may escape them), then the authority
    alone; never followed by a digit, so that port 80 is not read inside port 8000."""
    forms = [
        (candidate.url, recorded.url),
        (candidate.url.replace("/", "\\/"), recorded.url.replace("/", "\\/")),
        (candidate.authority, recorded.authority),
    ]
    text = re.compile("|".join(f"{re.escape(mine)}(?![0-9])" for mine, _ in forms))
    return text, re.compile(text.pattern.encode("utf-8")), dict(forms)

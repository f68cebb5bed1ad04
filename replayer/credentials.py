"""Test credentials for the replay, in place of the ones the recorder removed.

The recorder never stores ``Authorization``, cookies or other credentials, so
an endpoint that needs them answers a replay with 401 or 403. A project
declares, per endpoint glob, which header to send and the environment
variable that holds its value::

    [[tool.parity.replay.credentials]]
    endpoints = "GET /api/*"
    header = "Authorization"
    env = "REPLAY_TOKEN"          # the header's whole value, e.g. "Bearer t-123"

Values are read from the environment once, at the start of the run, and only
ever sent: failure output, reproduce commands and reports name the variable
(``"Authorization: $REPLAY_TOKEN"``), never the value. For an endpoint that
several entries match, each header is taken from the last matching entry
that names it. `parity.sanitize.removed_credentials` tells a failure that the
recording lost its credentials, so that a 401 says what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from parity.errors import UsageError
from parity.traffic.endpoint import matches
from parity.traffic.exchange import Headers, Request

__all__ = ["NO_CREDENTIALS", "Credential", "Credentials"]

_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYS: Final = ("endpoints", "header", "env")
_WHERE: Final = "[[tool.parity.replay.credentials]]"


@dataclass(frozen=True, slots=True)
class Credential:
    """One header to send on the endpoints a glob matches, its value from `env`."""

    endpoints: str
    header: str
    env: str
    value: str = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Credentials:
    """The run's credentials, checked, with their values."""

    entries: tuple[Credential, ...] = ()

    @classmethod
    def from_config(cls, entries: object, environ: Mapping[str, str] = os.environ) -> Credentials:
        """The entries of ``credentials`` in ``[tool.parity.replay]``; `UsageError` in one
        sentence for a bad entry or a variable that is not set."""
        if entries is None:
            return cls()
        if not isinstance(entries, list):
            raise UsageError(
                f"credentials in [tool.parity.replay] must be an array of tables ({_WHERE}), "
                f"not {entries!r}"
            )
        return cls(tuple(_entry(number, entry, environ) for number, entry in enumerate(entries, 1)))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def for_endpoint(self, endpoint: str) -> list[Credential]:
        """The credentials sent to `endpoint`: per header, the last matching entry."""
        chosen: dict[str, Credential] = {}
        for entry in self.entries:
            if matches(endpoint, entry.endpoints):
                chosen[entry.header.lower()] = entry
        return list(chosen.values())

    def applied(self, request: Request, endpoint: str) -> Request:
        """`request` with the credentials for `endpoint` in place of headers of those names."""
        given = self.for_endpoint(endpoint)
        if not given:
            return request
        names = {entry.header.lower() for entry in given}
        kept = [(name, value) for name, value in request.headers if name.lower() not in names]
        headers = Headers([*kept, *((entry.header, entry.value) for entry in given)])
        return Request(
            request.method,
            request.scheme,
            request.host,
            request.port,
            request.path,
            request.query,
            headers,
            request.body,
            request.http_version,
            request.timestamp_start,
            request.timestamp_end,
        )

    def shown(self, headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """`headers` as they may be shown: a credential's value as its variable."""
        secrets = {entry.value: entry.env for entry in self.entries}
        return [
            (name, f"${secrets[value]}" if value in secrets else value) for name, value in headers
        ]

    def variables(self) -> dict[str, str]:
        """Each shown stand-in (``$NAME``) and the variable it stands for."""
        return {f"${entry.env}": entry.env for entry in self.entries}


NO_CREDENTIALS: Final = Credentials()


def _entry(number: int, entry: object, environ: Mapping[str, str]) -> Credential:
    where = f"{_WHERE} entry {number}"
    if not isinstance(entry, Mapping):
        raise UsageError(f"{where} must be a table with header and env, not {entry!r}")
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise UsageError(f"{where} has unknown key {unknown[0]!r}; use endpoints, header and env")
    endpoints: Any = entry.get("endpoints", "*")
    header: Any = entry.get("header")
    env: Any = entry.get("env")
    if not isinstance(endpoints, str) or not endpoints:
        raise UsageError(f"{where}: endpoints must be an endpoint glob such as 'GET /api/*'")
    if not isinstance(header, str) or not _TOKEN.fullmatch(header):
        raise UsageError(f"{where}: header must be a header name such as 'Authorization'")
    if not isinstance(env, str) or not _VARIABLE.fullmatch(env):
        raise UsageError(
            f"{where}: env must name the environment variable that holds the value, "
            "such as 'REPLAY_TOKEN'"
        )
    value = environ.get(env)
    if not value:
        raise UsageError(
            f"{where} sends {header} to {endpoints!r} from ${env}, which is not set; export "
            "it (a test credential) or remove the entry"
        )
    if any(character in value for character in "\r\n\0"):
        raise UsageError(f"${env} holds a line break or a NUL, which no header value may hold")
    return Credential(endpoints, header, env, value)

"""Test credentials for the replay: declared per endpoint, read from the environment,
sent, and never shown."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from parity.errors import UsageError
from parity.sanitize.engine import Sanitiser, removed_credentials
from parity.sanitize.pseudonym import Pseudonymiser
from replayer.credentials import Credentials
from replayer.wire import curl_command
from tests.factories import T0, make_exchange, make_request

ENV = {"REPLAY_TOKEN": "Bearer t-0123456789", "ADMIN_TOKEN": "Bearer admin-987654321"}
ENTRIES = [
    {"header": "Authorization", "env": "REPLAY_TOKEN"},
    {"endpoints": "GET /admin/*", "header": "Authorization", "env": "ADMIN_TOKEN"},
]


def test_each_header_comes_from_the_last_entry_matching_the_endpoint() -> None:
    credentials = Credentials.from_config(ENTRIES, ENV)
    assert [c.value for c in credentials.for_endpoint("GET /api/users")] == [ENV["REPLAY_TOKEN"]]
    assert [c.value for c in credentials.for_endpoint("GET /admin/stats")] == [ENV["ADMIN_TOKEN"]]
    assert "t-0123456789" not in repr(credentials)  # values never in a repr either


def test_a_credential_replaces_a_header_of_its_name_and_is_added_otherwise() -> None:
    credentials = Credentials.from_config(ENTRIES, ENV)
    request = make_request(headers=[("Host", "a.test"), ("authorization", "[redacted:token]")])
    sent = credentials.applied(request, "GET /api/users")
    assert sent.headers.get_all("Authorization") == [ENV["REPLAY_TOKEN"]]
    assert credentials.applied(make_request(headers=[]), "GET /x").headers.get("authorization")
    assert Credentials().applied(request, "GET /x") is request


def test_shown_headers_and_reproduce_commands_hold_the_variable_not_the_value() -> None:
    credentials = Credentials.from_config(ENTRIES, ENV)
    shown = credentials.shown([("Authorization", ENV["REPLAY_TOKEN"]), ("Accept", "*/*")])
    assert shown == [("Authorization", "$REPLAY_TOKEN"), ("Accept", "*/*")]
    command = curl_command("http://127.0.0.1:1", "GET", "/x", shown, b"", credentials.variables())
    assert "t-0123456789" not in command
    assert '"Authorization: ${REPLAY_TOKEN}"' in command
    # The shell expands it when the command is run.
    echoed = subprocess.run(
        ["bash", "-c", "printf '%s\\n' " + command.split(" ", 1)[1]],
        env={"REPLAY_TOKEN": ENV["REPLAY_TOKEN"], "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"Authorization: {ENV['REPLAY_TOKEN']}" in echoed.stdout.splitlines()
    assert shlex.split(command)  # still one well-formed command


@pytest.mark.parametrize(
    ("entries", "environ", "message"),
    [
        ({"header": "Authorization"}, ENV, "must be an array of tables"),
        (
            [{"header": "Authorization", "env": "NOT_SET"}],
            ENV,
            r"sends Authorization to '\*' from \$NOT_SET, which is not set; export it",
        ),
        ([{"header": "Bad Header", "env": "REPLAY_TOKEN"}], ENV, "header must be a header name"),
        ([{"header": "Authorization", "env": "$REPLAY_TOKEN"}], ENV, "env must name"),
        (
            [{"header": "Authorization", "env": "REPLAY_TOKEN", "value": "x"}],
            ENV,
            "unknown key 'value'; use endpoints, header and env",
        ),
        ([{"header": "Authorization", "env": "T"}], {"T": "a\r\nInjected: 1"}, "a line break"),
        (["Authorization"], ENV, "entry 1 must be a table"),
    ],
)
def test_a_bad_entry_is_one_sentence(entries, environ, message) -> None:
    with pytest.raises(UsageError, match=message):
        Credentials.from_config(entries, environ)


def test_the_credentials_a_sanitised_recording_lost_are_named() -> None:
    request = make_request(
        headers=[
            ("Host", "a.test"),
            ("Authorization", "Bearer abcdefghijklmnop"),
            ("Cookie", "sid=0123456789abcdef"),
            ("Accept", "*/*"),
        ]
    )
    stored = Sanitiser(Pseudonymiser(None))(make_exchange(T0, request=request))
    assert sorted(removed_credentials(stored)) == ["authorization", "cookie"]
    assert removed_credentials(make_exchange(T0)) == []

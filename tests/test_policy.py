"""The sanitising policy: validated config, and what each rule does to an exchange."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from parity.config import load_config
from parity.errors import UsageError
from parity.sanitize.engine import Sanitiser
from parity.sanitize.policy import Action, Location, Mode, Policy
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic.exchange import Exchange
from tests.factories import make_exchange, make_request, make_response

KEY = b"policy test key"


def policy(*rules: dict[str, Any], **table: Any) -> Policy:
    return Policy.from_config({"rules": list(rules), **table}, "[sanitize]")


def sanitised(exchange: Exchange, rules: Policy) -> Exchange:
    return Sanitiser(Pseudonymiser(KEY), rules)(exchange)


def posted(document: Any, path: str = "/api/things", endpoint: str | None = None) -> Exchange:
    headers = [("Content-Type", "application/json")]
    return make_exchange(
        request=make_request(
            method="POST", path=path, headers=headers, body=orjson.dumps(document)
        ),
        response=make_response(headers=headers, body=b"{}"),
        endpoint=endpoint,
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"modes": "x"}, "[sanitize] has unknown key(s) modes; the keys are mode, key_env"),
        ({"mode": "strict"}, "[sanitize] mode is 'strict'; choose one of detect, allow-list"),
        ({"key_env": ""}, "[sanitize] key_env must name an environment variable"),
        ({"detectors": "yes"}, "[sanitize] detectors must be true or false"),
        ({"rules": {"header": "x"}}, "[sanitize] rules must be a list of tables"),
        ({"rules": ["x"]}, "[sanitize] rules[0] must be a table such as"),
        (
            {"rules": [{"body": "$.x", "action": "drop"}]},
            "[sanitize] rules[0] has unknown key(s) body",
        ),
        ({"rules": [{"action": "drop"}]}, "[sanitize] rules[0] must name exactly one place"),
        (
            {"rules": [{"json": "$.a", "query": "b", "action": "drop"}]},
            "must name exactly one place",
        ),
        ({"rules": [{"json": "$.a"}]}, "[sanitize] rules[0] has no action; choose one of drop"),
        (
            {"rules": [{"json": "$.a", "action": "mask"}]},
            "[sanitize] rules[0] action is 'mask'; choose one of drop, redact, hash, pseudonymise, keep",
        ),
        (
            {"rules": [{"json": "users.email", "action": "drop"}]},
            "[sanitize] rules[0] json path 'users.email' must start with '$'",
        ),
        ({"rules": [{"graphql": "input.email", "action": "drop"}]}, "must start with $"),
        ({"rules": [{"header": "X", "action": "keep", "endpoint": 3}]}, "endpoint must be a glob"),
    ],
)
def test_a_bad_policy_is_one_sentence_naming_the_problem(table, message) -> None:
    with pytest.raises(UsageError) as caught:
        Policy.from_config(table, "[sanitize]")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_config_file_carries_the_policy(tmp_path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        "[tool.parity.sanitize]\n"
        'mode = "allow-list"\n'
        'rules = [{ json = "$.id", action = "keep" }, { header = "X-Tenant", action = "keep" }]\n'
    )
    config = load_config(path)
    loaded = Policy.from_config(config.sanitize, "sanitize")
    assert loaded.mode is Mode.ALLOW_LIST
    assert [(r.location, r.target, r.action) for r in loaded.rules] == [
        (Location.JSON, "$.id", Action.KEEP),
        (Location.HEADER, "x-tenant", Action.KEEP),
    ]
    assert loaded.fingerprint != Policy().fingerprint


def test_header_rules_keep_drop_and_override_the_defaults() -> None:
    exchange = make_exchange(
        request=make_request(
            headers=[
                ("X-Tenant", "tenant-ops@corp.example.com"),
                ("X-Debug", "trace-4f6a9c1e2b"),
                ("Authorization", "Bearer test-only-token-1234567"),
                ("X-Note", "see trace-4f6a9c1e2b"),
            ]
        ),
    )
    rules = policy(
        {"header": "x-tenant", "action": "keep"},
        {"header": "X-Debug", "action": "drop"},
        {"header": "Authorization", "action": "keep"},
    )
    headers = dict(sanitised(exchange, rules).request.headers)
    assert headers == {
        "X-Tenant": "tenant-ops@corp.example.com",  # kept whole, detectors included
        "Authorization": "Bearer test-only-token-1234567",  # kept on purpose
        "X-Note": "see [redacted]",  # the dropped header's value, wherever else it was
    }


def test_cookie_rules_keep_only_the_cookies_they_name() -> None:
    exchange = make_exchange(
        request=make_request(headers=[("Cookie", "sid=abcdef0123456789; theme=dark; lang=fr")]),
        response=make_response(
            headers=[
                ("Set-Cookie", "theme=light; Path=/"),
                ("Set-Cookie", "sid=zyxw98765432; HttpOnly"),
            ]
        ),
    )
    clean = sanitised(
        exchange,
        policy({"cookie": "theme", "action": "keep"}, {"cookie": "lang", "action": "hash"}),
    )
    cookie = clean.request.headers.get("cookie")
    assert cookie is not None
    assert cookie.startswith("theme=dark; lang=hmac:")
    assert clean.response.headers.get_all("set-cookie") == ["theme=light; Path=/"]


def test_query_and_form_rules() -> None:
    exchange = make_exchange(
        request=make_request(
            method="POST",
            query=[("session", "s-1"), ("q", "shoes"), ("ref", "campaign-77")],
            headers=[("Content-Type", "application/x-www-form-urlencoded")],
            body=b"comment=Hello+there&rating=5",
        ),
    )
    rules = policy(
        {"query": "session", "action": "drop"},
        {"query": "ref", "action": "hash"},
        {"form": "comment", "action": "redact"},
    )
    request = sanitised(exchange, rules).request
    query = dict(request.query)
    assert "session" not in query
    assert query["q"] == "shoes"
    assert query["ref"].startswith("hmac:")
    assert request.body.content == b"comment=%5Bredacted%5D&rating=5"


def test_json_path_rules_and_their_endpoints() -> None:
    document = {
        "users": [{"nickname": "sparrow", "email": "a.person@mail.example.com"}],
        "owner": {"email": "team@corp.example.com"},
        "debug": {"host": "10.1.2.3", "trace": "x"},
    }
    rules = policy(
        {"json": "$.users[*].nickname", "action": "pseudonymise"},
        {"json": "$.owner.email", "action": "keep"},
        {"json": "$.debug", "action": "drop", "endpoint": "POST /api/*"},
    )
    sent = json.loads(
        sanitised(posted(document, endpoint="POST /api/things"), rules).request.body.content
    )
    assert sent["users"][0]["nickname"] not in ("sparrow", "[redacted]")
    assert sent["users"][0]["email"].endswith("@example.com")  # the defaults still apply
    assert sent["owner"] == {"email": "team@corp.example.com"}
    assert "debug" not in sent
    elsewhere = json.loads(
        sanitised(posted(document, endpoint="GET /other"), rules).request.body.content
    )
    assert "debug" in elsewhere


def test_graphql_rules_look_in_the_variables() -> None:
    body = {
        "query": "mutation Add($input: In!) { add(input: $input) { id } }",
        "variables": {"input": {"phone": "0000-42", "label": "home"}},
    }
    clean = sanitised(
        posted(body, "/graphql"), policy({"graphql": "$.input.phone", "action": "hash"})
    )
    variables = json.loads(clean.request.body.content)["variables"]["input"]
    assert variables["phone"].startswith("hmac:")
    assert variables["label"] == "home"


def test_allow_list_mode_keeps_only_what_rules_keep() -> None:
    document = {"id": 5, "status": "active", "country": "FR", "score": 12, "ok": True, "none": None}
    rules = policy(
        {"json": "$.id", "action": "keep"},
        {"json": "$.status", "action": "keep"},
        mode="allow-list",
    )
    clean = sanitised(posted(document), rules)
    sent = json.loads(clean.request.body.content)
    assert (sent["id"], sent["status"], sent["ok"], sent["none"]) == (5, "active", True, None)
    assert sent["country"] != "FR"
    assert isinstance(sent["score"], int)
    assert sent["score"] != 12
    meta = clean.meta["sanitised"]
    assert meta["policy"] == rules.fingerprint
    assert meta["changed"]["json:unlisted"] == 2

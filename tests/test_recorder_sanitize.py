"""The recorder's sanitiser: its policy from the config file, its key from the environment."""

from __future__ import annotations

import json

import pytest

from parity.errors import UsageError
from parity.sanitize.policy import Action
from recorder.sanitize import describe, load_policy, make_sanitizer, unsanitised
from tests.factories import make_exchange, make_request, make_response


def test_the_policy_comes_from_the_config_found_or_named(tmp_path, monkeypatch) -> None:
    (tmp_path / "parity.toml").write_text(
        '[sanitize]\nkey_env = "MY_KEY"\nrules = [{ header = "X-Tenant", action = "keep" }]\n'
    )
    nested = tmp_path / "deep" / "er"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    found = load_policy("")
    assert found.key_env == "MY_KEY"
    assert found.rules[0].action is Action.KEEP
    assert load_policy(str(tmp_path / "parity.toml")) == found
    with pytest.raises(UsageError, match=r"parity_config '/nope\.toml' is not a file"):
        load_policy("/nope.toml")
    (tmp_path / "parity.toml").write_text('[sanitize]\nrules = [{ header = "X", action = "x" }]\n')
    with pytest.raises(UsageError, match=r"rules\[0\] action is 'x'; choose one of"):
        load_policy("")


def test_the_key_comes_from_the_variable_the_policy_names(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    policy = load_policy("")
    exchange = make_exchange(
        request=make_request(headers=[("Authorization", "Bearer abcdefghijklmnop12345")]),
        response=make_response(body=b'{"email": "someone@mail.example.org"}'),
    )
    keyed = make_sanitizer(policy, {"PARITY_SANITIZE_KEY": "s3cret"})
    unkeyed = make_sanitizer(policy, {})
    assert json.loads(keyed(exchange).response.body.content)["email"].endswith("@example.com")
    assert json.loads(unkeyed(exchange).response.body.content) == {"email": "[redacted:email]"}
    assert "authorization" not in keyed(exchange).request.headers
    assert "pseudonymised with the key in $PARITY_SANITIZE_KEY (hmac-sha256:" in describe(keyed)
    assert "$PARITY_SANITIZE_KEY is not set, so personal data is redacted" in describe(unkeyed)
    assert "s3cret" not in describe(keyed)


def test_off_stores_the_exchange_as_it_is() -> None:
    exchange = make_exchange()
    assert unsanitised(exchange) is exchange

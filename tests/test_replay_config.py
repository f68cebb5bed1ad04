"""`ReplayConfig`: substitutions, rewrite, and finding it in conftest modules."""

from __future__ import annotations

import dataclasses
import types

import pytest

from parity.errors import ParityError
from parity.traffic.exchange import Query
from replayer import ReplayConfig
from replayer.rewrite import find_replay_config
from tests.factories import make_exchange, make_request


def test_substitutions_reach_the_path_query_values_and_text_bodies() -> None:
    request = make_request(
        method="POST",
        path="/accounts/acct-7781/orders",
        query=Query([("owner", "acct-7781"), ("acct-7781", "kept as a name")]),
        body=b'{"account": "acct-7781"}',
    )
    config = ReplayConfig(replace={"acct-7781": "acct-0001"})
    sent = config.prepare(request, make_exchange(request=request))
    assert sent.path == "/accounts/acct-0001/orders"
    assert sent.query.fields == (("owner", "acct-0001"), ("acct-7781", "kept as a name"))
    assert sent.body.content == b'{"account": "acct-0001"}'
    assert sent.headers == request.headers


def test_binary_bodies_are_left_alone() -> None:
    body = b"\x89PNG\x00acct-7781\xff"
    request = make_request(method="POST", body=body)
    sent = ReplayConfig(replace={"acct-7781": "x"}).prepare(request, make_exchange(request=request))
    assert sent.body.content == body


def test_rewrite_runs_after_the_substitutions_and_none_keeps_the_request() -> None:
    seen = []

    def rewrite(request, exchange):
        seen.append(request.path)
        return None if request.path == "/keep" else dataclasses.replace(request, method="HEAD")

    config = ReplayConfig(replace={"/old": "/new"}, rewrite=rewrite)
    kept = make_request(path="/keep")
    assert config.prepare(kept, make_exchange(request=kept)) == kept
    moved = make_request(path="/old")
    assert config.prepare(moved, make_exchange(request=moved)).method == "HEAD"
    assert seen == ["/keep", "/new"]


def test_a_rewrite_returning_something_else_is_named() -> None:
    config = ReplayConfig(rewrite=lambda request, exchange: "GET /")
    request = make_request()
    with pytest.raises(ParityError, match="rewrite returned str; return a parity Request"):
        config.prepare(request, make_exchange(request=request))


def conftest(path: str, **names: object) -> types.ModuleType:
    module = types.ModuleType("conftest")
    module.__file__ = path
    module.__dict__.update(names)
    return module


def test_found_in_a_conftest_as_an_object_or_a_function() -> None:
    config = ReplayConfig(headers={"A": "b"})
    assert (
        find_replay_config([object(), conftest("/p/conftest.py", replay_config=config)]) is config
    )
    found = find_replay_config([conftest("/p/conftest.py", replay_config=lambda: config)])
    assert found is config
    assert find_replay_config([conftest("/p/other.py", replay_config=config)]) is None
    assert find_replay_config([conftest("/p/conftest.py")]) is None


def test_two_declarations_are_refused() -> None:
    config = ReplayConfig()
    with pytest.raises(ParityError, match=r"declared in both /a/conftest.py and /b/conftest.py"):
        find_replay_config(
            [
                conftest("/b/conftest.py", replay_config=config),
                conftest("/a/conftest.py", replay_config=config),
            ]
        )


def test_a_pytest_fixture_of_that_name_is_built_once() -> None:
    config = ReplayConfig(headers={"A": "b"})
    calls = []

    @pytest.fixture(scope="session")
    def replay_config():
        calls.append(1)
        return config

    assert find_replay_config([conftest("/p/conftest.py", replay_config=replay_config)]) is config
    assert calls == [1]


def test_a_replay_config_asking_for_fixtures_is_refused() -> None:
    @pytest.fixture(scope="session")
    def replay_config(tmp_path_factory):
        return ReplayConfig()

    with pytest.raises(ParityError, match="takes arguments; it is built before any test runs"):
        find_replay_config([conftest("/p/conftest.py", replay_config=replay_config)])

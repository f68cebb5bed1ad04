"""Replay settings: the command line over pytest's ini over the config file, checked once."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.config import ParityConfig, Threshold
from parity.errors import UsageError
from replayer.certify import Outcome, Tally, Verdict, verdict
from replayer.settings import OPTIONS, resolve


def settings(cli=None, ini=None, replay=None, thresholds=()):
    cli, ini = cli or {}, ini or {}
    config = ParityConfig(Path("parity.toml"), replay or {}, None, tuple(thresholds))
    return resolve(cli.get, ini.get, config)


BASE = {"from": "traffic", "target": "app:asgi"}


def test_each_source_overrides_the_one_before() -> None:
    assert settings(replay=BASE).concurrency == 8
    assert settings(replay={**BASE, "concurrency": 2}).concurrency == 2
    assert (
        settings(ini={"replay_concurrency": "3"}, replay={**BASE, "concurrency": 2}).concurrency
        == 3
    )
    chosen = settings(cli={"replay_concurrency": "4"}, ini={"replay_concurrency": "3"}, replay=BASE)
    assert chosen.concurrency == 4


def test_values_are_typed() -> None:
    chosen = settings(
        cli={
            "replay_header": ["Authorization: Bearer t", "X-Env:test"],
            "replay_unsafe": True,
            "replay_since": "2026-11-23T10:00",
            "replay_report": "out",
        },
        replay={**BASE, "timeout": 2, "safe": ["POST /a"]},
    )
    assert chosen.headers == (("Authorization", "Bearer t"), ("X-Env", "test"))
    assert chosen.unsafe is True
    assert chosen.timeout == 2.0
    assert chosen.since is not None and chosen.since.hour == 10
    assert chosen.report == Path("out")
    assert chosen.safe == ("POST /a",)


def test_store_and_target_are_required() -> None:
    with pytest.raises(UsageError, match="--replay needs a store"):
        settings(replay={"target": "x:y"})
    with pytest.raises(UsageError, match="--replay needs a candidate"):
        settings(replay={"from": "traffic"})


def test_safety_and_per_endpoint_thresholds() -> None:
    chosen = settings(
        replay={**BASE, "safe": ["POST /api/*"], "threshold": 0.99},
        thresholds=[Threshold("GET /a*", 0.5), Threshold("GET /ab", None, 30)],
    )
    assert chosen.is_safe("POST /api/users") and not chosen.is_safe("DELETE /api/users")
    assert chosen.threshold_for("GET /x") == (0.99, 1)
    assert chosen.threshold_for("GET /a") == (0.5, 1)
    assert chosen.threshold_for("GET /ab") == (0.5, 30)


def test_every_option_has_a_flag_an_ini_name_and_help() -> None:
    for option in OPTIONS:
        assert option.flag.startswith("--replay-")
        assert option.ini == option.flag[2:].replace("-", "_")
        assert option.help


@pytest.mark.parametrize(
    ("counts", "threshold", "samples", "expected"),
    [
        ({Outcome.MATCHED: 10}, 1.0, 5, Verdict.CERTIFIED),
        ({Outcome.MATCHED: 9, Outcome.MISMATCHED: 1}, 1.0, 5, Verdict.FAILED),
        ({Outcome.MATCHED: 9, Outcome.ERROR: 1}, 0.9, 5, Verdict.CERTIFIED),
        ({Outcome.MATCHED: 2}, 1.0, 5, Verdict.INSUFFICIENT),
        ({Outcome.SKIPPED: 4}, 1.0, 1, Verdict.SKIPPED),
    ],
)
def test_verdicts(counts, threshold, samples, expected) -> None:
    tally = Tally("GET /x")
    for outcome, count in counts.items():
        for n in range(count):
            tally.add(outcome, f"id{n}", ["$.a"] if outcome is Outcome.MISMATCHED else [])
    assert verdict(tally, threshold, samples) is expected
    record = tally.to_record(threshold, samples)
    assert record["verdict"] == expected.value

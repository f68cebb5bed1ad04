"""Tallying results from the reports pytest hands over: each item's outcome,
differences, example and answer times travel as its `user_properties` (JSON text),
so xdist workers' results count at the controller as a process's own judgements
count where they are made (`Judgement.tally`), and a skipped item's report is
counted alike."""

from __future__ import annotations

import json

import pytest

from parity.compare.evidence import Evidence
from replayer.certify import Outcome, Tally

__all__ = ["count_report"]


def count_report(tallies: dict[str, Tally], report: pytest.TestReport) -> bool:
    """Tally one item's result from its report into `tallies` (the same for xdist
    workers' reports arriving at the controller); whether the item sent a request not
    shown safe."""
    # Checked first: an item's three reports all carry its properties, one counts.
    if report.when == "teardown" or (report.when == "setup" and not report.skipped):
        return False
    properties = dict(report.user_properties)
    endpoint = properties.get("parity_endpoint")
    outcome = properties.get("parity_outcome")
    if endpoint is None or outcome is None:
        return False
    tally = tallies.get(str(endpoint))
    if tally is None:  # made once per endpoint, not for every report
        tally = tallies[str(endpoint)] = Tally(str(endpoint))
    paths = properties.get("parity_paths", "[]")
    comparison = properties.get("parity_comparison")
    example = None
    if comparison is not None:
        example = json.loads(str(comparison))
        example.pop("matched", None)
        for name, key in (("parity_bodies", "bodies"), ("parity_reproduce", "reproduce")):
            value = properties.get(name)
            if value is not None:
                example[key] = json.loads(str(value))
    latency = properties.get("parity_latency")
    monolith_ms, candidate_ms = json.loads(str(latency)) if latency else (None, None)
    noise = properties.get("parity_noise")
    ignored = properties.get("parity_ignored")
    tally.add(
        Outcome(str(outcome)),
        str(properties.get("parity_exchange", "")),
        json.loads(str(paths)) if outcome == Outcome.MISMATCHED.value else [],
        str(properties.get("parity_skip", "")),
        json.loads(str(ignored)) if ignored else None,
        [Evidence.from_record(e) for e in json.loads(str(noise))] if noise else None,
        blind=int(str(properties.get("parity_blind", 0))),
        example=example,
        latency=(monolith_ms, candidate_ms),
        position=int(str(properties.get("parity_position", 0))),
    )
    return "parity_unsafe" in properties

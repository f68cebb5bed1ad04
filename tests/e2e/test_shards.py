"""Sharded replays: 1, 3 and 7 `pytest --replay` processes over one store, merged with
`parity report merge`, certify exactly what one run over the same selection does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from examples.processes import REPO_ROOT, parity
from parity.store import LocalStore, iter_exchanges, write_exchanges

pytestmark = pytest.mark.e2e

FIXTURES = REPO_ROOT / "fixtures" / "traffic"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture traffic (REST and GraphQL, state-changing requests, a regression the
    example candidate makes on purpose) in segments of 20 exchanges, so a split by
    segment has parts to split."""
    path = tmp_path_factory.mktemp("sharded") / "traffic"
    exchanges = list(iter_exchanges(LocalStore(FIXTURES)))
    keys = write_exchanges(LocalStore(path), exchanges, "shards", max_records=20)
    assert len(keys) >= 10
    return path


def replay(store: Path, report: Path, *options: str, env: dict[str, str] | None = None) -> int:
    """One `pytest --replay` process against the example candidate in-process, writing its
    reports and its JUnit XML into `report`; its exit status."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--replay",
        f"--replay-from={store}",
        "--replay-target=examples.candidate:app",
        "--replay-per-endpoint=10",  # the busiest endpoints are sampled
        f"--replay-report={report}",
        f"--junitxml={report / 'junit.xml'}",
        "-p",
        "no:cacheprovider",
        "-q",
        "--tb=no",
        *options,
    ]
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """certification.json less what differs from run to run: when it was written, the
    candidate's answer times this run measured, and what the candidate's answers hold
    that changes with every answer (its timestamps and request ids, which rules ignore)."""
    document = {**document, "generated_at": None}
    for endpoint in document["endpoints"]:
        endpoint["latency"] = endpoint["latency"]["monolith_ms"]
        for group in endpoint["groups"]:
            example = group["example"]
            example.get("bodies", {}).pop("actual", None)
            for ignored in example["ignored"]:
                ignored.pop("actual")
    return document


def cases(junit: Path) -> Counter[tuple[str, str, str]]:
    """Each test case of a JUnit XML file, with its outcome."""
    found: Counter[tuple[str, str, str]] = Counter()
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome = next((child.tag for child in case if child.tag != "properties"), "passed")
        found[case.get("classname", ""), case.get("name", ""), outcome] += 1
    return found


@pytest.fixture(scope="module")
def singles(store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One unsharded run's report directory per granularity."""
    reports = {}
    for granularity in ("exchange", "endpoint"):
        report = tmp_path_factory.mktemp(f"single-{granularity}")
        # The deliberate regression fails.
        assert replay(store, report, f"--replay-granularity={granularity}") == 1
        reports[granularity] = report
    return reports


def merged(
    store: Path, work: Path, count: int, by: str, granularity: str = "exchange"
) -> tuple[Path, int]:
    """Run `count` shards split `by` exchange or segment, two at a time, and merge them;
    the merged report directory and the merge's exit status."""

    def shard(index: int) -> Path:
        report = work / f"shard-{index}"
        replay(
            store,
            report,
            f"--replay-shard={index}/{count}",
            f"--replay-shard-by={by}",
            f"--replay-granularity={granularity}",
        )
        return report

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(shard, range(1, count + 1)))
    out = work / "merged"
    done = subprocess.run(
        parity("report", "merge", *map(str, reports), "--out", str(out)),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "parity certification" in done.stdout
    return out, done.returncode


@pytest.mark.parametrize(
    ("count", "by", "granularity"),
    [
        (1, "exchange", "exchange"),
        (3, "exchange", "exchange"),
        (7, "exchange", "exchange"),
        (3, "segment", "exchange"),
        (3, "exchange", "endpoint"),
        (3, "segment", "endpoint"),
    ],
)
def test_merged_shards_certify_what_one_run_does(
    store: Path, singles: dict[str, Path], tmp_path: Path, count: int, by: str, granularity: str
) -> None:
    out, status = merged(store, tmp_path, count, by, granularity)
    single = singles[granularity]
    one = json.loads((single / "certification.json").read_text())
    assert comparable(json.loads((out / "certification.json").read_text())) == comparable(one)
    # The selection held what the test is about: a regression, a sample, state changes.
    verdicts = {e["endpoint"]: e["verdict"] for e in one["endpoints"]}
    assert verdicts["GET /api/users/{id}/progress"] == "failed"
    # State-changing, declared safe in this repository's [tool.parity.replay]: sent (split
    # by exchange, all by shard 1, in recorded order).
    assert verdicts["POST /api/users/{id}/enrolments"] == "certified"
    assert verdicts["graphql invalid: not JSON"] == "skipped"  # cannot be shown safe
    assert verdicts["graphql query GetUser"] == "certified"
    assert max(e["replayed"] + e["skipped"] for e in one["endpoints"]) == 10
    assert status == 1  # the merged run fails as the single one did
    assert cases(out / "junit.xml") == cases(single / "junit.xml")
    assert (out / "report.html").stat().st_size > 1000

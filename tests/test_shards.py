"""Shards: a run's selection split into parts that together replay it once, and the parts'
states added up into one run's (`parity report merge`)."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from parity.errors import UsageError
from parity.store import LocalStore, SegmentKey, write_exchanges
from replayer.merge import merge_reports
from replayer.selection import Selection, plan
from replayer.shard import Shard, ShardBy, shard_from
from replayer.state import STATE_FILE
from tests.factories import T0, make_exchange, make_request


def store_of(tmp_path: Path, count: int = 120, per_segment: int = 10) -> LocalStore:
    """`count` exchanges over three GET endpoints and one POST, in small segments."""
    store = LocalStore(tmp_path / "traffic")
    exchanges = []
    for i in range(count):
        method, path = ("POST", "/api/orders") if i % 10 == 9 else ("GET", f"/api/{i % 3}/{i}")
        request = make_request(method=method, path=path, timestamp_start=T0 + i)
        exchanges.append(make_exchange(T0 + i, request=request, endpoint=None))
    write_exchanges(store, exchanges, "rec", max_records=per_segment)
    return store


class Counting(LocalStore):
    """A local store that counts the segments it opens."""

    opened: Counter[str]

    @contextlib.contextmanager
    def open_segment(self, key: SegmentKey) -> Iterator[IO[bytes]]:
        self.opened[str(key)] += 1
        with super().open_segment(key) as stream:
            yield stream


# -- where the shard comes from --------------------------------------------------------


def test_the_shard_is_read_from_the_option_the_environment_or_a_kubernetes_index() -> None:
    assert shard_from("2/4", None, None, {}) == Shard(2, 4)
    assert shard_from(None, None, "segment", {"PARITY_SHARD": "3/3"}) == Shard(
        3, 3, ShardBy.SEGMENT
    )
    # The option wins over the environment; Kubernetes counts from 0.
    assert shard_from("1/2", None, None, {"PARITY_SHARD": "2/2"}) == Shard(1, 2)
    assert shard_from(None, 5, None, {"JOB_COMPLETION_INDEX": "0"}) == Shard(1, 5)
    assert shard_from(None, 5, None, {"JOB_COMPLETION_INDEX": "4"}) == Shard(5, 5)
    assert shard_from(None, None, None, {}) is None


@pytest.mark.parametrize(
    ("given", "shards", "by", "environ", "says"),
    [
        ("0/4", None, None, {}, "K counts from 1 to N"),
        ("5/4", None, None, {}, "K counts from 1 to N"),
        ("two", None, None, {}, "is not K/N"),
        (None, None, None, {"PARITY_SHARD": "1-4"}, "PARITY_SHARD '1-4' is not K/N"),
        ("1/2", None, "rows", {}, "takes exchange or segment"),
        (None, None, "segment", {}, "give --replay-shard K/N"),
        (None, 3, None, {}, "JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets"),
        (None, 3, None, {"JOB_COMPLETION_INDEX": "3"}, "past the last of --replay-shards 3"),
    ],
)
def test_a_shard_that_cannot_be_read_is_one_sentence(
    given: str | None, shards: int | None, by: str | None, environ: dict[str, str], says: str
) -> None:
    with pytest.raises(UsageError, match=says):
        shard_from(given, shards, by, environ)


# -- the parts -------------------------------------------------------------------------


@pytest.mark.parametrize("by", list(ShardBy))
@pytest.mark.parametrize("count", [1, 3, 7])
@pytest.mark.parametrize("per_endpoint", [None, 8])
def test_the_parts_replay_each_selected_exchange_exactly_once(
    tmp_path: Path, by: ShardBy, count: int, per_endpoint: int | None
) -> None:
    store = store_of(tmp_path)
    selection = Selection(per_endpoint=per_endpoint, seed=3)
    allowed = lambda endpoint: endpoint.startswith("POST")  # noqa: E731
    whole = plan(store, selection, allow_unsafe=allowed)
    # A run that may send state-changing requests plans over the whole store (its
    # shards send the others' too), as `ReplayRun.plan` asks.
    parts = [
        plan(store, selection, allow_unsafe=allowed, shard=Shard(k, count, by), whole_store=True)
        for k in range(1, count + 1)
    ]
    counted = [p for part in parts for p in part if not p.carried]
    assert sorted(p.id for p in counted) == sorted(p.id for p in whole)
    assert {p.id: p.position for p in counted} == {p.id: p.position for p in whole}
    # Every part sends every state-changing request, in its recorded place, and counts
    # only its own.
    writes = [p.id for p in whole if p.unsafe]
    assert writes
    for part in parts:
        assert [p.id for p in part if p.unsafe] == writes
        assert [p.position for p in part] == sorted(p.position for p in part)


def test_split_by_segment_a_shard_reads_only_its_own_segments(tmp_path: Path) -> None:
    store_of(tmp_path)
    opened: list[Counter[str]] = []
    for index in (1, 2, 3):
        store = Counting(tmp_path / "traffic")
        store.opened = Counter()
        plan(store, Selection(), shard=Shard(index, 3, ShardBy.SEGMENT))
        opened.append(store.opened)
    listed = {str(info.key) for info in LocalStore(tmp_path / "traffic").list_segments()}
    assert len(listed) == 12
    # Each segment read once, by one shard.
    assert sum(opened, Counter()) == Counter(dict.fromkeys(listed, 1))
    assert all(part for part in opened)


def test_a_sample_or_the_whole_store_needed_makes_a_segment_shard_read_every_segment(
    tmp_path: Path,
) -> None:
    store_of(tmp_path)
    for selection, whole in ((Selection(per_endpoint=5), False), (Selection(), True)):
        store = Counting(tmp_path / "traffic")
        store.opened = Counter()
        plan(store, selection, shard=Shard(2, 3, ShardBy.SEGMENT), whole_store=whole)
        assert len(store.opened) == 12


# -- the merge's refusals --------------------------------------------------------------


def state(directory: Path, index: int, count: int, **identity: object) -> Path:
    """A shard's report directory holding a minimal state."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "kind": "parity replay state",
        "state_version": 1,
        "parity_version": "0.1.0",
        "shard": {"index": index, "count": count, "by": "exchange"},
        "identity": {"parity_version": "0.1.0", "store_segments": "abc", **identity},
        "junit": None,
        "inputs": {"store": "s", "target": "t", "seed": 0, "per_endpoint": None},
        "noise": {
            "learn": True,
            "min_count": 2,
            "relative_threshold": 0.5,
            "absolute_threshold": 0.05,
            "absorb": [],
            "window": 4096,
            "max_pairs": 500,
        },
        "terms": {},
        "damage": [],
        "sent_unsafe": False,
        "tallies": [],
    }
    (directory / STATE_FILE).write_text(json.dumps(document))
    return directory


@pytest.mark.parametrize(
    ("shards", "says"),
    [
        ([(1, 3, {}), (2, 3, {})], r"shard\(s\) 3 of 3 are missing"),
        ([(1, 2, {}), (1, 2, {}), (2, 2, {})], "are both shard 1/2"),
        ([(1, 2, {}), (2, 3, {})], "split into different numbers of parts"),
        ([(1, 2, {}), (2, 2, {"store_segments": "def"})], "differ in the store's contents"),
        ([(1, 2, {"selection": 1}), (2, 2, {"selection": 2})], "differ in the selection"),
        ([(1, 2, {"config": "a"}), (2, 2, {"config": "b"})], "project configuration"),
        ([(1, 2, {}), (2, 2, {"parity_version": "9"})], "the Parity version"),
    ],
)
def test_a_merge_refuses_what_is_not_one_run_whole(
    tmp_path: Path, shards: list[tuple[int, int, dict[str, object]]], says: str
) -> None:
    directories = [
        state(tmp_path / f"part-{n}", index, count, **identity)
        for n, (index, count, identity) in enumerate(shards)
    ]
    with pytest.raises(UsageError, match=says) as refused:
        merge_reports(directories, tmp_path / "merged")
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "merged").exists()


def test_a_merge_refuses_a_directory_without_a_state_or_of_a_newer_version(
    tmp_path: Path,
) -> None:
    with pytest.raises(UsageError, match=r"has no shard\.json: give the --replay-report"):
        merge_reports([tmp_path], tmp_path / "merged")
    newer = state(tmp_path / "newer", 1, 1)
    document = json.loads((newer / STATE_FILE).read_text())
    (newer / STATE_FILE).write_text(json.dumps({**document, "state_version": 99}))
    with pytest.raises(UsageError, match="replay state version 99"):
        merge_reports([newer], tmp_path / "merged")
    (newer / STATE_FILE).write_text("{not json")
    with pytest.raises(UsageError, match="cannot be read"):
        merge_reports([newer], tmp_path / "merged")


# -- the sums --------------------------------------------------------------------------


def mismatch(kind: int) -> dict[str, object]:
    """A mismatch whose differences make it of kind `kind` (its own field)."""
    return {"differences": [{"path": f"$.f{kind}", "kind": "changed", "expected": 1, "actual": 2}]}


def test_groups_added_up_from_parts_are_the_groups_one_process_keeps() -> None:
    import random

    from replayer.aggregate import Groups

    rng = random.Random(5)
    # 400 mismatches of 120 kinds, more than the 50 kept, in store order.
    arrivals = [(position, f"ID{position:05}", rng.randrange(120)) for position in range(400)]
    one = Groups()
    parts = [Groups() for _ in range(3)]
    for position, exchange, kind in arrivals:
        one.add(exchange, mismatch(kind), position)
        parts[hash(exchange) % 3].add(exchange, mismatch(kind), position)
    merged = Groups.from_state(parts[0].to_state())
    for part in parts[1:]:
        merged.combine(Groups.from_state(part.to_state()))
    assert merged.to_records() == one.to_records()
    assert merged.others == one.others > 0


def test_a_tally_written_and_read_back_and_one_added_up_from_parts_certify_alike() -> None:
    from replayer.certify import Outcome, Tally

    one = Tally("GET /x")
    parts = [Tally("GET /x"), Tally("GET /x")]
    for position in range(60):
        exchange = f"ID{position:05}"
        outcome = Outcome.MISMATCHED if position % 4 == 0 else Outcome.MATCHED
        example = mismatch(position % 7) if outcome is Outcome.MISMATCHED else None
        paths = [f"$.f{position % 7}"] if example else []
        for tally in (one, parts[position % 2]):
            tally.add(
                outcome,
                exchange,
                paths,
                blind=position % 3,
                example=example,
                latency=(1.0 + position, 2.0 + position / 2),
                position=position,
            )
    merged = Tally.from_state(json.loads(json.dumps(parts[0].to_state())))
    merged.combine(Tally.from_state(json.loads(json.dumps(parts[1].to_state()))))
    assert merged.to_record(1.0, 1) == one.to_record(1.0, 1)
    assert Tally.from_state(one.to_state()).to_record(0.5, 100) == one.to_record(0.5, 100)


def test_a_shard_with_nothing_to_replay_still_writes_its_state(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = LocalStore(tmp_path / "traffic")
    write_exchanges(store, [make_exchange(T0, endpoint=None)], "rec")
    statuses = []
    for index in (1, 2, 3):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--replay",
                f"--replay-from={tmp_path / 'traffic'}",
                "--replay-target=http://127.0.0.1:9",
                f"--replay-shard={index}/3",
                f"--replay-report={tmp_path / f'shard-{index}'}",
                "-p",
                "no:cacheprovider",
                "-q",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        statuses.append(done.returncode)
        assert (tmp_path / f"shard-{index}" / STATE_FILE).is_file(), done.stdout + done.stderr
    # One shard got the exchange (nothing listens on port 9: no answer); two got nothing.
    assert sorted(statuses) == [1, 5, 5]
    merged = merge_reports([tmp_path / f"shard-{k}" for k in (1, 2, 3)], tmp_path / "merged")
    (endpoint,) = merged.document["endpoints"]
    assert endpoint["error"] == 1

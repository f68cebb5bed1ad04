"""What a run concluded, whole: the tallies behind its certification, and what they were
judged by. One run writes it beside its reports (``shard.json``); ``parity report merge``
reads the shards' and adds them up (`replayer.merge`).

A run's `RunState` is everything `replayer.report` needs to write the table,
certification.json and report.html, so a merge writes them with the same code
from the sum of the shards' states. What must be equal for shards to be parts
of one run is kept apart (`RunState.identity`): the store's contents, the
selection, the settings that decide verdicts, and Parity's version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from parity import __version__
from parity.compare.evidence import NoiseSettings
from parity.compare.graphql import profile
from parity.store import Store
from replayer.certify import Outcome, Tally, Verdict, verdict
from replayer.shard import Shard, ShardBy

if TYPE_CHECKING:
    from replayer.run import ReplayRun

__all__ = [
    "STATE_FILE",
    "STATE_VERSION",
    "RunState",
    "combined",
    "identity_of",
    "store_listing",
]

#: The file a run writes beside certification.json.
STATE_FILE: Final = "shard.json"
#: 1: the first.
STATE_VERSION: Final = 1


@dataclass
class RunState:
    """A run's tallies and what judged them."""

    #: What certification.json states of the run's inputs (store, target, seed, ...).
    inputs: dict[str, Any]
    noise: NoiseSettings
    tallies: dict[str, Tally]
    #: Per endpoint: its threshold, minimum samples and comparison profile.
    terms: dict[str, tuple[float, int, str]]
    #: Damaged parts of the store, as messages.
    damage: list[str] = field(default_factory=list)
    #: Whether a request not shown safe was sent.
    sent_unsafe: bool = False
    #: What shards of one run share (`identity_of`): set when the state is written.
    identity: dict[str, Any] = field(default_factory=dict)
    shard: Shard | None = None
    #: The JUnit XML file pytest wrote, by its name in the report directory, if it did.
    junit: str | None = None
    #: What a test item stood for: an exchange, or an endpoint.
    granularity: str = "exchange"

    @classmethod
    def of_run(cls, run: ReplayRun) -> RunState:
        settings = run.settings
        terms = {}
        for endpoint in run.tallies:
            threshold, samples = settings.threshold_for(endpoint)
            # How its answers were compared: as JSON, or as GraphQL clients read them.
            shape = profile(endpoint, run.rules.for_endpoint(endpoint))
            terms[endpoint] = (threshold, samples, shape)
        return cls(
            inputs={
                "store": settings.store,
                "target": settings.target,
                "seed": settings.seed,
                "per_endpoint": settings.per_endpoint,
                "threshold": settings.threshold,
                "min_samples": settings.min_samples,
                "thresholds": [
                    {"endpoint": t.pattern, "threshold": t.threshold, "min_samples": t.min_samples}
                    for t in settings.thresholds
                ],
                "max_p99_ratio": settings.max_p99_ratio,
            },
            noise=run.noise.settings,
            tallies=run.tallies,
            terms=terms,
            damage=[damage.message for damage in run.damage],
            sent_unsafe=run.sent_unsafe,
            shard=settings.shard,
            granularity=settings.granularity.value,
        )

    @property
    def budget(self) -> float | None:
        value = self.inputs.get("max_p99_ratio")
        return None if value is None else float(value)

    def verdict(self, endpoint: str) -> Verdict:
        threshold, samples, _ = self.terms[endpoint]
        return verdict(self.tallies[endpoint], threshold, samples, self.noise, self.budget)

    def vetoed(self) -> list[tuple[str, str, str]]:
        """(endpoint, path, why) for noise that does not explain the candidate's differences."""
        found = []
        for endpoint, tally in sorted(self.tallies.items()):
            for path in tally.vetoed(self.noise):
                found.append(
                    (
                        endpoint,
                        path,
                        f"the candidate differed there in {tally.absorbed[path]} of "
                        f"{tally.compared} exchanges; the noise {tally.noise[path].describe()}",
                    )
                )
        return found

    def slower(self) -> list[str]:
        """Endpoints that answered alike but more slowly than the latency budget allows."""
        if self.budget is None:
            return []
        return [e for e in sorted(self.tallies) if self.verdict(e) is Verdict.SLOWER]

    def failed_items(self) -> bool:
        """Whether any exchange failed as a test: mismatched or not answered."""
        failing = (Outcome.MISMATCHED.value, Outcome.ERROR.value)
        return any(tally.counts[name] for tally in self.tallies.values() for name in failing)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "parity replay state",
            "state_version": STATE_VERSION,
            "parity_version": __version__,
            "shard": None
            if self.shard is None
            else {"index": self.shard.index, "count": self.shard.count, "by": self.shard.by.value},
            "identity": self.identity,
            "junit": self.junit,
            "granularity": self.granularity,
            "inputs": self.inputs,
            "noise": {**dataclasses.asdict(self.noise), "absorb": list(self.noise.absorb)},
            "terms": {e: list(t) for e, t in self.terms.items()},
            "damage": self.damage,
            "sent_unsafe": self.sent_unsafe,
            "tallies": [tally.to_state() for tally in self.tallies.values()],
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> RunState:
        """The state `to_json` wrote (its version checked by the caller)."""
        noise = dict(document["noise"])
        noise["absorb"] = tuple(noise["absorb"])
        shard = document["shard"]
        tallies = [Tally.from_state(state) for state in document["tallies"]]
        return cls(
            inputs=document["inputs"],
            noise=NoiseSettings(**noise),
            tallies={tally.endpoint: tally for tally in tallies},
            terms={e: (float(t[0]), int(t[1]), str(t[2])) for e, t in document["terms"].items()},
            damage=list(document["damage"]),
            sent_unsafe=bool(document["sent_unsafe"]),
            identity=document["identity"],
            shard=None
            if shard is None
            else Shard(int(shard["index"]), int(shard["count"]), ShardBy(shard["by"])),
            junit=document["junit"],
            granularity=str(document.get("granularity", "exchange")),
        )


def identity_of(run: ReplayRun) -> dict[str, Any]:
    """What every shard of one run has alike: the store's contents in the selected time
    range, the selection, every setting that decides what is replayed and how it is
    judged, the project's comparison and noise configuration, and Parity's version."""
    settings = run.settings
    config = run.tables
    return {
        "parity_version": __version__,
        "store_segments": store_listing(run.store, settings.since, settings.until),
        "selection": {
            "endpoints": list(settings.endpoints),
            "since": _time(settings.since),
            "until": _time(settings.until),
            "per_endpoint": settings.per_endpoint,
            "seed": settings.seed,
        },
        "settings": {
            "threshold": settings.threshold,
            "min_samples": settings.min_samples,
            "max_p99_ratio": settings.max_p99_ratio,
            "unsafe": settings.unsafe,
            "safe": list(settings.safe),
            "keep_origin": settings.keep_origin,
            "noise_runs": settings.noise_runs,
            "hermetic": settings.hermetic,
            "hermetic_match": list(settings.hermetic_match),
            "header_names": sorted({name.lower() for name, _ in settings.headers}),
            "shard_by": None if settings.shard is None else settings.shard.by.value,
            "granularity": settings.granularity.value,
        },
        "config": _digest(config),
    }


def store_listing(store: Store, since: datetime | None, until: datetime | None) -> str:
    """A digest of the segments a run in [since, until) lists: equal for the same
    contents, wherever the store is mounted."""
    listing = sorted(f"{info.key}:{info.size}" for info in store.list_segments(since, until))
    return _digest(listing)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def combined(states: Iterable[RunState]) -> RunState:
    """The states of a run's shards added up (checked alike by the caller): the tallies
    endpoint by endpoint, damage once per part."""
    parts = list(states)
    first = parts[0]
    tallies: dict[str, Tally] = {}
    terms: dict[str, tuple[float, int, str]] = {}
    damage: list[str] = []
    for part in parts:
        for endpoint, tally in part.tallies.items():
            if endpoint in tallies:
                tallies[endpoint].combine(tally)
            else:
                tallies[endpoint] = tally
            terms.setdefault(endpoint, part.terms[endpoint])
        damage.extend(message for message in part.damage if message not in damage)
    targets = list(dict.fromkeys(str(part.inputs["target"]) for part in parts))
    return RunState(
        inputs={**first.inputs, "target": ", ".join(targets)},
        noise=first.noise,
        tallies=tallies,
        terms=terms,
        damage=damage,
        sent_unsafe=any(part.sent_unsafe for part in parts),
        identity=first.identity,
        granularity=first.granularity,
    )

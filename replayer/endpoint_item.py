"""The test item of an endpoint, under ``--replay-granularity=endpoint``.

Its node id is ``replay/<endpoint>``. Running it judges the run's stream of
exchanges up to the endpoint's last one (`replayer.stream`); it then passes
when the endpoint is certified and fails, showing the largest groups of
mismatches with an example and how to reproduce it, when its verdict is
failed, insufficient samples or slower. An endpoint none of whose exchanges
is replayed is a skipped item, with the reason.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from parity.compare.evidence import NoiseSettings
from parity.terminal import printable
from replayer.certify import Outcome, Tally, Verdict, verdict
from replayer.judge import elide
from replayer.stream import EndpointPlan, EndpointStream

__all__ = ["EndpointFailure", "EndpointItem", "verdict_failure"]

#: Groups of mismatches a failure shows, largest first; the rest are counted.
_GROUPS_SHOWN = 5
#: Differences shown of each group's example.
_DIFFERENCES_SHOWN = 3


class EndpointFailure(Exception):
    """The endpoint's verdict is not certified."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(lines[0])
        self.lines = lines


class EndpointItem(pytest.Item):
    """One endpoint: its exchanges judged as the stream reaches them, then its verdict."""

    def __init__(self, *, plan: EndpointPlan, stream: EndpointStream, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.stream = stream
        # In JUnit XML as in exchange items; with no outcome, the tallies pass it by.
        self.user_properties.append(("parity_endpoint", plan.endpoint))
        if not plan.runnable:
            self.add_marker(pytest.mark.skip(reason=plan.skip_reason))
            self.user_properties.append(("parity_verdict", Verdict.SKIPPED.value))

    @classmethod
    def create(
        cls, session: pytest.Session, plan: EndpointPlan, stream: EndpointStream
    ) -> EndpointItem:
        """The item of one endpoint, with node id ``replay/<endpoint>``."""
        name = f"replay/{plan.endpoint}"
        item: EndpointItem = cls.from_parent(
            session, name=name, nodeid=name, plan=plan, stream=stream
        )
        return item

    def runtest(self) -> None:
        endpoint = self.plan.endpoint
        self.stream.pump(endpoint)
        run = self.stream.run
        tally = run.tallies[endpoint]
        settings = run.settings
        threshold, samples = settings.threshold_for(endpoint)
        noise, budget = run.noise.settings, settings.max_p99_ratio
        reached = verdict(tally, threshold, samples, noise, budget)
        counts = tally.settled(noise)
        self.user_properties += [
            ("parity_verdict", reached.value),
            ("parity_counts", json.dumps({o.value: counts[o.value] for o in Outcome})),
        ]
        failure = verdict_failure(
            tally, reached, threshold, samples, noise, self.stream.errors.get(endpoint)
        )
        if failure is not None:
            raise EndpointFailure(failure)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        # What the recording and the candidate hold is shown, never obeyed by the terminal.
        error = excinfo.value
        if isinstance(error, EndpointFailure):
            return printable("\n".join(error.lines), keep="\n")
        return printable(str(super().repr_failure(excinfo)), keep="\n")

    def reportinfo(self) -> tuple[Any, int, str]:
        # No source line: the item lives in the store.
        return self.path, 0, self.name


def verdict_failure(
    tally: Tally,
    reached: Verdict,
    threshold: float,
    samples: int,
    noise: NoiseSettings,
    error: str | None = None,
) -> list[str] | None:
    """What an endpoint's item shows when its verdict (`reached`) fails it: why, the first
    answer that never came (`error`), refuted noise, and its largest groups of mismatches;
    None when it passes. ``parity report merge`` writes the same for a sharded run."""
    if reached not in (Verdict.FAILED, Verdict.INSUFFICIENT, Verdict.SLOWER):
        return None
    counts = tally.settled(noise)
    lines = _verdict_lines(tally, reached, counts, threshold, samples)
    if error is not None:
        errors = counts[Outcome.ERROR.value]
        lines.append(f"  {errors} exchange(s) got no answer; the first: {error}")
    for vetoed in tally.vetoed(noise):
        lines.append(
            f"  noise at {vetoed} does not explain how often the candidate differed "
            "there; the exchanges it let match count as mismatched"
        )
    return [*lines, *_groups(tally)]


def _verdict_lines(
    tally: Tally, reached: Verdict, counts: Counter[str], threshold: float, samples: int
) -> list[str]:
    """Why the endpoint is not certified, in a line or two."""
    compared = tally.compared
    matched = counts[Outcome.MATCHED.value]
    rate = matched / compared if compared else 0.0
    lines = [
        f"{tally.endpoint}: {reached.value}: {matched} of {compared} exchange(s) matched "
        f"({rate:.1%}; certified from {threshold:.1%}), "
        f"{counts[Outcome.MISMATCHED.value]} mismatched, "
        f"{counts[Outcome.ERROR.value]} without an answer"
    ]
    if reached is Verdict.INSUFFICIENT:
        lines.append(
            f"  only {compared} exchange(s) were compared, and it needs {samples} "
            "(--replay-min-samples)"
        )
    if reached is Verdict.SLOWER:
        ratio = tally.latency.p99_ratio() or 0.0
        lines.append(
            f"  the candidate's p99 answer time is {ratio:.2f} times the monolith's, more "
            "than --replay-max-p99-ratio allows"
        )
    return lines


def _groups(tally: Tally) -> Iterator[str]:
    """The largest groups of mismatches: where they differ, an example, how to reproduce."""
    groups = tally.groups.to_records()
    if groups:
        yield "largest groups of mismatches (exchanges differing at the same fields, alike):"
    for number, group in enumerate(groups[:_GROUPS_SHOWN], 1):
        fields = ", ".join(f"{s['path']} [{s['kind']}]" for s in group["signature"])
        yield f"  {number}. {group['exchanges']} exchange(s) differ at {fields}"
        example = group["example"]
        if example is None:
            continue
        yield f"     for example exchange {example['exchange']}:"
        for difference in example["differences"][:_DIFFERENCES_SHOWN]:
            yield (
                f"       {difference['path']}: expected {elide(difference['expected'])}, "
                f"actual {elide(difference['actual'])}"
            )
            if difference.get("hint"):
                yield f"         ({difference['hint']})"
        if len(example["differences"]) > _DIFFERENCES_SHOWN:
            more = len(example["differences"]) - _DIFFERENCES_SHOWN
            yield f"       ... and {more} more difference(s)"
        if example.get("reproduce"):
            yield "     reproduce:"
            yield from (f"       {command}" for command in example["reproduce"])
    hidden = sum(group["exchanges"] for group in groups[_GROUPS_SHOWN:]) + tally.groups.others
    if hidden:
        yield (
            f"  ... and {hidden} more mismatched exchange(s) of other kinds "
            "(--replay-report writes every group)"
        )

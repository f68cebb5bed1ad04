"""The test items of a replay run: one per recorded exchange.

An item's node id is ``replay/<endpoint>/<exchange-id>``: stable across runs
of the same store, so ``-k``, ``--lf``, ``-x``, JUnit XML and pytest-xdist
work as pytest users expect. Under ``--dist loadgroup`` the workers give them
the endpoint as their ``@group`` suffix, so an endpoint stays on one worker.

An item does not send its request itself: the run's `Sender` has usually
sent it already, ahead of the item, with other requests in flight. The item
takes the answer, compares it with the recorded one, and reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from parity.compare.differences import Comparison
from parity.terminal import printable
from replayer.certify import Outcome
from replayer.judge import Judgement, elide, shown_body
from replayer.selection import Planned

if TYPE_CHECKING:
    from replayer.run import ReplayRun

__all__ = ["Mismatch", "ReplayItem", "TargetFailure", "elide", "shown_body"]


class Mismatch(Exception):
    """The candidate's answer differs from the monolith's."""

    def __init__(self, judgement: Judgement) -> None:
        assert judgement.comparison is not None
        super().__init__(f"{len(judgement.comparison.differences)} difference(s)")
        self.judgement = judgement

    @property
    def comparison(self) -> Comparison:
        assert self.judgement.comparison is not None
        return self.judgement.comparison


class TargetFailure(Exception):
    """The candidate gave no answer: refused, timed out, reset, or the app raised."""

    def __init__(self, judgement: Judgement) -> None:
        super().__init__("; ".join([judgement.error or "no answer", *judgement.calls]))
        self.judgement = judgement


class ReplayItem(pytest.Item):
    """One recorded exchange, replayed against the candidate and compared."""

    def __init__(self, *, planned: Planned, run: ReplayRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.run = run
        # Only what is used is attached: a run may hold 100,000 of these items.
        if planned.skip is not None:
            self.add_marker(pytest.mark.skip(reason=planned.skip))
            self.user_properties += [
                ("parity_endpoint", planned.endpoint),
                ("parity_exchange", planned.id),
                ("parity_outcome", Outcome.SKIPPED.value),
                ("parity_skip", planned.skip),
            ]

    @classmethod
    def create(cls, session: pytest.Session, planned: Planned, run: ReplayRun) -> ReplayItem:
        """The item for one planned exchange, with node id ``replay/<endpoint>/<id>``."""
        name = f"replay/{planned.endpoint}/{planned.id}"
        nodeid = f"{name}@{planned.endpoint}" if run.grouped else name
        item: ReplayItem = cls.from_parent(
            session, name=name, nodeid=nodeid, planned=planned, run=run
        )
        return item

    def runtest(self) -> None:
        planned = self.planned
        exchange, answer = self.run.answer(planned)
        sent = self.run.take_sent(planned.id)
        judgement = self.run.judge(
            exchange, planned.endpoint, planned.unsafe, answer, sent, planned.position
        )
        self.user_properties.extend(judgement.properties())
        self.run.tally(self.nodeid, judgement)
        if judgement.outcome is Outcome.ERROR:
            raise TargetFailure(judgement)
        if judgement.outcome is Outcome.MISMATCHED:
            raise Mismatch(judgement)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        # What the recording and the candidate hold is shown, never obeyed by the terminal.
        error = excinfo.value
        if isinstance(error, Mismatch | TargetFailure):
            return printable("\n".join(error.judgement.failure_lines()), keep="\n")
        return printable(str(super().repr_failure(excinfo)), keep="\n")

    def reportinfo(self) -> tuple[Any, int, str]:
        # No source line: the item lives in the store. Position 0 keeps skip reports whole.
        return self.path, 0, self.name

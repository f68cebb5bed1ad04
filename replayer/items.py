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

import dataclasses
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from parity.compare.differences import Comparison, Difference, DiffKind
from parity.compare.engine import blind_values, compare
from parity.compare.graphql import is_graphql
from parity.compare.rules import Rules
from parity.compare.suggest import hint
from parity.sanitize.engine import removed_credentials
from parity.terminal import printable
from parity.traffic.exchange import Exchange, Response
from replayer.aggregate import signature
from replayer.certify import Outcome
from replayer.origin import Origin, as_recorded
from replayer.selection import Planned
from replayer.target import curl_command, outgoing

if TYPE_CHECKING:
    from parity.traffic.exchange import Request
    from replayer.run import ReplayRun

__all__ = ["Mismatch", "ReplayItem", "TargetFailure", "elide", "shown_body"]

#: Longest value shown in a failure before it is elided.
_SHOWN = 200
#: Differences listed in a failure; the rest are counted.
_LISTED = 10
#: Characters of each body kept for the report's side-by-side view.
_BODY_SHOWN = 64 * 1024


def elide(value: Any, limit: int = _SHOWN) -> str:
    """A value as JSON text, shortened in the middle when it is long."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def shown_body(content: bytes, limit: int = _BODY_SHOWN) -> str:
    """A body as the report shows it: JSON pretty-printed with sorted keys (so key order
    does not show as a difference), other text as it is, binary as a note; cut at `limit`."""
    try:
        text = json.dumps(json.loads(content), indent=2, sort_keys=True, ensure_ascii=False)
    except (ValueError, RecursionError):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return f"({len(content)} bytes of binary content)"
    if len(text) > limit:
        return text[:limit] + f"\n... ({len(text) - limit} more characters)"
    return text


def _answer_ms(exchange: Exchange) -> float | None:
    """How long the monolith took to answer, as the recorder saw it: from the request
    received whole to the answer received whole (ms), or None when not recorded."""
    response = exchange.response
    sent = exchange.request.timestamp_end
    if response is None or sent is None or response.timestamp_end is None:
        return None
    elapsed = response.timestamp_end - sent
    return round(elapsed * 1000, 3) if elapsed >= 0 else None


class Mismatch(Exception):
    """The candidate's answer differs from the monolith's."""

    def __init__(self, comparison: Comparison) -> None:
        super().__init__(f"{len(comparison.differences)} difference(s)")
        self.comparison = comparison


class TargetFailure(Exception):
    """The candidate gave no answer: refused, timed out, reset, or the app raised."""


class ReplayItem(pytest.Item):
    """One recorded exchange, replayed against the candidate and compared."""

    def __init__(self, *, planned: Planned, run: ReplayRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.run = run
        #: The request sent, kept only when the item fails.
        self.sent: Request | None = None
        #: The candidate's address, the recorded one, and in how many places it was read so.
        self.origin_read: tuple[Origin, Origin, int] | None = None
        #: Credential headers the recorder removed and this run did not give back.
        self.lacking: list[str] = []
        # Only what is used is attached: a run may hold 100,000 of these items.
        if planned.skip is not None:
            self.add_marker(pytest.mark.skip(reason=planned.skip))
            self._properties(Outcome.SKIPPED)
            self.user_properties.append(("parity_skip", planned.skip))

    def _properties(self, outcome: Outcome) -> None:
        """What reports carry of this item: read by the tallies and written to JUnit XML."""
        self.user_properties += [
            ("parity_endpoint", self.planned.endpoint),
            ("parity_exchange", self.planned.id),
            ("parity_outcome", outcome.value),
        ]
        if self.planned.unsafe is not None and self.planned.skip is None:
            self.user_properties.append(("parity_unsafe", self.planned.unsafe))

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
        exchange, answer = self.run.answer(self.planned)
        sent = self.run.take_sent(self.planned.id)
        hermetic = self.run.hermetic
        outbound = hermetic.finish(self.planned.id) if hermetic is not None else []
        if answer.response is None:
            self.sent = sent
            self._record(Outcome.ERROR, [])
            calls = [d.path for d in outbound if d.kind is DiffKind.ADDED]  # what made it fail
            raise TargetFailure("; ".join([answer.error or "no answer", *calls]))
        assert exchange.response is not None  # planned without a skip: it was answered
        # Both sides' answer times, the monolith's as the recorder saw them (ms).
        times = [_answer_ms(exchange), round(answer.elapsed * 1000, 3)]
        self.user_properties.append(("parity_latency", json.dumps(times)))
        endpoint = self.planned.endpoint
        rules = self.run.rules.for_endpoint(endpoint)
        actual = answer.response
        candidate = self.run.candidate_origin
        if candidate is not None:
            recorded = Origin.of_request(exchange.request)
            actual, places = as_recorded(actual, candidate, recorded)
            if places:
                self.origin_read = (candidate, recorded, places)
                read = {"candidate": candidate.url, "recorded": recorded.url, "places": places}
                self.user_properties.append(("parity_origin", json.dumps(read)))
        graphql = is_graphql(endpoint)
        comparison = compare(exchange.response, actual, rules, graphql=graphql)
        compared = exchange.response, actual
        if not comparison.matched and "sanitised" in exchange.meta:
            comparison, compared = self._compared_sanitised(exchange, actual, rules, comparison)
        # Values redacted alike on both sides were equal without being compared: counted.
        if blind := blind_values(*compared):
            self.user_properties.append(("parity_blind", blind))
        comparison, noise = self.run.noise.absorb(endpoint, comparison)
        if outbound:  # the candidate's own calls: never noise, never a rule's to hide
            comparison = Comparison((*comparison.differences, *outbound), comparison.ignored)
        paths = [difference.path for difference in comparison.differences]
        self._record(Outcome.MATCHED if comparison.matched else Outcome.MISMATCHED, paths)
        if noise:
            noted = [evidence.to_record() for evidence in noise]
            self.user_properties.append(("parity_noise", json.dumps(noted)))
        if noise or not comparison.matched:  # it may be shown as an example: the earliest are
            self.user_properties.append(("parity_position", self.planned.position))
        ruled = [rule for _, rule in comparison.ignored if not rule.startswith("noise: ")]
        if ruled:
            self.user_properties.append(("parity_ignored", json.dumps(ruled)))
        if not comparison.matched:
            self.sent = sent
            self.lacking = self._lacking(exchange, sent)
            record = comparison.to_record()
            shown_differences = record["differences"]
            for shown, difference in zip(shown_differences, comparison.differences, strict=True):
                likely = self._hint(difference)
                if likely is not None:
                    shown["hint"] = likely
            self.user_properties.append(("parity_comparison", json.dumps(record)))
            # The report shows one example of each kind of mismatch, bodies included.
            if self.run.keep_bodies(endpoint, signature(record["differences"])):
                bodies = {
                    "expected": shown_body(exchange.response.body.content),
                    "actual": shown_body(actual.body.content),
                }
                self.user_properties.append(("parity_bodies", json.dumps(bodies)))
            self.user_properties.append(("parity_reproduce", json.dumps(list(self._commands()))))
            raise Mismatch(comparison)

    def _compared_sanitised(
        self, exchange: Exchange, actual: Response, rules: Rules, raw: Comparison
    ) -> tuple[Comparison, tuple[Response, Response]]:
        """The comparison with the candidate's answer sanitised as the recording was, and
        the two answers it compared.

        The monolith's answer was stored sanitised: a candidate answering in
        clear matches it once its answer goes through the same policy. With the
        recording's key, a clear value becomes its recorded pseudonym. Without
        it, both answers are redacted alike, so values compare by kind: an
        email with an email, a name field with a name field. A candidate serving
        data masked with the same key answers with the pseudonyms themselves,
        which the raw comparison already matches; so the comparison with fewer
        differences counts, and what sanitising explained is listed as ignored.
        """
        sanitiser = self.run.sanitiser
        recorded = exchange.response
        assert recorded is not None
        expected: Response = recorded
        rule = (
            "the recording was sanitised: the candidate's answer was sanitised the same way, "
            "with the recording's key, before comparing"
        )
        if not sanitiser.pseudonymiser.keyed:
            rule = (
                "the recording was sanitised and this run has no key: values compared by what "
                "they are (an email with an email), not by value"
            )
            redone = sanitiser(dataclasses.replace(exchange, meta={})).response
            assert redone is not None
            expected = redone
        answered = sanitiser(dataclasses.replace(exchange, response=actual, meta={})).response
        assert answered is not None
        again = compare(expected, answered, rules, graphql=is_graphql(self.planned.endpoint))
        if len(again.differences) >= len(raw.differences):
            return raw, (recorded, actual)
        remaining = {difference.path for difference in again.differences}
        explained = tuple(
            (difference, rule) for difference in raw.differences if difference.path not in remaining
        )
        return dataclasses.replace(again, ignored=again.ignored + explained), (expected, answered)

    def _record(self, outcome: Outcome, paths: list[str]) -> None:
        self._properties(outcome)
        if paths:
            self.user_properties.append(("parity_paths", json.dumps(paths)))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        # What the recording and the candidate hold is shown, never obeyed by the terminal.
        return printable(self._explained(excinfo), keep="\n")

    def _explained(self, excinfo: Any) -> str:
        error = excinfo.value
        if isinstance(error, Mismatch):
            return "\n".join(self._mismatch_lines(error.comparison))
        if isinstance(error, TargetFailure):
            return "\n".join(
                [f"{self.planned.endpoint}: the candidate gave no answer: {error}", *self._repro()]
            )
        return str(super().repr_failure(excinfo))

    def _mismatch_lines(self, comparison: Comparison) -> Iterator[str]:
        differences = comparison.differences
        yield (
            f"{self.planned.endpoint}: the candidate's answer differs from the monolith's "
            f"in {len(differences)} place(s) (exchange {self.planned.id})"
        )
        for difference in differences[:_LISTED]:
            yield f"  {difference.path}  [{difference.kind.value}]"
            yield f"      expected: {elide(difference.expected)}"
            yield f"      actual:   {elide(difference.actual)}"
            likely = self._hint(difference)
            if likely is not None:
                yield f"      ({likely})"
        if len(differences) > _LISTED:
            yield f"  ... and {len(differences) - _LISTED} more difference(s)"
        noise = sum(1 for _, rule in comparison.ignored if rule.startswith("noise: "))
        if noise:
            yield f"  ({noise} difference(s) absorbed as learned noise)"
        if len(comparison.ignored) > noise:
            ruled = len(comparison.ignored) - noise
            yield f"  ({ruled} difference(s) ignored by normalisation rules)"
        if self.origin_read is not None:
            candidate, recorded, places = self.origin_read
            yield (
                f"  (the candidate's address {candidate.url} was read as the recorded "
                f"{recorded.url} in {places} place(s); --replay-keep-origin compares it as it is)"
            )
        yield from self._repro()

    def _lacking(self, exchange: Exchange, sent: Request | None) -> list[str]:
        """The credential headers the recorder removed that the request went out without."""
        headers = sent.headers if sent is not None else exchange.request.headers
        given = {name.lower() for name, _ in self.run.extra_headers}
        return [
            name
            for name in removed_credentials(exchange)
            if name not in given and name not in headers
        ]

    def _hint(self, difference: Difference) -> str | None:
        """What likely explains a difference: noise by its shape, or a credential the
        recording lost when the candidate refused the request."""
        refused = difference.path == "status" and difference.actual in (401, 403)
        if refused and self.lacking and difference.expected not in (401, 403):
            names = " and ".join(self.lacking)
            return (
                f"the recorder removed this request's {names}, so it was replayed without; "
                "give the replay a test credential with [[tool.parity.replay.credentials]] "
                f"endpoints = {self.planned.endpoint!r}, header = {self.lacking[0]!r}, env = "
                "a variable that holds it (docs/REPLAYING.md, 'Credentials')"
            )
        return hint(difference)

    def _repro(self) -> Iterator[str]:
        if self.sent is not None:
            yield "reproduce:"
            yield from (f"  {command}" for command in self._commands())

    def _commands(self) -> Iterator[str]:
        """How to send this request again, and to show the recording (when it was sent)."""
        request = self.sent
        if request is None:
            return
        method, target, headers, body = outgoing(request, self.run.extra_headers)
        credentials = self.run.settings.credentials
        headers = credentials.shown(headers)  # a credential by its variable, never its value
        if self.run.target_url is not None:
            yield curl_command(
                self.run.target_url, method, target, headers, body, credentials.variables()
            )
        else:
            yield f"{method} {target} against {self.run.settings.target} (in-process)"
        yield f"parity show {self.run.settings.store} {self.planned.id}"

    def reportinfo(self) -> tuple[Any, int, str]:
        # No source line: the item lives in the store. Position 0 keeps skip reports whole.
        return self.path, 0, self.name

"""Judging one replayed exchange: the candidate's answer against the recorded one.

Both granularities of a replay run judge exchanges the same way: an item per
exchange (`replayer.items`) reports its `Judgement` as `user_properties`,
which the tallies read back at the controller; an item per endpoint
(`replayer.stream`) adds each judgement straight to the run's tallies. What a
judgement adds to a tally is the same either way (`Judgement.tally`), so the
certification comes out the same.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parity.compare.differences import Comparison, Difference, DiffKind
from parity.compare.engine import blind_values, compare
from parity.compare.evidence import Evidence
from parity.compare.graphql import is_graphql
from parity.compare.rules import Rules
from parity.compare.suggest import hint
from parity.sanitize.engine import removed_credentials
from parity.traffic.exchange import Exchange, Response
from replayer.aggregate import signature
from replayer.certify import Outcome, Tally
from replayer.origin import Origin, as_recorded
from replayer.target import curl_command, outgoing

if TYPE_CHECKING:
    from parity.traffic.exchange import Request
    from replayer.run import ReplayRun
    from replayer.target import Reply

__all__ = ["Judge", "Judgement", "answer_ms", "elide", "shown_body"]

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


def _json_number(value: float | None) -> str:
    """A finite number, or None, as JSON writes it."""
    return "null" if value is None else repr(value)


def answer_ms(exchange: Exchange) -> float | None:
    """How long the monolith took to answer, as the recorder saw it: from the request
    received whole to the answer received whole (ms), or None when not recorded."""
    response = exchange.response
    sent = exchange.request.timestamp_end
    if response is None or sent is None or response.timestamp_end is None:
        return None
    elapsed = response.timestamp_end - sent
    return round(elapsed * 1000, 3) if elapsed >= 0 else None


@dataclass(slots=True)
class Judgement:
    """What one replayed exchange came to, and what its failure shows."""

    endpoint: str
    exchange_id: str
    outcome: Outcome
    #: Why sending the request could change state (it was sent: the run allowed it).
    unsafe: str | None = None
    #: Why the candidate gave no answer (outcome `error`).
    error: str | None = None
    #: The monolith's recorded and the candidate's answer times (ms).
    latency: tuple[float | None, float] | None = None
    #: The candidate's address, the recorded one, and in how many places it was read so.
    origin: tuple[Origin, Origin, int] | None = None
    blind: int = 0
    paths: list[str] = field(default_factory=list)
    noise: tuple[Evidence, ...] = ()
    #: Differences normalisation rules ignored, by rule.
    ignored: list[str] = field(default_factory=list)
    #: What differed, for a mismatch, with the hint for each difference.
    comparison: Comparison | None = None
    hints: list[str | None] = field(default_factory=list)
    #: The comparison as reports hold it (hints included), its bodies if they are kept,
    #: and the commands that reproduce a failure.
    record: dict[str, Any] | None = None
    bodies: dict[str, str] | None = None
    reproduce: list[str] = field(default_factory=list)
    #: The outbound calls that made the candidate fail (hermetic runs).
    calls: list[str] = field(default_factory=list)
    #: Where the exchange lies in the store: examples are the earliest recorded.
    position: int = 0

    def properties(self) -> Iterator[tuple[str, object]]:
        """The judgement as an item's `user_properties` (read back by `count_report`)."""
        if self.latency is not None:  # JSON, written here: json.dumps costs more per item
            yield "parity_latency", "[" + ", ".join(map(_json_number, self.latency)) + "]"
        if self.origin is not None:
            candidate, recorded, places = self.origin
            read = {"candidate": candidate.url, "recorded": recorded.url, "places": places}
            yield "parity_origin", json.dumps(read)
        if self.blind:
            yield "parity_blind", self.blind
        yield "parity_endpoint", self.endpoint
        yield "parity_exchange", self.exchange_id
        yield "parity_outcome", self.outcome.value
        if self.unsafe is not None:
            yield "parity_unsafe", self.unsafe
        if self.paths:
            yield "parity_paths", json.dumps(self.paths)
        if self.noise:
            yield "parity_noise", json.dumps([evidence.to_record() for evidence in self.noise])
        if self.ignored:
            yield "parity_ignored", json.dumps(self.ignored)
        if self.noise or self.record is not None:  # it may be shown as an example
            yield "parity_position", self.position
        if self.record is not None:
            yield "parity_comparison", json.dumps(self.record)
            if self.bodies is not None:
                yield "parity_bodies", json.dumps(self.bodies)
            yield "parity_reproduce", json.dumps(self.reproduce)

    def tally(self, tallies: dict[str, Tally]) -> None:
        """Add this judgement to the run's `tallies` as `count_report` adds it from an
        item's report: values go through JSON alike, so either way counts the same."""
        tally = tallies.get(self.endpoint)
        if tally is None:
            tally = tallies[self.endpoint] = Tally(self.endpoint)
        example = None
        if self.record is not None:
            example = json.loads(json.dumps(self.record))
            example.pop("matched", None)
            if self.bodies is not None:
                example["bodies"] = dict(self.bodies)
            example["reproduce"] = list(self.reproduce)
        noise = [Evidence.from_record(e.to_record()) for e in self.noise] if self.noise else None
        tally.add(
            self.outcome,
            self.exchange_id,
            self.paths if self.outcome is Outcome.MISMATCHED else [],
            "",
            self.ignored or None,
            noise,
            blind=self.blind,
            example=example,
            latency=self.latency or (None, None),
            position=self.position,
        )

    def failure_lines(self) -> Iterator[str]:
        """What a failed exchange shows: its differences, or why there was no answer, and
        how to reproduce it."""
        if self.outcome is Outcome.ERROR:
            error = "; ".join([self.error or "no answer", *self.calls])
            yield f"{self.endpoint}: the candidate gave no answer: {error}"
            yield from self.reproduce_lines()
            return
        assert self.comparison is not None
        differences = self.comparison.differences
        yield (
            f"{self.endpoint}: the candidate's answer differs from the monolith's "
            f"in {len(differences)} place(s) (exchange {self.exchange_id})"
        )
        for difference, likely in zip(differences[:_LISTED], self.hints, strict=False):
            yield f"  {difference.path}  [{difference.kind.value}]"
            yield f"      expected: {elide(difference.expected)}"
            yield f"      actual:   {elide(difference.actual)}"
            if likely is not None:
                yield f"      ({likely})"
        if len(differences) > _LISTED:
            yield f"  ... and {len(differences) - _LISTED} more difference(s)"
        ignored = self.comparison.ignored
        noise = sum(1 for _, rule in ignored if rule.startswith("noise: "))
        if noise:
            yield f"  ({noise} difference(s) absorbed as learned noise)"
        if len(ignored) > noise:
            yield f"  ({len(ignored) - noise} difference(s) ignored by normalisation rules)"
        if self.origin is not None:
            candidate, recorded, places = self.origin
            yield (
                f"  (the candidate's address {candidate.url} was read as the recorded "
                f"{recorded.url} in {places} place(s); --replay-keep-origin compares it as it is)"
            )
        yield from self.reproduce_lines()

    def reproduce_lines(self) -> Iterator[str]:
        if self.reproduce:
            yield "reproduce:"
            yield from (f"  {command}" for command in self.reproduce)


class Judge:
    """Judges replayed exchanges with a run's rules, noise, sanitiser and target."""

    def __init__(self, run: ReplayRun) -> None:
        self.run = run

    def __call__(
        self,
        exchange: Exchange,
        endpoint: str,
        unsafe: str | None,
        answer: Reply,
        sent: Request | None,
        position: int = 0,
    ) -> Judgement:
        """The judgement of `exchange` (of `endpoint`, whose request is not shown safe
        for the reason `unsafe`, at `position` in the store), answered `answer` to the
        request `sent`."""
        run = self.run
        judged = Judgement(endpoint, exchange.id, Outcome.ERROR, unsafe, position=position)
        hermetic = run.hermetic
        outbound = hermetic.finish(exchange.id) if hermetic is not None else []
        if answer.response is None:
            judged.error = answer.error
            judged.calls = [d.path for d in outbound if d.kind is DiffKind.ADDED]
            judged.reproduce = list(self._commands(exchange.id, sent))
            return judged
        assert exchange.response is not None  # planned without a skip: it was answered
        # Both sides' answer times, the monolith's as the recorder saw them (ms).
        judged.latency = (answer_ms(exchange), round(answer.elapsed * 1000, 3))
        rules = run.rules.for_endpoint(endpoint)
        actual = answer.response
        candidate = run.candidate_origin
        if candidate is not None:
            recorded = Origin.of_request(exchange.request)
            actual, places = as_recorded(actual, candidate, recorded)
            if places:
                judged.origin = (candidate, recorded, places)
        graphql = is_graphql(endpoint)
        comparison = compare(exchange.response, actual, rules, graphql=graphql)
        compared = exchange.response, actual
        if not comparison.matched and "sanitised" in exchange.meta:
            comparison, compared = self._compared_sanitised(
                exchange, actual, rules, comparison, graphql
            )
        # Values redacted alike on both sides were equal without being compared: counted.
        judged.blind = blind_values(*compared)
        comparison, judged.noise = run.noise.absorb(endpoint, comparison)
        if outbound:  # the candidate's own calls: never noise, never a rule's to hide
            comparison = Comparison((*comparison.differences, *outbound), comparison.ignored)
        judged.paths = [difference.path for difference in comparison.differences]
        judged.ignored = [rule for _, rule in comparison.ignored if not rule.startswith("noise: ")]
        if comparison.matched:
            judged.outcome = Outcome.MATCHED
            return judged
        judged.outcome = Outcome.MISMATCHED
        judged.comparison = comparison
        lacking = self._lacking(exchange, sent)
        judged.hints = [self._hint(d, endpoint, lacking) for d in comparison.differences]
        record = comparison.to_record()
        for shown, likely in zip(record["differences"], judged.hints, strict=True):
            if likely is not None:
                shown["hint"] = likely
        judged.record = record
        # The report shows one example of each kind of mismatch, bodies included.
        if run.keep_bodies(endpoint, signature(record["differences"])):
            judged.bodies = {
                "expected": shown_body(exchange.response.body.content),
                "actual": shown_body(actual.body.content),
            }
        judged.reproduce = list(self._commands(exchange.id, sent))
        return judged

    def _compared_sanitised(
        self, exchange: Exchange, actual: Response, rules: Rules, raw: Comparison, graphql: bool
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
        again = compare(expected, answered, rules, graphql=graphql)
        if len(again.differences) >= len(raw.differences):
            return raw, (recorded, actual)
        remaining = {difference.path for difference in again.differences}
        explained = tuple(
            (difference, rule) for difference in raw.differences if difference.path not in remaining
        )
        return dataclasses.replace(again, ignored=again.ignored + explained), (expected, answered)

    def _lacking(self, exchange: Exchange, sent: Request | None) -> list[str]:
        """The credential headers the recorder removed that the request went out without."""
        headers = sent.headers if sent is not None else exchange.request.headers
        given = {name.lower() for name, _ in self.run.extra_headers}
        return [
            name
            for name in removed_credentials(exchange)
            if name not in given and name not in headers
        ]

    def _hint(self, difference: Difference, endpoint: str, lacking: list[str]) -> str | None:
        """What likely explains a difference: noise by its shape, or a credential the
        recording lost when the candidate refused the request."""
        refused = difference.path == "status" and difference.actual in (401, 403)
        if refused and lacking and difference.expected not in (401, 403):
            names = " and ".join(lacking)
            return (
                f"the recorder removed this request's {names}, so it was replayed without; "
                "give the replay a test credential with [[tool.parity.replay.credentials]] "
                f"endpoints = {endpoint!r}, header = {lacking[0]!r}, env = "
                "a variable that holds it (docs/REPLAYING.md, 'Credentials')"
            )
        return hint(difference)

    def _commands(self, exchange_id: str, request: Request | None) -> Iterator[str]:
        """How to send this request again, and to show the recording (when it was sent)."""
        if request is None:
            return
        run = self.run
        method, target, headers, body = outgoing(request, run.extra_headers)
        credentials = run.settings.credentials
        headers = credentials.shown(headers)  # a credential by its variable, never its value
        if run.target_url is not None:
            yield curl_command(
                run.target_url, method, target, headers, body, credentials.variables()
            )
        else:
            yield f"{method} {target} against {run.settings.target} (in-process)"
        yield f"parity show {run.settings.store} {exchange_id}"

"""Noise: the differences a service shows against itself, learned and subtracted.

A response differs from the recorded one for two reasons: the candidate
answers differently (a regression), or the value never repeats (a request
id, a timestamp, a cache age). Parity tells them apart the way Diffy does,
by watching a service disagree with itself, from three sources:

- **recorded**: the monolith answered the same request more than once in the
  store (everything that can select content equal: method, path, query, body
  and every header but a short list of transport and tracing headers, see
  `fingerprint`); `RecordedNoise` pairs each answer with the previous one;
- **candidate**: the candidate answered extra sends of a request
  (``--replay-noise-runs``);
- **reference**: a running monolith answered extra sends of a request
  (``--replay-reference``), as Diffy's primary and secondary do.

`NoiseModel` counts, per endpoint and per path (list indices generalised to
``[*]``), in how many of those pairs the value varied. A difference between
the candidate and the recording is *absorbed* as noise when its path varied
at least ``min_count`` times, and only if it is a changed value: a status,
an added or removed field, a type change or a whole non-JSON body is never
absorbed unless ``[noise] absorb`` says so. Variation seen only on the
candidate does not count where the monolith's own repeats never varied.

At the end of a run `explains` checks, per path, that the noise is real at
the rate the candidate differed (Diffy's relative and absolute thresholds):
a path where the monolith varied in 5 % of its repeats does not explain a
candidate that differs every time, and those exchanges count as mismatches.
`volatile_shape` names values that look volatile (timestamps, UUIDs, ETags,
request ids) so reports can mark a remaining difference "likely noise";
nothing is ever ignored for its shape alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import orjson

from parity.compare.engine import Comparison, Difference, DiffKind, Rules, compare, is_graphql
from parity.errors import UsageError
from parity.sanitize.engine import removed_credentials
from parity.tables import check_keys
from parity.traffic.exchange import Exchange, Response
from parity.traffic.paths import child

__all__ = [
    "Evidence",
    "NoiseModel",
    "NoiseSettings",
    "RecordedNoise",
    "Source",
    "explains",
    "fingerprint",
    "generalised",
    "hint",
    "suggestions",
    "volatile_shape",
]


class Source(StrEnum):
    """Where two answers to one request were seen to disagree."""

    RECORDED = "recorded"
    CANDIDATE = "candidate"
    REFERENCE = "reference"

    @property
    def pairs_name(self) -> str:
        return _PAIRS[self]


_PAIRS: Final = {
    Source.RECORDED: "recorded repeats of the same request",
    Source.CANDIDATE: "extra runs on the candidate",
    Source.REFERENCE: "extra runs on the reference",
}
#: What can be absorbed besides changed values, when ``[noise] absorb`` lists it.
ABSORBABLE: Final = ("added", "removed", "type_changed", "status", "body")
_SETTINGS: Final = (
    "learn",
    "min_count",
    "relative_threshold",
    "absolute_threshold",
    "absorb",
    "window",
    "max_pairs",
)


@dataclass(frozen=True, slots=True)
class NoiseSettings:
    """``[tool.parity.noise]``: how noise is learned and when it absorbs a difference."""

    #: Learn from requests the store holds more than once.
    learn: bool = True
    #: Pairs that must have varied at a path before it counts as noisy.
    min_count: int = 2
    #: The noise explains the candidate's differences at a path when the candidate's rate
    #: exceeds the noise rate by at most this much, relatively: (raw - noise) / (raw + noise).
    relative_threshold: float = 0.5
    #: ... or by at most this much absolutely (a share of the endpoint's exchanges).
    absolute_threshold: float = 0.05
    #: Kinds of difference noise may absorb besides changed values (see `ABSORBABLE`).
    absorb: tuple[str, ...] = ()
    #: Recorded answers kept to pair with a later repeat of the same request.
    window: int = 4096
    #: Pairs compared per endpoint and source; past this many the rates are settled and
    #: further pairs are not compared (learning's cost stays bounded on large stores).
    max_pairs: int = 500

    @classmethod
    def from_config(cls, table: Mapping[str, Any], where: str = "[noise]") -> NoiseSettings:
        """Settings from a TOML table; a bad key or value is a `UsageError` naming it."""
        check_keys(table, _SETTINGS, where)
        values = dict(table)
        if not isinstance(values.get("learn", True), bool):
            raise UsageError(f"{where} learn must be true or false, not {values['learn']!r}")
        for name in ("min_count", "window", "max_pairs"):
            value = values.get(name, 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(
                    f"{where} {name} must be a whole number of at least 1, not {value!r}"
                )
        for name in ("relative_threshold", "absolute_threshold"):
            value = values.get(name, 0.0)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise UsageError(f"{where} {name} must be a number from 0 to 1, not {value!r}")
            if name in values:
                values[name] = float(value)
        absorb = values.get("absorb", [])
        if not isinstance(absorb, list) or any(kind not in ABSORBABLE for kind in absorb):
            raise UsageError(
                f"{where} absorb must be a list of {', '.join(ABSORBABLE)}, not {absorb!r}"
            )
        values["absorb"] = tuple(absorb)
        return cls(**values)


_INDEX_OR_QUOTED: Final = re.compile(r"\['(?:[^'\\]|\\.)*'\]|\[(\d+)\]")


def generalised(path: str) -> str:
    """`path` with list indices as ``[*]``: ``$.items[3].id`` is ``$.items[*].id``.

    The result is a pattern `parity.compare.Rules` accepts, so a learned path
    can be pasted into ``ignore_paths`` as it is.
    """
    if "[" not in path:
        return path
    return _INDEX_OR_QUOTED.sub(lambda m: "[*]" if m.group(1) is not None else m.group(0), path)


@dataclass(frozen=True, slots=True)
class Evidence:
    """That a path of an endpoint is noisy: it varied in `varied` of `pairs` pairs."""

    path: str
    source: Source
    varied: int
    pairs: int
    examples: tuple[tuple[Any, Any], ...] = ()
    #: When the endpoint was never repeated: on how many other endpoints the path varied.
    elsewhere: int = 0

    @property
    def rate(self) -> float:
        return self.varied / self.pairs if self.pairs else 0.0

    def describe(self) -> str:
        where = f" on {self.elsewhere} endpoints" if self.elsewhere else ""
        return f"varied in {self.varied} of {self.pairs} {self.source.pairs_name}{where}"

    def to_record(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source.value,
            "varied": self.varied,
            "pairs": self.pairs,
            "elsewhere": self.elsewhere,
            "examples": [list(example) for example in self.examples],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Evidence:
        examples = tuple((before, after) for before, after in record.get("examples", []))
        return cls(
            record["path"],
            Source(record["source"]),
            record["varied"],
            record["pairs"],
            examples,
            record.get("elsewhere", 0),
        )


#: Example value pairs kept per path and source.
_EXAMPLES: Final = 3


@dataclass(slots=True)
class _Varied:
    count: int = 0
    kinds: set[str] = field(default_factory=set)
    examples: list[tuple[Any, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _Endpoint:
    pairs: Counter[Source] = field(default_factory=Counter)
    paths: dict[tuple[str, Source], _Varied] = field(default_factory=dict)
    #: The (generalised) paths of the JSON answers compared: where a path never varied
    #: it was there and stable, not absent.
    present: set[str] = field(default_factory=set)
    #: The paths that varied, from any source.
    varied: set[str] = field(default_factory=set)


class NoiseModel:
    """What varied between answers to the same request, per endpoint and path."""

    def __init__(self, settings: NoiseSettings | None = None) -> None:
        self.settings = settings or NoiseSettings()
        self._endpoints: dict[str, _Endpoint] = {}
        #: `shared` per path, worked out once learning is over (observing clears it).
        self._shared: dict[str, Evidence | None] = {}

    def __bool__(self) -> bool:
        return bool(self._endpoints)

    def pairs(self, endpoint: str, source: Source) -> int:
        known = self._endpoints.get(endpoint)
        return known.pairs[source] if known else 0

    def observe(
        self, source: Source, endpoint: str, first: Response, second: Response, rules: Rules
    ) -> None:
        """Learn from two answers to one request: where, under `rules`, they disagree."""
        learned = self._endpoints.setdefault(endpoint, _Endpoint())
        if learned.pairs[source] >= self.settings.max_pairs:
            return
        learned.pairs[source] += 1
        self._shared.clear()
        _add_paths(first, learned.present)
        seen: set[str] = set()
        for difference in compare(first, second, rules, graphql=is_graphql(endpoint)).differences:
            path = generalised(difference.path)
            varied = learned.paths.setdefault((path, source), _Varied())
            varied.kinds.add(difference.kind.value)
            if path in seen:  # one pair counts once per path, however many items varied
                continue
            seen.add(path)
            learned.varied.add(path)
            varied.count += 1
            if len(varied.examples) < _EXAMPLES:
                varied.examples.append((difference.expected, difference.actual))

    def evidence(self, endpoint: str, path: str) -> Evidence | None:
        """The evidence that `path` (generalised) is noisy at `endpoint`, or None.

        The monolith's own variation (recorded or reference) counts first. The
        candidate's counts only where the monolith, repeated often enough, never
        varied at that path: there the variation is the candidate's own doing.
        """
        learned = self._endpoints.get(endpoint)
        if learned is not None:
            own = self._own(learned, path)
            if own is not None:
                return own
            if self._stable(learned, path):
                return None
        return self.shared(path)

    def _stable(self, learned: _Endpoint, path: str) -> bool:
        """Whether `path` was in answers repeated often enough and never varied."""
        return (
            path in learned.present
            and sum(learned.pairs.values()) >= self.settings.min_count
            and path not in learned.varied
        )

    def _own(self, learned: _Endpoint, path: str) -> Evidence | None:
        least = self.settings.min_count
        found = [
            self._evidence(learned, path, source)
            for source in (Source.RECORDED, Source.REFERENCE)
            if learned.paths.get((path, source), _NOTHING).count >= least
        ]
        if found:
            return max(found, key=lambda evidence: evidence.rate)
        if learned.paths.get((path, Source.CANDIDATE), _NOTHING).count < least:
            return None
        for source in (Source.RECORDED, Source.REFERENCE):
            if learned.pairs[source] >= least and (path, source) not in learned.paths:
                return None
        return self._evidence(learned, path, Source.CANDIDATE)

    def shared(self, path: str) -> Evidence | None:
        """Evidence for an endpoint never repeated: `path` is noisy on at least two endpoints
        that were, and stable on none (an envelope's request id or time, say).

        Only a difference whose values look volatile alike, as the examples do,
        is absorbed on such evidence (see `absorb`).
        """
        if path not in self._shared:
            self._shared[path] = self._shared_now(path)
        return self._shared[path]

    def _shared_now(self, path: str) -> Evidence | None:
        noisy: list[Evidence] = []
        for learned in self._endpoints.values():
            if not sum(learned.pairs.values()) or path not in learned.present:
                continue
            evidence = self._own(learned, path)
            if evidence is not None:
                noisy.append(evidence)
            elif self._stable(learned, path):
                return None  # there, repeated, and stable: not a path that varies everywhere
        if len(noisy) < 2:
            return None
        varied, pairs = sum(e.varied for e in noisy), sum(e.pairs for e in noisy)
        return Evidence(path, noisy[0].source, varied, pairs, noisy[0].examples, len(noisy))

    def _evidence(self, learned: _Endpoint, path: str, source: Source) -> Evidence:
        varied = learned.paths[(path, source)]
        return Evidence(path, source, varied.count, learned.pairs[source], tuple(varied.examples))

    def absorbable(self, difference: Difference) -> bool:
        """Whether noise may absorb this kind of difference (see the module's notes)."""
        allowed = self.settings.absorb
        if difference.path == "status" or difference.path == "body":
            return difference.path in allowed
        return difference.kind is DiffKind.CHANGED or difference.kind.value in allowed

    def absorb(
        self, endpoint: str, comparison: Comparison
    ) -> tuple[Comparison, tuple[Evidence, ...]]:
        """`comparison` with the differences noise explains moved to its ignored ones,
        each with the evidence as its rule; and the evidence used."""
        if comparison.matched or not self._endpoints:
            return comparison, ()
        kept: list[Difference] = []
        absorbed = list(comparison.ignored)
        used: dict[str, Evidence] = {}
        for difference in comparison.differences:
            evidence = None
            if self.absorbable(difference):
                evidence = self.evidence(endpoint, generalised(difference.path))
            if evidence is not None and evidence.elsewhere and not _alike(difference, evidence):
                evidence = None
            if evidence is None:
                kept.append(difference)
            else:
                used[evidence.path] = evidence
                absorbed.append((difference, f"noise: {evidence.path} {evidence.describe()}"))
        if not used:
            return comparison, ()
        return Comparison(tuple(kept), tuple(absorbed)), tuple(used.values())

    def noisy(self) -> Iterable[tuple[str, Evidence, set[str]]]:
        """Every (endpoint, evidence, kinds seen) whose path is noisy, by endpoint and path."""
        for endpoint in sorted(self._endpoints):
            learned = self._endpoints[endpoint]
            for path in sorted({path for path, _ in learned.paths}):
                evidence = self.evidence(endpoint, path)
                if evidence is not None:
                    kinds = learned.paths[(path, evidence.source)].kinds
                    yield endpoint, evidence, kinds

    def everywhere(self) -> list[tuple[Evidence, set[str]]]:
        """The paths `shared` evidence covers whose examples look volatile, with their kinds."""
        paths = sorted({path for learned in self._endpoints.values() for path, _ in learned.paths})
        found = []
        for path in paths:
            evidence = self.shared(path)
            if evidence is None or not any(volatile_shape(b) for b, _ in evidence.examples):
                continue
            kinds = {
                kind
                for learned in self._endpoints.values()
                for (named, _), varied in learned.paths.items()
                if named == path
                for kind in varied.kinds
            }
            found.append((evidence, kinds))
        return found

    def repeated(self) -> int:
        """How many endpoints have pairs of answers to learn from."""
        return sum(1 for learned in self._endpoints.values() if sum(learned.pairs.values()))

    def total_pairs(self) -> Counter[Source]:
        total: Counter[Source] = Counter()
        for learned in self._endpoints.values():
            total.update(learned.pairs)
        return total


_NOTHING: Final = _Varied()


def _alike(difference: Difference, evidence: Evidence) -> bool:
    """Whether both values of `difference` look volatile, as the evidence's examples do."""
    shape = volatile_shape(difference.expected)
    if shape is None or volatile_shape(difference.actual) != shape:
        return False
    return any(volatile_shape(before) == shape for before, _ in evidence.examples)


#: Paths kept per endpoint to tell "stable" from "absent": objects keyed by ids could
#: otherwise grow the set without end; past this, no new path is noted (see `_stable`).
_PRESENT_KEPT: Final = 10_000


def _add_paths(response: Response, paths: set[str]) -> None:
    """Add the generalised path of every value in a JSON answer to `paths`."""
    content = response.body.content
    if not content or content[:1] not in (b"{", b"[") or response.body.truncated:
        return
    if len(paths) >= _PRESENT_KEPT:
        return
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError:
        return
    stack: list[tuple[str, Any]] = [("$", document)]
    while stack:
        path, value = stack.pop()
        if path in paths and not isinstance(value, dict | list):
            continue
        paths.add(path)
        if isinstance(value, dict):
            stack.extend((child(path, key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[*]", item) for item in value)


def explains(evidence: Evidence, differed: int, compared: int, settings: NoiseSettings) -> bool:
    """Whether noise at the rate of `evidence` explains a candidate that differed at the
    path in `differed` of `compared` exchanges (Diffy's relative and absolute thresholds)."""
    if not compared:
        return True
    raw, noise = differed / compared, evidence.rate
    if raw <= noise:
        return True
    gap = raw - noise
    return gap <= settings.absolute_threshold or gap / (raw + noise) <= settings.relative_threshold


# -- learning from the store -----------------------------------------------------------------

#: Request headers that say who is asking: requests differing in them are different requests.
_CALLER_HEADERS: Final = frozenset(
    {"authorization", "cookie", "x-api-key", "api-key", "x-auth-token", "x-access-token"}
)
#: Request headers that cannot select what an answer holds: how the message travelled
#: (framing, connection, compression, which the recorder undoes) and tracing ids that
#: differ on every request. Every other header is part of a request's identity.
TRANSPORT_HEADERS: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "transfer-encoding",
        "content-length",
        "accept-encoding",
        "date",
        "x-request-id",
        "request-id",
        "x-correlation-id",
        "correlation-id",
        "traceparent",
        "tracestate",
        "baggage",
        "b3",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-parentspanid",
        "x-b3-sampled",
        "x-b3-flags",
        "uber-trace-id",
        "x-amzn-trace-id",
        "x-cloud-trace-context",
        "x-datadog-trace-id",
        "x-datadog-parent-id",
        "x-datadog-sampling-priority",
        "sentry-trace",
    }
)
#: What the sanitiser writes for a value it removed (``[redacted:email]``, or in a URL or a
#: header ``redacted-email``): two requests holding it may have held different values.
_REDACTED: Final = "redacted"


def fingerprint(exchange: Exchange) -> bytes | None:
    """What makes two recorded requests the same request, or None when it cannot be known.

    Everything that can select what the answer holds: method, path, query (in
    any order), body (JSON compared as data) and every header but
    `TRANSPORT_HEADERS` (names in any case, in any order). Two requests that
    differ in one header (``X-Tenant``, ``Accept-Language``, a feature flag)
    are different requests, and what differs between their answers is not
    noise. A sanitised request that holds a redacted value (an email in the
    path without a key, a token in the query) cannot be told from another
    user's, so it is not learned from, nor is one whose credentials were
    removed without a key; with a key, removed credentials leave a keyed tag
    of the caller, and pseudonyms differ as the values did. (A request that
    holds the word "redacted" of its own is left out too: failing closed.)
    """
    request = exchange.request
    digest = hashlib.blake2b(digest_size=16)
    parts = [request.method, request.path, *sorted(f"{k}={v}" for k, v in request.query)]
    headers = sorted(
        f"{name.lower()}:{value}"
        for name, value in request.headers
        if name.lower() not in TRANSPORT_HEADERS
    )
    if any(_REDACTED in part for part in (*parts, *headers)):
        return None
    for part in (*parts, "\0headers", *headers):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    content = request.body.content
    if content[:1] in (b"{", b"["):
        with contextlib.suppress(orjson.JSONDecodeError, orjson.JSONEncodeError):
            content = orjson.dumps(orjson.loads(content), option=orjson.OPT_SORT_KEYS)
    if _REDACTED.encode() in content:
        return None
    digest.update(b"\0body" + content)
    sanitised = exchange.meta.get("sanitised")
    if isinstance(sanitised, Mapping):
        tag = sanitised.get("credential")
        if isinstance(tag, str):
            digest.update(b"\0caller:" + tag.encode())
        elif removed_credentials(exchange):
            return None
    return digest.digest()


class RecordedNoise:
    """Learns noise from the store: each answer to a request is paired with the previous
    answer to the same request, if it is still among the last `window` ones kept.

    Feed it every exchange of a pass over the store with `add`; `learnable`
    says which may be repeated without changing state (only those are
    learned from: a second POST is answered differently for a reason).
    """

    def __init__(
        self,
        model: NoiseModel,
        rules_for: Callable[[str], Rules],
        learnable: Callable[[Exchange, str], bool],
    ) -> None:
        self._model = model
        self._rules_for = rules_for
        self._learnable = learnable
        self._window = model.settings.window
        self._last: OrderedDict[bytes, Response] = OrderedDict()
        #: How many exchanges were looked at and how many were a repeat.
        self.seen = 0
        self.repeats = 0

    def add(self, exchange: Exchange, endpoint: str) -> None:
        response = exchange.response
        if response is None or not self._learnable(exchange, endpoint):
            return
        self.seen += 1
        key = fingerprint(exchange)
        if key is None:
            return
        previous = self._last.pop(key, None)
        if previous is not None:
            self.repeats += 1
            self._model.observe(
                Source.RECORDED, endpoint, previous, response, self._rules_for(endpoint)
            )
        self._last[key] = response
        if len(self._last) > self._window:
            self._last.popitem(last=False)


# -- shapes that look volatile ---------------------------------------------------------------

_SHAPES: Final = (
    (
        "a timestamp",
        re.compile(
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
            r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT"
        ),
    ),
    ("a UUID", re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")),
    ("an ETag", re.compile(r'(?:W/)?"[^"]+"')),
    (
        "a request id",
        re.compile(r"(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}"),
    ),
)
#: Epoch times from 2001 to 2033, in seconds or milliseconds.
_EPOCH: Final = ((10**9, 2 * 10**9), (10**12, 2 * 10**12))


def _epoch(value: float) -> bool:
    return any(low <= value < high for low, high in _EPOCH)


def volatile_shape(value: Any) -> str | None:
    """What `value` looks like if it looks volatile (a timestamp, a UUID...), else None."""
    if isinstance(value, str):
        for name, shape in _SHAPES:
            if shape.fullmatch(value):
                return name
    elif isinstance(value, int | float) and not isinstance(value, bool) and _epoch(value):
        return "a timestamp"
    return None


def hint(difference: Difference) -> str | None:
    """ "likely noise: ..." when both values of a changed difference look volatile alike."""
    if difference.kind is not DiffKind.CHANGED:
        return None
    shape = volatile_shape(difference.expected)
    if shape is None or volatile_shape(difference.actual) != shape:
        return None
    return f"likely noise: both values look like {shape}; confirm with --replay-noise-runs"


# -- suggestions -------------------------------------------------------------------------------


def suggestions(model: NoiseModel, described: str) -> str:
    """Normalisation rules (TOML for ``[tool.parity]``) for what `model` learned, with the
    evidence for each as comments. `described` says where the pairs came from.

    A path that varied on several endpoints, was stable on none and holds
    volatile-looking values (a request id, a time) gets one rule for every
    endpoint; the rest get rules for their own endpoint.
    """
    by_endpoint: dict[str, list[tuple[Evidence, set[str]]]] = {}
    for endpoint, evidence, kinds in model.noisy():
        by_endpoint.setdefault(endpoint, []).append((evidence, kinds))
    totals = model.total_pairs()
    counted = ", ".join(f"{n} {source.pairs_name}" for source, n in sorted(totals.items()) if n)
    lines = [f"# Learned from {described}: {counted or 'no pairs of answers'}."]
    if not by_endpoint:
        lines.append("# Nothing varied between answers to the same request: no rules to suggest.")
        return "\n".join(lines) + "\n"
    lines.append("# Review each rule: a path listed here is never compared again.")
    everywhere = model.everywhere()
    if everywhere:
        lines += [
            "",
            "[tool.parity.compare]",
            "# Noisy wherever these paths were seen repeated, with volatile values:",
        ]
        lines += _rules(everywhere)
    shared = {evidence.path for evidence, _ in everywhere}
    for endpoint, found in by_endpoint.items():
        own = [(evidence, kinds) for evidence, kinds in found if evidence.path not in shared]
        if own:
            lines += ["", f"[tool.parity.compare.endpoints.{_toml_string(endpoint)}]"]
            lines += _rules(own)
    return "\n".join(lines) + "\n"


def _rules(found: list[tuple[Evidence, set[str]]]) -> list[str]:
    lines, paths = [], []
    for evidence, kinds in found:
        example = ""
        if evidence.examples:
            before, after = evidence.examples[0]
            example = f", e.g. {_shown(before)} -> {_shown(after)}"
        lines.append(f"# {evidence.path}: {evidence.describe()}{example}")
        if kinds - {"changed"}:
            lines.append(f"#   not suggested: it was also {', '.join(sorted(kinds - {'changed'}))}")
        else:
            paths.append(evidence.path)
    if paths:
        lines.append("ignore_paths = [" + ", ".join(_toml_string(p) for p in paths) + "]")
    return lines


def _shown(value: Any) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 60 else text[:28] + "..." + text[-28:]


def _toml_string(text: str) -> str:
    return orjson.dumps(text).decode()

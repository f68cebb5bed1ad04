"""What noise is made of: where a value was seen to vary (`Source`), the evidence for
one path (`Evidence`), the ``[noise]`` settings, and Diffy's test of whether noise
explains how often the candidate differed (`explains`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from parity.errors import UsageError
from parity.tables import check_keys

__all__ = [
    "ABSORBABLE",
    "EXAMPLES_KEPT",
    "Evidence",
    "NoiseSettings",
    "Source",
    "explains",
    "generalised",
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
EXAMPLES_KEPT: Final = 3


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

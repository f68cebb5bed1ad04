"""Comparison: is the candidate's answer the monolith's?

`engine` lifts both answers by media type, normalises them under the rules, tests
equality fast and gives what still differs to deepdiff, as typed differences by
path; `noise` learns what differs between answers to the same request and
subtracts it.
"""

from __future__ import annotations

from parity.compare.engine import (
    Comparison,
    Difference,
    DiffKind,
    Rules,
    RuleSet,
    blind_values,
    compare,
    is_graphql,
    profile,
)
from parity.compare.noise import (
    Evidence,
    NoiseModel,
    NoiseSettings,
    RecordedNoise,
    Source,
    explains,
    fingerprint,
    generalised,
    hint,
    suggestions,
    volatile_shape,
)

__all__ = [
    "Comparison",
    "DiffKind",
    "Difference",
    "Evidence",
    "NoiseModel",
    "NoiseSettings",
    "RecordedNoise",
    "RuleSet",
    "Rules",
    "Source",
    "blind_values",
    "compare",
    "explains",
    "fingerprint",
    "generalised",
    "hint",
    "is_graphql",
    "profile",
    "suggestions",
    "volatile_shape",
]

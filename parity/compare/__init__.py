"""Comparison: is the candidate's answer the monolith's?

`engine` lifts both answers by media type, normalises them under the `rules`,
tests equality fast and gives what still differs to deepdiff (`deep`), as typed
`differences` by path; GraphQL answers are read as clients read them
(`graphql`). Noise, what differs between answers to the same request, is
learned (`noise`, from the store's own repeats: `repeats`) and subtracted on
its `evidence`; `shapes` and `suggest` tell people what looks volatile and
what the noise learned would be as rules.
"""

from __future__ import annotations

from parity.compare.deep import (
    deep_differences,
    parse_exact,
    same_by_value,
)
from parity.compare.differences import (
    Comparison,
    Difference,
    DiffKind,
)
from parity.compare.engine import (
    blind_values,
    compare,
)
from parity.compare.evidence import (
    ABSORBABLE,
    EXAMPLES_KEPT,
    Evidence,
    NoiseSettings,
    Source,
    explains,
    generalised,
)
from parity.compare.graphql import (
    ERRORS_RULE,
    STATUS_RULE,
    as_clients_read,
    invalid_document,
    is_graphql,
    profile,
)
from parity.compare.noise import (
    NoiseModel,
)
from parity.compare.repeats import (
    TRANSPORT_HEADERS,
    RecordedNoise,
    fingerprint,
)
from parity.compare.rules import (
    Rules,
    RuleSet,
)
from parity.compare.shapes import (
    volatile_shape,
)
from parity.compare.suggest import (
    hint,
    suggestions,
)

__all__ = [
    "ABSORBABLE",
    "ERRORS_RULE",
    "EXAMPLES_KEPT",
    "STATUS_RULE",
    "TRANSPORT_HEADERS",
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
    "as_clients_read",
    "blind_values",
    "compare",
    "deep_differences",
    "explains",
    "fingerprint",
    "generalised",
    "hint",
    "invalid_document",
    "is_graphql",
    "parse_exact",
    "profile",
    "same_by_value",
    "suggestions",
    "volatile_shape",
]

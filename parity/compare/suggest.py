"""What noise tells a person: differences that look volatile ("likely noise", never
ignored for their look alone), and the noise learned written as comparison rules to
review (``parity noise suggest``)."""

from __future__ import annotations

from typing import Any

import orjson

from parity.compare.differences import Difference, DiffKind
from parity.compare.evidence import Evidence
from parity.compare.noise import NoiseModel
from parity.compare.shapes import volatile_shape

__all__ = ["hint", "suggestions"]


def hint(difference: Difference) -> str | None:
    """ "likely noise: ..." when both values of a changed difference look volatile alike."""
    if difference.kind is not DiffKind.CHANGED:
        return None
    shape = volatile_shape(difference.expected)
    if shape is None or volatile_shape(difference.actual) != shape:
        return None
    return f"likely noise: both values look like {shape}; confirm with --replay-noise-runs"


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

"""``parity report merge``: the reports of a run's shards added up into the reports one
run over the same selection would have written.

Each shard's ``--replay-report`` directory holds its state (`replayer.state`)
beside its certification.json. The merge checks that the shards are the parts
of one run, each once, adds their tallies up, and writes certification.json
and report.html from the sum with the same code a run uses, so every verdict,
count, rate and aggregate is the one a single run reaches. When every shard
wrote its JUnit XML into its report directory, one JUnit XML with all their
test cases is written too.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from parity import __version__
from parity.errors import UsageError
from replayer.report import certification, write_reports, written_utf8
from replayer.shard import Shard
from replayer.state import STATE_FILE, STATE_VERSION, RunState, combined

__all__ = ["Merged", "merge_reports"]

#: The merged JUnit XML's name in the output directory.
JUNIT_FILE: Final = "junit.xml"
#: What shards of one run must have alike, and how a refusal names each.
_ALIKE: Final = (
    ("parity_version", "the Parity version that ran them"),
    (
        "store_segments",
        "the store's contents (a different store, or one that changed between them)",
    ),
    (
        "selection",
        "the selection (--replay-endpoint, --replay-since/--replay-until, "
        "--replay-per-endpoint, --replay-seed)",
    ),
    (
        "settings",
        "the replay settings that decide verdicts (thresholds, safety, noise runs, "
        "hermetic, latency budget, --replay-shard-by)",
    ),
    ("config", "the project configuration's [compare], [thresholds], [noise] or graphql_paths"),
)


@dataclass(frozen=True)
class Merged:
    """What a merge wrote, and the summed state it wrote it from."""

    state: RunState
    document: dict[str, Any]
    written: list[Path]


def merge_reports(directories: Sequence[Path], out: Path) -> Merged:
    """Merge the shard report `directories` into `out`; a `UsageError` says, in one
    sentence, why shards cannot be merged."""
    if not directories:
        raise UsageError(
            "give the shards' report directories: parity report merge DIR... --out DIR"
        )
    states = [_read(directory) for directory in directories]
    _check_parts(directories, states)
    state = combined(states)
    junits = [state_.junit for state_ in states]
    if any(junits) and not all(junits):
        lacking = next(d for d, j in zip(directories, junits, strict=True) if not j)
        having = next(d for d, j in zip(directories, junits, strict=True) if j)
        raise UsageError(
            f"{having} has the shard's JUnit XML but {lacking} has none: give every shard "
            "--junitxml=DIR/junit.xml inside its --replay-report DIR, or none"
        )
    state.identity = states[0].identity
    document = certification(state)
    if all(junits):
        state.junit = JUNIT_FILE
    written = write_reports(out, document, state)
    if all(junits):
        files = [d / str(j) for d, j in zip(directories, junits, strict=True)]
        written.append(_merge_junit(files, out / JUNIT_FILE, state))
    return Merged(state, document, written)


def _read(directory: Path) -> RunState:
    path = directory / STATE_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{directory} has no {STATE_FILE}: give the --replay-report directory of a "
            f"pytest --replay run (Parity {__version__} writes it beside certification.json)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path} cannot be read ({exc}); run that shard again") from None
    if not isinstance(document, dict) or document.get("kind") != "parity replay state":
        raise UsageError(f"{path} is not a replay state Parity wrote; run that shard again")
    version = document.get("state_version")
    if version != STATE_VERSION:
        raise UsageError(
            f"{path} is replay state version {version!r}, and this Parity ({__version__}) "
            f"reads version {STATE_VERSION}: merge with the Parity version that ran the shards"
        )
    try:
        return RunState.from_json(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"{path} is damaged ({type(exc).__name__}: {exc}); run that shard again"
        ) from None


def _check_parts(directories: Sequence[Path], states: Sequence[RunState]) -> None:
    """That the states are the parts of one run, each once, and all of them."""
    first, there = states[0], directories[0]
    for directory, state in zip(directories[1:], states[1:], strict=True):
        for key, what in _ALIKE:
            if state.identity.get(key) != first.identity.get(key):
                raise UsageError(
                    f"{there} and {directory} are not shards of one run: they differ in {what}; "
                    "merge only the shards of one run"
                )
    shards = [state.shard or Shard(1, 1) for state in states]
    counts = sorted({shard.count for shard in shards})
    if len(counts) > 1:
        raise UsageError(
            "the shards were split into different numbers of parts "
            f"({', '.join(map(str, counts))}); "
            "merge only the shards of one run"
        )
    count = counts[0]
    seen: dict[int, Path] = {}
    for directory, shard in zip(directories, shards, strict=True):
        if shard.index in seen:
            raise UsageError(
                f"{seen[shard.index]} and {directory} are both shard {shard}: give each shard's "
                "report directory once"
            )
        seen[shard.index] = directory
    missing = [str(index) for index in range(1, count + 1) if index not in seen]
    if missing:
        raise UsageError(
            f"shard(s) {', '.join(missing)} of {count} are missing: give the report directories "
            f"of all {count} shards (a merge of some would certify on part of the traffic)"
        )


def _merge_junit(files: Sequence[Path], out: Path, state: RunState) -> Path:
    """One JUnit XML file with every test case of `files`, in their order, and the totals
    added up. Endpoint items (``--replay-granularity=endpoint``) are one case per endpoint,
    in every shard that met it: they become one, judged by the merged verdict."""
    merged = ET.Element("testsuites")
    suite: ET.Element | None = None
    elapsed = 0.0
    for path in files:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            raise UsageError(
                f"{path} is not JUnit XML that can be read ({exc}); run that shard again"
            ) from None
        parts = [root] if root.tag == "testsuite" else root.findall("testsuite")
        if root.tag not in ("testsuite", "testsuites") or not parts:
            raise UsageError(
                f"{path} is not JUnit XML (its root is <{root.tag}>); run that shard again"
            )
        for part in parts:
            if suite is None:
                merged.attrib.update({k: v for k, v in root.attrib.items() if root is not part})
                suite = ET.SubElement(merged, "testsuite", dict(part.attrib))
            elapsed += float(part.get("time", "0") or 0)
            suite.extend(part.findall("testcase"))
    assert suite is not None
    if state.granularity == "endpoint":
        _judge_endpoint_cases(suite, state)
    cases = suite.findall("testcase")
    totals = {
        "tests": len(cases),
        "failures": sum(1 for case in cases if case.find("failure") is not None),
        "errors": sum(1 for case in cases if case.find("error") is not None),
        "skipped": sum(1 for case in cases if case.find("skipped") is not None),
    }
    suite.attrib.update({name: str(value) for name, value in totals.items()})
    suite.set("time", f"{elapsed:.3f}")
    text = ET.tostring(merged, encoding="unicode", xml_declaration=False)
    out.write_bytes(b'<?xml version="1.0" encoding="utf-8"?>' + written_utf8(text))
    return out


def _judge_endpoint_cases(suite: ET.Element, state: RunState) -> None:
    """Make each endpoint's cases one, failing as the merged verdict fails it."""
    from replayer.endpoint_item import verdict_failure

    # pytest's JUnit writer names the case of node id replay/<endpoint> with "/" as ".".
    names = {f"replay/{endpoint}".replace("/", "."): endpoint for endpoint in state.tallies}
    kept: dict[str, ET.Element] = {}
    for case in list(suite.findall("testcase")):
        endpoint = names.get(case.get("name", "")) if not case.get("classname") else None
        if endpoint is None:
            continue
        first = kept.get(endpoint)
        if first is None:
            kept[endpoint] = case
            continue
        first.set("time", f"{float(first.get('time', 0)) + float(case.get('time', 0)):.3f}")
        suite.remove(case)
    for endpoint, case in kept.items():
        threshold, samples, _ = state.terms[endpoint]
        reached = state.verdict(endpoint)
        failure = verdict_failure(state.tallies[endpoint], reached, threshold, samples, state.noise)
        for child in list(case):
            if child.tag in ("failure", "error") or (
                child.tag == "skipped" and reached.value != "skipped"
            ):
                case.remove(child)
        if failure is not None:
            text = "\n".join(failure)
            ET.SubElement(case, "failure", {"message": failure[0]}).text = text
